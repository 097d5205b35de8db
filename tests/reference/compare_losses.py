#!/usr/bin/env python3
"""Compare the training losses of two runs step by step, e.g. the GPU's bf16 run against the
CPU's f32 run of the same weights and batches (scripts/gpu_check.sh stage 3).

    compare_losses.py REFERENCE/metrics.jsonl RUN/metrics.jsonl [--tolerance 0.05]

Reads the lines of each metrics.jsonl that carry a training "loss", prints one row per step
(step, reference, run, difference) and exits 1 when the runs cover different steps or any step
differs by more than the tolerance. Standard library only."""
import argparse
import json
import sys


def losses(path):
    out = {}
    try:
        f = open(path)
    except OSError as e:
        sys.exit(f"compare_losses.py: {path}: cannot read it ({e.strerror})")
    with f:
        for number, line in enumerate(f, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"compare_losses.py: {path}:{number}: not JSON ({e})")
            if "loss" in record and "step" in record:
                out[record["step"]] = record["loss"]
    if not out:
        sys.exit(f"compare_losses.py: {path}: no training losses in it")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference")
    parser.add_argument("run")
    parser.add_argument("--tolerance", type=float, default=0.05)
    args = parser.parse_args()
    ref, run = losses(args.reference), losses(args.run)
    if sorted(ref) != sorted(run):
        sys.exit(f"compare_losses.py: the runs cover different steps: {sorted(ref)} vs {sorted(run)}")
    worst = 0.0
    print("| step | reference | run | difference |")
    print("| --- | --- | --- | --- |")
    for step in sorted(ref):
        diff = run[step] - ref[step]
        worst = max(worst, abs(diff))
        print(f"| {step} | {ref[step]:.4f} | {run[step]:.4f} | {diff:+.4f} |")
    verdict = "within" if worst <= args.tolerance else "NOT within"
    print(f"largest difference {worst:.3g}: {verdict} {args.tolerance:g} at every step")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
