#!/usr/bin/env python3
"""Fit the scaling card's IsoFLOP profiles and power law (experiments/scaling/README.md).

    fit.py --results results.csv --tokens-per-byte 0.27 --budgets 3e10,1e11,3e11 \
           [--png scaling.png] [--md fit.md] [--json fit.json]

results.csv is `glassbox sweep`'s (columns n_layer, n_embd, ..., final_val_loss, tokens, ...), one
row per run. For each run:
  N    = non-embedding parameters of a GPT-2 block stack: per block 12 C^2 + 13 C (qkv, projection,
         two MLP matrices and their biases, two layernorms), plus the final layernorm's 2 C
         (Kaplan et al. 2020 count compute without the embeddings and the head)
  D    = tokens trained on
  C    = 6 N D, the non-embedding training FLOPs (forward 2 N D, backward 4 N D)
  bpb  = val loss [nats/token] x tokens per byte / ln 2: bits per byte of the held-out text, which
         does not depend on the tokenizer
Each run belongs to the budget nearest its C (within 10%, else it is an error).

Per budget (Chinchilla's approach 2, Hoffmann et al. 2022): a parabola of bpb in log10 N through
the runs of that budget. Its vertex is the compute-optimal size only when it lies inside the sizes
that were run (and the parabola opens upward); otherwise the optimum is not bracketed and only the
best run measured is reported, with the side the optimum lies on.
Across budgets: bpb_min(C) = k C^-alpha, a straight line in log-log through the per-budget minima
(the vertex where bracketed, else the best run), with the standard error of alpha from the
least-squares residuals (none with two budgets: a line through two points has no residual). Where
at least two budgets are bracketed, N_opt(C) = g C^beta likewise.
"""
import argparse
import csv
import json
import math
import sys

import numpy as np


def non_embedding_params(n_layer, n_embd):
    """GPT-2 with biases: per block 12 C^2 + 13 C, then the final layernorm's gain and bias."""
    return n_layer * (12 * n_embd * n_embd + 13 * n_embd) + 2 * n_embd


def read_runs(path, tokens_per_byte, budgets):
    runs = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for key in ("n_layer", "n_embd", "final_val_loss", "tokens"):
                if key not in row:
                    sys.exit(f"fit.py: {path}: no column '{key}'")
            n = non_embedding_params(int(row["n_layer"]), int(row["n_embd"]))
            d = float(row["tokens"])
            c = 6.0 * n * d
            nearest = min(budgets, key=lambda b: abs(math.log(c / b)))
            if abs(math.log(c / nearest)) > math.log(1.1):
                sys.exit(f"fit.py: {path}: run n_layer={row['n_layer']} n_embd={row['n_embd']} "
                         f"tokens={d:g} has C={c:.3g}, not within 10% of a budget in {budgets}")
            loss = float(row["final_val_loss"])
            runs.append({"n_layer": int(row["n_layer"]), "n_embd": int(row["n_embd"]), "N": n,
                         "D": d, "C": c, "budget": nearest, "val_loss": loss,
                         "bpb": loss * tokens_per_byte / math.log(2),
                         "seconds": float(row.get("seconds") or "nan")})
    if not runs:
        sys.exit(f"fit.py: {path}: no runs")
    return runs


def isoflop_fit(runs):
    """Parabola of bpb in u = log10 N; the optimum where its vertex is bracketed by the runs."""
    runs = sorted(runs, key=lambda r: r["N"])
    u = np.log10([r["N"] for r in runs])
    y = np.array([r["bpb"] for r in runs])
    best = runs[int(np.argmin(y))]
    fit = {"budget": runs[0]["budget"], "runs": len(runs), "best_N": best["N"],
           "best_bpb": best["bpb"], "bracketed": False, "coeffs": None}
    if len(runs) >= 3:
        a, b, c = np.polyfit(u, y, 2)
        fit["coeffs"] = [a, b, c]
        if a > 0:
            u_opt = -b / (2 * a)
            if u[0] < u_opt < u[-1]:
                fit.update(bracketed=True, N_opt=10**u_opt, bpb_opt=c - b * b / (4 * a))
    if not fit["bracketed"]:
        # Which way the optimum lies: toward the smallest run if it is (one of) the best.
        fit["side"] = "smaller" if best is runs[0] else ("larger" if best is runs[-1] else "inside")
    return fit


