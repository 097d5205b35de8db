"""Hugging Face Llama directories (LlamaForCausalLM) in glassbox, against llama_reference.py.

PyTorch writes small RANDOM Llama models as the hub publishes them (config.json with HF's keys
only, model.safetensors under HF names, a byte-level BPE tokenizer.json), then:
1. `glassbox eval` on a token shard must give the loss the PyTorch reference gives (float64),
   relative error < 1e-5: grouped-query attention with a tied head, multi-query attention with an
   untied head (tie_word_embeddings absent: LlamaConfig's default, false), and rope_scaling of
   type llama3 (whose loss must differ from the same model without it, so the scaling is seen);
2. `glassbox sample` greedy continues a prompt with the tokens the reference picks;
3. `glassbox convert --from DIR --to DIR2` writes a LlamaForCausalLM directory again: the same
   tensor names, shapes and bytes, the same config keys and values;
4. each unsupported config field is refused in one line naming the field, and so is converting
   a Llama model to llm.c's GPT-2-only .bin file;
5. a directory as Llama 3 ships it: weights in 3 shards (model.safetensors.index.json) and a
   tokenizer.json with Llama 3's Split pattern, ignore_merges, 256 special tokens and a BOS
   post-processor: eval gives the reference's loss, sample continues "<|begin_of_text|> the" as
   the reference does, convert writes one model.safetensors and the tokenizer.json unchanged.

usage: hf_llama_check.py --glassbox PATH --workdir DIR
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
from check_harness import Checks, run, write_shard  # noqa: E402
from llama_reference import LlamaReference  # noqa: E402

TOLERANCE = 1e-5  # |glassbox f32 - torch f64| / |torch| on the loss
B, T = 2, 24

BASE = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
    "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
    "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "attention_bias": False,
    "attention_dropout": 0.0, "mlp_bias": False, "initializer_range": 0.02, "pretraining_tp": 1,
    "bos_token_id": 0, "eos_token_id": 0, "torch_dtype": "float32", "use_cache": True,
}
MODELS = {
    "gqa_tied": dict(BASE, num_key_value_heads=2, rope_theta=10000.0, tie_word_embeddings=True,
                     rope_scaling=None),
    "mqa_untied": dict(BASE, num_key_value_heads=1, rope_theta=500000.0),
    # head size 16: inverse frequencies 1, 0.32, 0.1, ... have wavelengths 6.3, 20, 63, 200, ...;
    # against the original context 64, pair 0 keeps its speed (< 64/4), pairs 1-2 are blended and
    # pairs 3-7 are slowed 8 times (> 64/1).
    "llama3_scaling": dict(BASE, num_key_value_heads=2, rope_theta=10000.0, tie_word_embeddings=True,
                           head_dim=16, rope_scaling={
                               "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                               "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
}


def bytes_to_unicode():
    """GPT-2's byte-level alphabet: each byte as a printable character (the visible bytes as
    themselves, the others shifted past 255)."""
    visible = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars, n = {}, 0
    for b in range(256):
        if b in visible:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + n)
            n += 1
    return chars


MERGES = [("t", "h"), ("h", "e"), ("Ġ", "t"), ("th", "e"), ("Ġ", "a"), ("i", "n"), ("e", "r"), ("a", "n")]


def tokenizer_json():
    """A small byte-level BPE tokenizer.json: the 256 byte symbols and 8 merges (264 tokens)."""
    alphabet = bytes_to_unicode()
    vocab = {alphabet[b]: b for b in range(256)}
    for left, right in MERGES:
        vocab[left + right] = len(vocab)
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": None, "decoder": {"type": "ByteLevel", "add_prefix_space": True,
                                            "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in MERGES]},
    }


VOCAB = 256 + len(MERGES)

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>"] + \
    [f"<|reserved_special_token_{i}|>" for i in range(254)]


def llama3_tokenizer_json():
    """The same vocabulary laid out as Llama 3's tokenizer.json: 256 special tokens after it, the
    Split pre-tokenizer, ignore_merges, merges as pairs, <|begin_of_text|> put first."""
    j = tokenizer_json()
    j["added_tokens"] = [{"id": VOCAB + i, "content": s, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}
                         for i, s in enumerate(LLAMA3_SPECIALS)]
    j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    bos = {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}
    j["post_processor"] = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing", "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [bos, {"Sequence": {"id": "A", "type_id": 0}}, bos, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [VOCAB],
                                                  "tokens": ["<|begin_of_text|>"]}}}]}
    j["model"]["ignore_merges"] = True
    j["model"]["merges"] = [[a, b] for a, b in MERGES]
    return j


def random_llama(config, seed):
    """HF-named float32 weights, every one random (norm gains around 1)."""
    g = torch.Generator().manual_seed(seed)
    C, H, V = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    NH, NKV = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    hs = C // NH

    def randn(*shape, scale):
        return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).to(torch.float32).numpy()

    t = {"model.embed_tokens.weight": randn(V, C, scale=0.5)}
    for l in range(config["num_hidden_layers"]):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = 1.0 + randn(C, scale=0.1)
        t[p + "self_attn.q_proj.weight"] = randn(NH * hs, C, scale=0.3)
        t[p + "self_attn.k_proj.weight"] = randn(NKV * hs, C, scale=0.3)
        t[p + "self_attn.v_proj.weight"] = randn(NKV * hs, C, scale=0.2)
        t[p + "self_attn.o_proj.weight"] = randn(C, NH * hs, scale=0.1)
        t[p + "post_attention_layernorm.weight"] = 1.0 + randn(C, scale=0.1)
        t[p + "mlp.gate_proj.weight"] = randn(H, C, scale=0.2)
        t[p + "mlp.up_proj.weight"] = randn(H, C, scale=0.2)
        t[p + "mlp.down_proj.weight"] = randn(C, H, scale=0.1)
    t["model.norm.weight"] = 1.0 + randn(C, scale=0.1)
    if not config.get("tie_word_embeddings", False):
        t["lm_head.weight"] = randn(V, C, scale=0.3)
    return t


def write_llama_directory(directory, config, tensors):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    safetensors_io.save(os.path.join(directory, "model.safetensors"), tensors, {"format": "pt"})
    with open(os.path.join(directory, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glassbox", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    torch.set_num_threads(1)
    check = Checks()

    rng = np.random.default_rng(5)
    tokens = rng.integers(0, VOCAB, size=B * T + 1)
    shard = os.path.join(args.workdir, "tokens.bin")
    write_shard(shard, tokens)
    inputs = torch.from_numpy(tokens[:-1].reshape(B, T).astype(np.int64))
    targets = torch.from_numpy(tokens[1:].reshape(B, T).astype(np.int64))

    for seed, (name, config) in enumerate(MODELS.items()):
        config = dict(config, vocab_size=VOCAB)
        directory = os.path.join(args.workdir, name)
        tensors = random_llama(config, seed=100 + seed)
        write_llama_directory(directory, config, tensors)

        # 1. eval against the reference
        reference = LlamaReference(config, tensors)
        with torch.no_grad():
            ref_loss = reference.forward(inputs, targets)[1].item()
        out = os.path.join(args.workdir, f"eval_{name}.json")
        run([args.glassbox, "eval", "--ckpt", directory, "--data", shard, "--batch-size", str(B),
             "--block-size", str(T), "--out", out])
        with open(out) as f:
            loss = json.load(f)["loss"]
        err = abs(loss - ref_loss) / abs(ref_loss)
        check(f"{name}: glassbox eval loss vs PyTorch f64, rel err < {TOLERANCE:g}", err < TOLERANCE,
              f"{loss:.7f} vs {ref_loss:.7f} ({err:.1e})")
        if config.get("rope_scaling"):
            plain = LlamaReference(dict(config, rope_scaling=None), tensors)
            with torch.no_grad():
                plain_loss = plain.forward(inputs, targets)[1].item()
            gap = abs(plain_loss - ref_loss) / abs(ref_loss)
            check(f"{name}: the scaling changes the loss by far more than the tolerance",
                  gap > 100 * TOLERANCE, f"{gap:.1e}")

        # 2. greedy sampling against the reference's argmax
        sample = [args.glassbox, "sample", "--ckpt", directory, "--prompt", " the", "--temperature", "0",
                  "--max-new-tokens", "8"]
        result = subprocess.run(sample, capture_output=True)
        vocab = tokenizer_json()["model"]["vocab"]
        symbol_of = {i: s for s, i in vocab.items()}
        byte_of = {c: b for b, c in bytes_to_unicode().items()}
        ids = [vocab["Ġ"], vocab["the"]]  # " the" as the tokenizer splits it
        for _ in range(8):
            with torch.no_grad():
                logits, _ = reference.forward(torch.tensor([ids]))
            ids.append(int(logits[0, -1, :VOCAB].argmax()))
        expected = bytes(byte_of[c] for i in ids for c in symbol_of[i])
        check(f"{name}: glassbox sample (greedy) continues as the reference",
              result.returncode == 0 and expected in result.stdout,
              f"expected {expected!r} in {result.stdout[-200:]!r} {result.stderr[-300:]!r}")

        # 3. convert: HF dir -> glassbox -> a LlamaForCausalLM directory again, bit-identical
        converted = os.path.join(args.workdir, f"{name}_converted")
        run([args.glassbox, "convert", "--from", directory, "--to", converted])
        again, _ = safetensors_io.load(os.path.join(converted, "model.safetensors"))
        same_names = sorted(again) == sorted(tensors)
        check(f"{name}: convert writes the same tensor names", same_names,
              "" if same_names else f"{sorted(set(again) ^ set(tensors))[:6]}")
        identical = same_names and all(again[n].dtype == np.float32 and again[n].shape == tensors[n].shape
                                       and again[n].tobytes() == tensors[n].tobytes() for n in tensors)
        check(f"{name}: convert's tensors are bit-identical", identical)
        with open(os.path.join(converted, "config.json")) as f:
            written = json.load(f)
        expect = dict(config)
        expect.setdefault("tie_word_embeddings", False)  # LlamaConfig's defaults
        expect.setdefault("rope_scaling", None)
        keys = ("model_type", "architectures", "hidden_size", "intermediate_size", "num_hidden_layers",
                "num_attention_heads", "num_key_value_heads", "rms_norm_eps", "rope_theta", "vocab_size",
                "max_position_embeddings", "hidden_act", "tie_word_embeddings", "rope_scaling")
        differing = [k for k in keys if written.get(k) != expect.get(k)]
        check(f"{name}: convert writes the same config", not differing, f"differs: {differing}")
        check(f"{name}: convert carries the tokenizer",
              os.path.isfile(os.path.join(converted, "tokenizer.json")) or
              os.path.isfile(os.path.join(converted, "glassbox_tokenizer.json")))

    # 4. unsupported fields: one line naming the field
    base = dict(MODELS["gqa_tied"], vocab_size=VOCAB)
    tensors = random_llama(base, seed=7)
    refusals = {
        "rope_scaling": dict(base, rope_scaling={"rope_type": "yarn", "factor": 4.0}),
        "sliding_window": dict(base, sliding_window=16),
        "attention_bias": dict(base, attention_bias=True),
        "mlp_bias": dict(base, mlp_bias=True),
        "hidden_act": dict(base, hidden_act="gelu"),
        "head_dim": dict(base, head_dim=32),
        "model_type": dict(base, model_type="mistral"),
    }
    for field, config in refusals.items():
        directory = os.path.join(args.workdir, f"refuse_{field}")
        write_llama_directory(directory, config, tensors)
        result = run([args.glassbox, "eval", "--ckpt", directory, "--data", shard, "--batch-size", str(B),
                      "--block-size", str(T)], expect_ok=False)
        lines = [line for line in result.stderr.strip().splitlines() if line]
        ok = result.returncode != 0 and len(lines) == 1 and f'"{field}"' in lines[0]
        check(f"unsupported {field}: refused in one line naming it", ok, lines[-1] if lines else "(no output)")

    # 5. Llama 3's layout: sharded weights, its tokenizer.json
    config = dict(MODELS["llama3_scaling"], vocab_size=VOCAB + len(LLAMA3_SPECIALS))
    tensors = random_llama(config, seed=11)
    directory = os.path.join(args.workdir, "llama3_sharded")
    os.makedirs(directory)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    names = sorted(tensors)
    shard_of = {n: f"model-0000{i % 3 + 1}-of-00003.safetensors" for i, n in enumerate(names)}
    for shard_file in sorted(set(shard_of.values())):
        safetensors_io.save(os.path.join(directory, shard_file),
                            {n: tensors[n] for n in names if shard_of[n] == shard_file}, {"format": "pt"})
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": sum(t.nbytes for t in tensors.values())},
                   "weight_map": shard_of}, f, indent=2)
    with open(os.path.join(directory, "tokenizer.json"), "w") as f:
        json.dump(llama3_tokenizer_json(), f)
    reference = LlamaReference(config, tensors)
    with torch.no_grad():
        ref_loss = reference.forward(inputs, targets)[1].item()
    out = os.path.join(args.workdir, "eval_llama3_sharded.json")
    run([args.glassbox, "eval", "--ckpt", directory, "--data", shard, "--batch-size", str(B),
         "--block-size", str(T), "--out", out])
    with open(out) as f:
        loss = json.load(f)["loss"]
    err = abs(loss - ref_loss) / abs(ref_loss)
    check(f"llama3 sharded: glassbox eval loss vs PyTorch f64, rel err < {TOLERANCE:g}", err < TOLERANCE,
          f"{loss:.7f} vs {ref_loss:.7f} ({err:.1e})")
    vocab = tokenizer_json()["model"]["vocab"]
    symbol_of = {i: s for s, i in vocab.items()}
    byte_of = {c: b for b, c in bytes_to_unicode().items()}

    def decode(i):
        if i >= VOCAB:
            return LLAMA3_SPECIALS[i - VOCAB].encode()
        return bytes(byte_of[c] for c in symbol_of[i])

    ids = [VOCAB, vocab["Ġ"], vocab["the"]]  # the BOS, then " the"
    generated = b""
    for _ in range(8):
        with torch.no_grad():
            logits, _ = reference.forward(torch.tensor([ids]))
        ids.append(int(logits[0, -1, :config["vocab_size"]].argmax()))
        if ids[-1] == VOCAB + 1:  # <|end_of_text|> ends the sample
            break
        generated += decode(ids[-1])
    result = subprocess.run([args.glassbox, "sample", "--ckpt", directory, "--prompt", " the",
                             "--temperature", "0", "--max-new-tokens", "8"], capture_output=True)
    expected = b" the" + generated
    check("llama3 sharded: glassbox sample (greedy, after the BOS) continues as the reference",
          result.returncode == 0 and expected in result.stdout,
          f"expected {expected!r} in {result.stdout[-200:]!r} {result.stderr[-300:]!r}")
    converted = os.path.join(args.workdir, "llama3_converted")
    run([args.glassbox, "convert", "--from", directory, "--to", converted])
    again, _ = safetensors_io.load(os.path.join(converted, "model.safetensors"))
    check("llama3 sharded: convert writes one model.safetensors with the same bytes",
          sorted(again) == names and all(again[n].tobytes() == tensors[n].tobytes() for n in names))
    with open(os.path.join(directory, "tokenizer.json"), "rb") as a, \
            open(os.path.join(converted, "tokenizer.json"), "rb") as b:
        check("llama3 sharded: convert carries tokenizer.json unchanged", a.read() == b.read())

    llmc = os.path.join(args.workdir, "llama.bin")
    result = run([args.glassbox, "convert", "--from", os.path.join(args.workdir, "gqa_tied"), "--to", llmc],
                 expect_ok=False)
    lines = [line for line in result.stderr.strip().splitlines() if line]
    check("convert to an llm.c .bin (GPT-2 only) is refused in one line",
          result.returncode != 0 and len(lines) == 1 and "GPT-2 only" in lines[0] and not os.path.exists(llmc),
          lines[-1] if lines else "(no output)")

    check.finish()


if __name__ == "__main__":
    main()
