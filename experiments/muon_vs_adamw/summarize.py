"""Summaries for the Muon vs AdamW card (experiments/muon_vs_adamw/README.md).

    summarize.py best SWEEP_DIR KEY          the KEY value of the point with the lowest final val loss
    summarize.py compare ADAMW_DIR MUON_DIR  a markdown table: val loss at equal steps and at equal
                                             wall time, ms per step, over the seeds of each sweep

A sweep directory is what `glassbox sweep` wrote: results.csv, and one run directory per point with
its metrics.jsonl (llm/train/sweep.hpp).
"""
import csv
import json
import os
import statistics
import sys


def rows(sweep_dir):
    with open(os.path.join(sweep_dir, "results.csv")) as f:
        return list(csv.DictReader(f))


def best(sweep_dir, key):
    r = min(rows(sweep_dir), key=lambda row: float(row["final_val_loss"]))
    return r[key]


def runs(sweep_dir):
    """Each point's run directory, its final val loss (whole val split) and its metrics lines."""
    out = []
    for name in sorted(os.listdir(sweep_dir)):
        run = os.path.join(sweep_dir, name)
        if not os.path.isfile(os.path.join(run, "sweep_result.json")):
            continue
        result = json.load(open(os.path.join(run, "sweep_result.json")))
        metrics = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
        out.append((name, result["final_val_loss"], metrics))
    return out


def training_seconds(metrics):
    """The time spent in training steps (evaluations left out): the sum of ms_per_step."""
    return sum(m["ms_per_step"] for m in metrics if "ms_per_step" in m) / 1e3


def val_curve(metrics):
    """(training seconds so far, val loss estimate, step) at each periodic evaluation; the last val
    line, the whole val split after the last step, is another estimator and is left out."""
    curve, seconds = [], 0.0
    for m in metrics:
        if "ms_per_step" in m:
            seconds += m["ms_per_step"] / 1e3
        if "val_loss" in m:
            curve.append((seconds, m["val_loss"], m["step"]))
    return curve[:-1]


def mean_std(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def compare(adamw_dir, muon_dir):
    groups = {"AdamW": runs(adamw_dir), "Muon": runs(muon_dir)}
    # Equal wall time: the training time of the faster optimizer's slowest seed; each run is read at
    # its last periodic evaluation within that time.
    budget = min(max(training_seconds(m) for _, _, m in group) for group in groups.values())
    print("| optimizer | seeds | val loss at equal steps (whole val split) | ms/step (median over seeds) "
          f"| val loss estimate at equal training time ({budget:.0f} s) | at step |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, group in groups.items():
        finals = [v for _, v, _ in group]
        ms = [1e3 * training_seconds(m) / sum(1 for x in m if "ms_per_step" in x) for _, _, m in group]
        at_budget = []
        steps = []
        for _, _, m in group:
            within = [(s, v, st) for s, v, st in val_curve(m) if s <= budget]
            at_budget.append(within[-1][1])
            steps.append(within[-1][2])
        fm, fs = mean_std(finals)
        bm, bs = mean_std(at_budget)
        print(f"| {label} | {len(group)} | {fm:.4f} +- {fs:.4f} | {statistics.median(ms):.1f} | "
              f"{bm:.4f} +- {bs:.4f} | {min(steps)}-{max(steps)} |")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "best":
        print(best(sys.argv[2], sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
