"""HellaSwag scoring: glassbox against the PyTorch reference, on a random GPT-2-shaped model.

    /usr/bin/python3 tests/reference/hellaswag_check.py --glassbox build/glassbox \
        --data tests/hellaswag/tiny.jsonl --workdir /tmp/hs

A random model (L=2, NH=2, C=32, n_positions=64, V=256: the byte tokenizer's ids; every weight,
bias and gain random, rounded to f32) is written as a checkpoint; `glassbox eval --task hellaswag
--tokenizer byte --predictions` scores the file with it (f32), and this script scores the same file
with gpt2_reference.py in float64, llm.c's way, each row on its own without padding:

    row      = bytes(ctx) + bytes(" " + ending), the context cut from the left to fit 64 positions
    sum      = sum over the ending's tokens of -log softmax(logits at the position before)[token]
    mean     = sum / the ending's token count;   pred = argmin sum, pred_norm = argmin mean

Checks: every sum and mean within 1e-5 relative (f32 against f64 over at most 64 positions; observed
~1e-7), the same pred / pred_norm for every example (an example whose two best endings are closer than
the tolerance would be skipped, and is reported), and the same acc / acc_norm. Exits 1 on a mismatch.
"""
import argparse
import json
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_reference as ref  # noqa: E402

L, NH, C, T_MAX, V = 2, 2, 32, 64, 256
TOLERANCE = 1e-5


def random_model(directory):
    """Every parameter random, so no term of the forward is trivial; saved as f32 and reloaded in f64
    so that both sides hold the same weights exactly."""
    g = torch.Generator().manual_seed(19)
    model = ref.GPT2Reference(L, NH, C, T_MAX, V, dtype=torch.float64)
    with torch.no_grad():
        for name, p in model.named_hf_parameters():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype))
            elif name.endswith(".bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g, dtype=p.dtype))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    ref.save_checkpoint(model, directory)
    return ref.load_checkpoint(directory, dtype=torch.float64)


@torch.no_grad()
def reference_scores(model, example):
    ctx = list(example["ctx"].encode("utf-8"))
    sums, means = [], []
    for ending in example["endings"]:
        end = list((" " + ending).encode("utf-8"))
        keep = min(len(ctx), T_MAX - len(end))
        tokens = ctx[len(ctx) - keep:] + end
        logits, _ = model(torch.tensor([tokens]))
        logp = torch.log_softmax(logits[0, :, :V], dim=-1)  # (T, V)
        losses = [-logp[keep + j - 1, end[j]].item() for j in range(len(end))]
        sums.append(sum(losses))
        means.append(sum(losses) / len(end))
    return sums, means


def argmin(values):
    return min(range(len(values)), key=lambda i: values[i])


def too_close(values):
    best = sorted(values)
    return best[1] - best[0] < 10 * TOLERANCE * abs(best[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--glassbox", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    ckpt = os.path.join(args.workdir, "ckpt")
    model = random_model(ckpt)

    predictions = os.path.join(args.workdir, "predictions.jsonl")
    summary = os.path.join(args.workdir, "hellaswag.json")
    cmd = [args.glassbox, "eval", "--ckpt", ckpt, "--task", "hellaswag", "--data", args.data,
           "--tokenizer", "byte", "--predictions", predictions, "--out", summary]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    ours = [json.loads(line) for line in open(predictions)]
    theirs = [json.loads(line) for line in open(args.data) if line.strip()]
    if len(ours) != len(theirs):
        sys.exit(f"FAIL: {len(ours)} predictions for {len(theirs)} examples")

    worst, failures, correct, correct_norm = 0.0, 0, 0, 0
    for k, (mine, example) in enumerate(zip(ours, theirs)):
        sums, means = reference_scores(model, example)
        for key, want in (("sum_loss", sums), ("mean_loss", means)):
            for got, ref_value in zip(mine[key], want):
                worst = max(worst, abs(got - ref_value) / abs(ref_value))
        pred, pred_norm = argmin(sums), argmin(means)
        correct += pred == example["label"]
        correct_norm += pred_norm == example["label"]
        for name, got, want, values in (("pred", mine["pred"], pred, sums),
                                        ("pred_norm", mine["pred_norm"], pred_norm, means)):
            if too_close(values):
                print(f"example {k}: {name} skipped, its two best endings are within the tolerance")
            elif got != want:
                print(f"FAIL example {k}: glassbox {name} {got}, reference {want} ({values})")
                failures += 1
        if mine["index"] != k or mine["label"] != example["label"]:
            print(f"FAIL example {k}: index / label {mine['index']} / {mine['label']}")
            failures += 1
        print(f"example {k}: sums {['%.4f' % s for s in sums]} pred {pred} pred_norm {pred_norm}")

    out = json.load(open(summary))
    n = len(theirs)
    for key, want in (("acc", correct / n), ("acc_norm", correct_norm / n)):
        if abs(out[key] - want) > 1e-12:
            print(f"FAIL {key}: glassbox {out[key]}, reference {want}")
            failures += 1
    print(f"max relative error of the losses: {worst:.2e} (tolerance {TOLERANCE:.0e}); "
          f"reference acc {correct}/{n}, acc_norm {correct_norm}/{n}")
    if worst > TOLERANCE:
        print("FAIL: losses differ from the reference")
        failures += 1
    if failures:
        sys.exit(1)
    print("glassbox's HellaSwag scores match the PyTorch reference")


if __name__ == "__main__":
    main()
