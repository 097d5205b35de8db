"""Summaries for the Muon vs AdamW card (experiments/muon_vs_adamw/README.md).

    summarize.py best SWEEP_DIR KEY          the KEY value of the point with the lowest final val loss
    summarize.py compare ADAMW_DIR MUON_DIR  a markdown table: val loss at equal steps and at equal
                                             wall time, ms per step, over the seeds of each sweep
    summarize.py plot ADAMW_DIR MUON_DIR PNG the loss curves of every seed of both (matplotlib)
    summarize.py ms_per_step RUN_DIR...      the median ms/step over the steps of all the runs
    summarize.py finals SWEEP_DIR            the final val losses of a sweep's points, mean +- std

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


def ms_per_step(run_dirs):
    """The median of every step's time in the runs' metrics.jsonl (the first step of each, which
    warms up, left out)."""
    times = []
    for run in run_dirs:
        metrics = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
        times += [m["ms_per_step"] for m in metrics if "ms_per_step" in m and m["step"] > 0]
    return statistics.median(times)


def finals(sweep_dir):
    values = [v for _, v, _ in runs(sweep_dir)]
    m, s = mean_std(values)
    print(f"val loss (whole val split) {m:.4f} +- {s:.4f} over {len(values)} seeds")


def plot(adamw_dir, muon_dir, png):
    """Train loss (a running mean over 50 steps) and the periodic val-loss estimates of every seed,
    against the step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, sweep_dir, color in (("AdamW", adamw_dir, "tab:blue"), ("Muon", muon_dir, "tab:red")):
        for i, (_, _, metrics) in enumerate(runs(sweep_dir)):
            train = [(m["step"], m["loss"]) for m in metrics if "ms_per_step" in m]
            window = 50
            smooth = [sum(v for _, v in train[max(0, k - window + 1):k + 1]) / min(window, k + 1)
                      for k in range(len(train))]
            ax.plot([s for s, _ in train], smooth, color=color, alpha=0.35, linewidth=0.8,
                    label=f"{label} train (50-step mean)" if i == 0 else None)
            val = val_curve(metrics)
            ax.plot([st for _, _, st in val], [v for _, v, _ in val], "o-", color=color,
                    markersize=3, linewidth=1.2, label=f"{label} val (20 batches)" if i == 0 else None)
    ax.set_xlabel("step (768 characters each)")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_ylim(1.3, 2.8)
    ax.set_title("shakespeare_char recipe, 3 seeds each, tuned learning rates")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "best":
        print(best(sys.argv[2], sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "ms_per_step":
        print(f"{ms_per_step(sys.argv[2:]):.1f}")
    elif len(sys.argv) == 3 and sys.argv[1] == "finals":
        finals(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "plot":
        plot(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