def line_fit(x, y):
    """Least squares y = p0 + p1 x; returns (p0, p1, standard error of p1 or None)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    p1, p0 = np.polyfit(x, y, 1)
    se = None
    if len(x) > 2:
        resid = y - (p0 + p1 * x)
        se = math.sqrt(resid @ resid / (len(x) - 2) / ((x - x.mean()) @ (x - x.mean())))
    return p0, p1, se


def fit_all(runs, budgets):
    per_budget = [isoflop_fit([r for r in runs if r["budget"] == b]) for b in budgets
                  if any(r["budget"] == b for r in runs)]
    c = [f["budget"] for f in per_budget]
    y = [f["bpb_opt"] if f["bracketed"] else f["best_bpb"] for f in per_budget]
    result = {"budgets": per_budget}
    if len(per_budget) >= 2:
        p0, p1, se = line_fit(np.log10(c), np.log10(y))
        result.update(alpha=-p1, alpha_se=se, k=10**p0)
    bracketed = [f for f in per_budget if f["bracketed"]]
    if len(bracketed) >= 2:
        p0, p1, se = line_fit(np.log10([f["budget"] for f in bracketed]),
                              np.log10([f["N_opt"] for f in bracketed]))
        result.update(beta=p1, beta_se=se, g=10**p0)
    return result


def markdown(runs, result):
    lines = ["| budget C | n_layer | n_embd | N (non-emb.) | D tokens | D/N | val loss | bits/byte |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in sorted(runs, key=lambda r: (r["budget"], r["N"])):
        lines.append(f"| {r['budget']:.3g} | {r['n_layer']} | {r['n_embd']} | {r['N']:,} | "
                     f"{r['D']:,.0f} | {r['D'] / r['N']:.1f} | {r['val_loss']:.4f} | "
                     f"{r['bpb']:.4f} |")
    lines.append("")
    for f in result["budgets"]:
        if f["bracketed"]:
            lines.append(f"- C = {f['budget']:.3g}: optimum bracketed, N_opt = {f['N_opt']:,.0f} "
                         f"(parabola vertex), {f['bpb_opt']:.4f} bits/byte")
        else:
            lines.append(f"- C = {f['budget']:.3g}: optimum NOT bracketed; best run N = "
                         f"{f['best_N']:,} at {f['best_bpb']:.4f} bits/byte (optimum on the "
                         f"{f['side']} side)")
    if "alpha" in result:
        se = f" ± {result['alpha_se']:.3f} (standard error)" if result["alpha_se"] else \
            " (two budgets: no uncertainty)"
        lines.append(f"- bits/byte at the per-budget optimum = {result['k']:.3g} x "
                     f"C^-{result['alpha']:.4f}; alpha = {result['alpha']:.4f}{se}")
    if "beta" in result:
        se = f" ± {result['beta_se']:.3f}" if result["beta_se"] else " (two budgets)"
        lines.append(f"- N_opt = {result['g']:.3g} x C^{result['beta']:.3f}{se}")
    return "\n".join(lines) + "\n"


def plot(runs, result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, f in enumerate(result["budgets"]):
        color = colors[i % len(colors)]
        rs = sorted([r for r in runs if r["budget"] == f["budget"]], key=lambda r: r["N"])
        n = [r["N"] for r in rs]
        left.plot(n, [r["bpb"] for r in rs], "o", color=color, label=f"C = {f['budget']:.3g}")
        right.plot([r["C"] for r in rs], [r["bpb"] for r in rs], "o", color=color, alpha=0.6)
        if f["coeffs"] is not None:
            u = np.linspace(math.log10(n[0]), math.log10(n[-1]), 50)
            left.plot(10**u, np.polyval(f["coeffs"], u), "-", color=color, alpha=0.7)
        if f["bracketed"]:
            left.plot(f["N_opt"], f["bpb_opt"], "*", color=color, markersize=14)
    left.set_xscale("log")
    left.set_xlabel("non-embedding parameters N")
    left.set_ylabel("val bits per byte")
    left.set_title("IsoFLOP profiles (parabola in log N; * = bracketed optimum)")
    left.legend()
    if "alpha" in result:
        c = np.array([f["budget"] for f in result["budgets"]])
        c = np.geomspace(c.min() / 1.5, c.max() * 1.5, 20)
        right.plot(c, result["k"] * c ** -result["alpha"], "k--",
                   label=f"{result['k']:.3g} C^-{result['alpha']:.3f}")
        right.legend()
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("non-embedding training FLOPs C = 6 N D")
    right.set_ylabel("val bits per byte")
    right.set_title("all runs; power law through each budget's best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", required=True, help="glassbox sweep results.csv (merged)")
    ap.add_argument("--tokens-per-byte", type=float, required=True,
                    help="val tokens / val bytes of the held-out text")
    ap.add_argument("--budgets", required=True, help="comma-separated non-embedding FLOP budgets")
    ap.add_argument("--png", help="write the figure here")
    ap.add_argument("--md", help="write the table and the fit here (Markdown)")
    ap.add_argument("--json", help="write the fitted numbers here")
    args = ap.parse_args()
    budgets = [float(b) for b in args.budgets.split(",")]
    runs = read_runs(args.results, args.tokens_per_byte, budgets)
    result = fit_all(runs, budgets)
    text = markdown(runs, result)
    print(text, end="")
    if args.md:
        with open(args.md, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, default=float)
    if args.png:
        plot(runs, result, args.png)


if __name__ == "__main__":
    main()
