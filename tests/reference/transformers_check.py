"""Does Hugging Face transformers load the checkpoints glassbox writes, and compute their loss?

Needs transformers, which Debian 12 does not package: CI cannot run this; scripts/gpu_check.sh
stage 3 runs it where transformers is installed (the GPU machine's image). The glassbox side of
it runs anywhere.

glassbox trains three small models for 2 steps on character shards of a generated text and saves
them as it always does:
  gpt2          GPT-2 (GPT2LMHeadModel): layernorm, learned positions, GELU, biases, tied head;
  llama_gqa     Llama-style (LlamaForCausalLM): RMSNorm, RoPE, SwiGLU, 4 query heads over 2
                key/value heads, no biases, an untied head;
  llama_mqa_rs  the same with 1 key/value head, a tied head and llama3 RoPE scaling.
For each, AutoModelForCausalLM.from_pretrained(checkpoint) must load every weight (nothing
missing, unexpected or mismatched) and, in float64, give the mean cross-entropy that
`glassbox eval` prints for the same B x T windows of the validation shard (relative error below
1e-5; glassbox computes in float32).

usage: transformers_check.py --glassbox PATH --workdir DIR
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_harness import Checks, read_shard, run  # noqa: E402

TOLERANCE = 1e-5
B, T = 2, 32
TINY = ["--n-layer", "2", "--n-head", "4", "--n-embd", "64", "--block-size", str(T),
        "--batch-size", "2", "--max-steps", "2", "--learning-rate", "1e-2", "--warmup-steps", "0",
        "--eval-interval", "1000", "--eval-batches", "1", "--log-interval", "1"]
LLAMA = ["--norm", "rmsnorm", "--position", "rope", "--mlp", "swiglu", "--mlp-hidden", "96",
         "--bias", "false"]
MODELS = {
    "gpt2": [],
    "llama_gqa": LLAMA + ["--n-kv-head", "2", "--tie-embeddings", "false", "--rope-theta", "500000"],
    "llama_mqa_rs": LLAMA + ["--n-kv-head", "1", "--tie-embeddings", "true", "--rope-scaling", "llama3",
                             "--rope-scaling-factor", "8", "--rope-original-max-position", "16"],
}
# Buffers that older GPT-2 classes of transformers list as missing: the causal mask, not weights.
NOT_WEIGHTS = (".attn.bias", ".attn.masked_bias")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glassbox", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    print(f"transformers {transformers.__version__}, torch {torch.__version__}", flush=True)
    check = Checks()

    # A text with structure, tokenized by character (glassbox's own shards and tokenizer).
    rng = np.random.default_rng(7)
    words = ["the", "king", "queen", "sees", "loves", "a", "rose", "moon", "horse", "and"]
    text = " ".join(words[i] for i in rng.integers(0, len(words), size=6000)) + "\n"
    with open(os.path.join(args.workdir, "text.txt"), "w") as f:
        f.write(text)
    data = os.path.join(args.workdir, "data")
    run([args.glassbox, "tokenize", "--tokenizer", "char", "--input",
         os.path.join(args.workdir, "text.txt"), "--out", data, "--val-fraction", "0.2"])
    val = os.path.join(data, "val_000000.bin")
    tokens = read_shard(val)[: B * T + 1]
    inputs = torch.from_numpy(tokens[:-1].reshape(B, T))
    targets = torch.from_numpy(tokens[1:].reshape(B, T))

    for name, flags in MODELS.items():
        run_dir = os.path.join(args.workdir, name)
        run([args.glassbox, "train", *TINY, *flags, "--train-data", os.path.join(data, "train_*.bin"),
             "--val-data", val, "--out-dir", run_dir])
        checkpoint = os.path.join(run_dir, "checkpoint")
        out = os.path.join(args.workdir, f"eval_{name}.json")
        run([args.glassbox, "eval", "--ckpt", checkpoint, "--data", val, "--batch-size", str(B),
             "--block-size", str(T), "--max-tokens", str(B * T), "--out", out])
        with open(out) as f:
            loss = json.load(f)["loss"]

        model, info = transformers.AutoModelForCausalLM.from_pretrained(
            checkpoint, torch_dtype=torch.float64, output_loading_info=True)
        missing = [k for k in info["missing_keys"] if not k.endswith(NOT_WEIGHTS)]
        problems = {"missing": missing, "unexpected": info["unexpected_keys"],
                    "mismatched": info["mismatched_keys"]}
        check(f"{name}: {type(model).__name__} loads every weight",
              not any(problems.values()), json.dumps({k: v for k, v in problems.items() if v}))
        model.eval()
        with torch.no_grad():
            logits = model(input_ids=inputs).logits  # (B, T, V)
            hf_loss = torch.nn.functional.cross_entropy(
                logits.reshape(B * T, -1), targets.reshape(B * T)).item()
        err = abs(loss - hf_loss) / abs(hf_loss)
        check(f"{name}: glassbox eval loss vs transformers float64, rel err < {TOLERANCE:g}",
              err < TOLERANCE, f"{loss:.7f} vs {hf_loss:.7f} ({err:.1e})")

    check.finish()


if __name__ == "__main__":
    main()
