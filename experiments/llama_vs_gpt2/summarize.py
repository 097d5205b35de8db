"""The summary of the Llama-style vs GPT-2-style card (experiments/llama_vs_gpt2/README.md).

    summarize.py OUT_DIR STEPS NAME...

OUT_DIR is what run.sh wrote: NAME.info (`glassbox info`), NAME/ (a `glassbox sweep` over seeds:
one run directory per seed with sweep_result.json and metrics.jsonl) for every variant, and
bench.txt (`glassbox bench` lines, GPT-2 and Llama alternated). Prints a markdown table: the
parameter count, the final val loss on the whole val split (mean +- std over the seeds, and its
difference to gpt2's) and the training ms/step (median over every logged step of the seeds), then
the bench's per-round ratio Llama / GPT-2.
"""
import json
import os
import re
import statistics
import sys


def parameters(out, name):
    for line in open(os.path.join(out, name + ".info")):
        if line.startswith("parameters"):
            return int(line.split()[1])
    raise ValueError(f"{name}.info has no parameters line")


def seeds(out, name):
    """(final val loss, [ms_per_step of every logged step]) of each finished seed."""
    runs = []
    sweep = os.path.join(out, name)
    for point in sorted(os.listdir(sweep)):
        result = os.path.join(sweep, point, "sweep_result.json")
        if not os.path.isfile(result):
            continue
        metrics = [json.loads(line) for line in open(os.path.join(sweep, point, "metrics.jsonl"))]
        ms = [m["ms_per_step"] for m in metrics if "ms_per_step" in m]
        runs.append((json.load(open(result))["final_val_loss"], ms))
    return runs


def mean_std(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def main(out, steps, names):
    rows = {name: seeds(out, name) for name in names}
    gpt2_mean = mean_std([v for v, _ in rows["gpt2"]])[0] if rows.get("gpt2") else None
    print(f"| variant | parameters | seeds | val loss after {steps} steps (whole val split), "
          "mean +- std | vs gpt2 | ms/step (median of all steps) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        runs = rows[name]
        if not runs:
            print(f"| {name} | {parameters(out, name):,} | 0 | not run | | |")
            continue
        mean, std = mean_std([v for v, _ in runs])
        delta = f"{mean - gpt2_mean:+.4f}" if gpt2_mean is not None else ""
        ms = statistics.median([x for _, steps_ms in runs for x in steps_ms])
        print(f"| {name} | {parameters(out, name):,} | {len(runs)} | {mean:.4f} +- {std:.4f} | "
              f"{delta} | {ms:.1f} |")

    bench = os.path.join(out, "bench.txt")
    if os.path.isfile(bench):
        by_round = {}
        for line in open(bench):
            words = line.split()
            ms = re.search(r"ms/step: ([0-9.]+)", line)
            if ms:
                by_round.setdefault(words[0], {})[words[1]] = float(ms.group(1))
        ratios = [r["llama"] / r["gpt2"] for r in by_round.values() if "llama" in r and "gpt2" in r]
        gpt2 = [r["gpt2"] for r in by_round.values() if "gpt2" in r]
        llama = [r["llama"] for r in by_round.values() if "llama" in r]
        if ratios:
            print()
            print(f"bench (random tokens, {len(ratios)} alternating rounds): GPT-2 "
                  f"{min(gpt2):.1f}-{max(gpt2):.1f} ms/step, Llama {min(llama):.1f}-{max(llama):.1f} "
                  f"ms/step; Llama / GPT-2 per round: median {statistics.median(ratios):.3f} "
                  f"({min(ratios):.3f}-{max(ratios):.3f})")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
