"""Hugging Face GPT-2 import and llm.c conversion, checked against the PyTorch reference.

1. PyTorch (gpt2_reference.py) builds a RANDOM GPT-2 (L=3, NH=4, C=64, n_positions=32, V=50257) and
   writes it the way the official `gpt2` repository publishes weights: model.safetensors with
   GPT2Model names (no "transformer." prefix) plus the h.N.attn.bias / h.N.attn.masked_bias buffers,
   config.json with HF keys only (no padded_vocab_size), vocab.json + merges.txt (GPT-2's
   encoder.json + vocab.bpe under HF's names).
2. glassbox (hf_import_driver) loads that directory and writes logits for fixed tokens; they must
   match PyTorch's (float64) to f32 accuracy.
3. `glassbox convert` HF dir -> llm.c .bin -> glassbox dir, and HF dir -> glassbox dir directly:
   each must give bit-identical logits to step 2 (the same f32 weights), and the glassbox dirs must
   carry the GPT-2 tokenizer ("Hello world" -> 15496 995).

usage: hf_import_check.py --driver PATH --glassbox PATH --gpt2-dir data/cache/gpt2 --workdir DIR
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
from check_harness import Checks, run  # noqa: E402
from gpt2_reference import GPT2Reference  # noqa: E402

L, NH, C, T_MAX, V = 3, 4, 64, 32, 50257
TOKENS = [50256, 15496, 995, 11, 616, 1438, 318, 50000, 0, 13, 198, 464, 2068, 7586, 21831, 18045, 625]
TOLERANCE = 1e-5  # max |glassbox - torch| / max |torch| over the real-vocabulary logits, f32 vs f64


def random_model(seed):
    """Every parameter random (biases and layernorm gains too), so no term of the forward is trivial."""
    torch.manual_seed(seed)
    model = GPT2Reference(L, NH, C, T_MAX, V, dtype=torch.float64)
    with torch.no_grad():
        for name, p in model.named_hf_parameters():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, dtype=p.dtype))
            elif name.endswith(".bias"):
                p.copy_(0.02 * torch.randn(p.shape, dtype=p.dtype))
            else:
                p.copy_(0.05 * torch.randn(p.shape, dtype=p.dtype))
        model.p("transformer.wte.weight")[V:].zero_()
    return model


def write_hf_directory(model, directory, gpt2_dir):
    """The layout of huggingface.co/gpt2 (model.safetensors of GPT2Model, HF config, HF tokenizer)."""
    os.makedirs(directory, exist_ok=True)
    tensors = {}
    for name, t in model.hf_state_dict().items():
        tensors[name[len("transformer."):]] = t.to(torch.float32).numpy()
    mask = np.tril(np.ones((T_MAX, T_MAX), dtype=np.float32)).reshape(1, 1, T_MAX, T_MAX)
    for l in range(L):
        tensors[f"h.{l}.attn.bias"] = mask
        tensors[f"h.{l}.attn.masked_bias"] = np.array(-1e4, dtype=np.float32)
    safetensors_io.save(os.path.join(directory, "model.safetensors"), tensors, {"format": "pt"})
    config = {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
        "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": T_MAX, "n_embd": C, "n_head": NH,
        "n_layer": L, "n_positions": T_MAX, "resid_pdrop": 0.1, "vocab_size": V,
    }
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    shutil.copyfile(os.path.join(gpt2_dir, "encoder.json"), os.path.join(directory, "vocab.json"))
    shutil.copyfile(os.path.join(gpt2_dir, "vocab.bpe"), os.path.join(directory, "merges.txt"))


def glassbox_logits(driver, model_path, workdir, tag, encode=None):
    out = os.path.join(workdir, f"logits_{tag}.safetensors")
    cmd = [driver, "--model", model_path, "--tokens", ",".join(map(str, TOKENS)), "--out", out]
    if encode is not None:
        cmd += ["--encode", encode]
    stdout = run(cmd).stdout
    ids = None
    for line in stdout.splitlines():
        if line.startswith("ids:"):
            ids = [int(x) for x in line.split()[1:]]
    tensors, _ = safetensors_io.load(out)
    return tensors["logits"], ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--glassbox", required=True)
    ap.add_argument("--gpt2-dir", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    for f in ("encoder.json", "vocab.bpe"):
        if not os.path.isfile(os.path.join(args.gpt2_dir, f)):
            sys.exit(f"FAIL: {args.gpt2_dir}/{f} is missing: run `data/fetch.sh gpt2` "
                     "(GLASSBOX_DATA_MIRROR=/path/to/mirror data/fetch.sh gpt2 offline)")
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    torch.set_num_threads(1)

    model = random_model(seed=1234)
    hf_dir = os.path.join(args.workdir, "hf_gpt2")
    write_hf_directory(model, hf_dir, args.gpt2_dir)
    with torch.no_grad():
        ref, _ = model(torch.tensor([TOKENS]))
    ref = ref[0, :, :V].numpy()  # (T, V) float64

    check = Checks()

    # HF directory -> glassbox, against PyTorch.
    hf_logits, _ = glassbox_logits(args.driver, hf_dir, args.workdir, "hf")
    check("logits shape (T, Vp)", hf_logits.shape == (len(TOKENS), 50304), str(hf_logits.shape))
    err = np.abs(hf_logits[:, :V].astype(np.float64) - ref).max() / np.abs(ref).max()
    check(f"HF dir (no prefix, attn.bias buffers) vs PyTorch f64, rel err <= {TOLERANCE:g}", err <= TOLERANCE,
          f"{err:.2e} (max |logit| {np.abs(ref).max():.3f})")

    # HF dir -> llm.c .bin -> glassbox dir; and HF dir -> glassbox dir.
    bin_path = os.path.join(args.workdir, "gpt2_tiny.bin")
    run([args.glassbox, "convert", "--from", hf_dir, "--to", bin_path])
    with open(bin_path, "rb") as f:
        header = struct.unpack("<256i", f.read(1024))
    check("llm.c header", header[:8] == (20240326, 3, T_MAX, V, L, NH, C, 50304), str(header[:8]))
    n_params = (50304 + T_MAX) * C + L * (12 * C * C + 13 * C) + 2 * C
    check("llm.c file size", os.path.getsize(bin_path) == 1024 + 4 * n_params)
    from_bin_dir = os.path.join(args.workdir, "from_bin")
    run([args.glassbox, "convert", "--from", bin_path, "--to", from_bin_dir, "--gpt2-tokenizer", args.gpt2_dir])
    direct_dir = os.path.join(args.workdir, "from_hf")
    run([args.glassbox, "convert", "--from", hf_dir, "--to", direct_dir])

    for tag, path in (("llm.c .bin", bin_path), ("HF -> .bin -> glassbox dir", from_bin_dir),
                      ("HF -> glassbox dir", direct_dir)):
        is_dir = os.path.isdir(path)
        logits, ids = glassbox_logits(args.driver, path, args.workdir, tag.replace(" ", "_").replace(">", ""),
                                      encode="Hello world" if is_dir else None)
        check(f"{tag}: logits identical to the HF dir's", np.array_equal(logits, hf_logits),
              f"max diff {np.abs(logits - hf_logits).max():.2e}")
        if is_dir:
            check(f"{tag}: GPT-2 tokenizer saved (Hello world -> 15496 995)", ids == [15496, 995], str(ids))
            check(f"{tag}: glassbox_tokenizer.json, no tokenizer.json",
                  os.path.isfile(os.path.join(path, "glassbox_tokenizer.json"))
                  and not os.path.exists(os.path.join(path, "tokenizer.json")))

    # The glassbox export loads back into the PyTorch reference (HF names with the prefix).
    from gpt2_reference import load_checkpoint
    back = load_checkpoint(from_bin_dir, dtype=torch.float64)
    with torch.no_grad():
        again, _ = back(torch.tensor([TOKENS]))
    err = np.abs(again[0, :, :V].numpy() - ref).max() / np.abs(ref).max()
    check("converted dir loads into PyTorch with the same logits (f32 weights)", err <= TOLERANCE, f"{err:.2e}")

    check.finish()


if __name__ == "__main__":
    main()
