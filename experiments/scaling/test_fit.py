#!/usr/bin/env python3
"""fit.py on synthetic results whose answer is known (ctest scaling_fit, label experiments).

The losses are made from a law with a chosen exponent and optimum,
    bpb(N, C) = k C^-alpha (1 + s (log10 N - log10 N_opt(C))^2),   N_opt(C) = g C^beta,
exactly quadratic in log10 N at each budget, so fit.py must give back alpha, beta and every N_opt
to rounding. A second file whose loss only falls as N shrinks must be reported as not bracketed.
"""
import csv
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALPHA, BETA, K, G, S = 0.08, 0.5, 20.0, 0.3, 0.2
BUDGETS = [1e10, 1e11, 1e12]
SIZES = [(2, c) for c in (16, 24, 32, 48, 64, 96, 128, 192)]


def n_params(n_layer, n_embd):
    return n_layer * (12 * n_embd * n_embd + 13 * n_embd) + 2 * n_embd


def write_results(path, loss_of):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["n_layer", "n_head", "n_embd", "max_steps", "final_train_loss",
                    "final_val_loss", "tokens", "flops", "seconds"])
        for c in BUDGETS:
            for n_layer, n_embd in SIZES:
                n = n_params(n_layer, n_embd)
                d = c / (6 * n)
                loss = loss_of(n, c)
                w.writerow([n_layer, 2, n_embd, 1, loss, repr(loss), repr(d), 0, 1])


def run_fit(results, out_json):
    subprocess.run([sys.executable, str(HERE / "fit.py"), "--results", str(results),
                    "--tokens-per-byte", repr(math.log(2)), "--budgets",
                    ",".join(f"{b:g}" for b in BUDGETS), "--json", str(out_json)],
                   check=True, stdout=subprocess.DEVNULL)
    return json.loads(out_json.read_text())


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    return ok


def main():
    good = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def law(n, c):
            u = math.log10(n) - math.log10(G * c**BETA)
            return K * c**-ALPHA * (1 + S * u * u)

        write_results(tmp / "law.csv", law)
        fit = run_fit(tmp / "law.csv", tmp / "law.json")
        good &= check(abs(fit["alpha"] - ALPHA) < 1e-6, f"alpha {fit['alpha']:.6f} == {ALPHA}")
        good &= check(abs(fit["beta"] - BETA) < 1e-6, f"beta {fit['beta']:.6f} == {BETA}")
        for f in fit["budgets"]:
            want = G * f["budget"] ** BETA
            good &= check(f["bracketed"] and abs(f["N_opt"] / want - 1) < 1e-6,
                          f"C={f['budget']:g}: N_opt {f.get('N_opt', 0):.1f} == {want:.1f}")

        # Smaller is always better: no optimum inside, no beta, and the side says so.
        write_results(tmp / "edge.csv", lambda n, c: K * c**-ALPHA * (1 + 0.01 * math.log10(n)))
        fit = run_fit(tmp / "edge.csv", tmp / "edge.json")
        good &= check(all(not f["bracketed"] and f["side"] == "smaller" for f in fit["budgets"]),
                      "monotone losses: every budget reported as not bracketed, optimum smaller")
        good &= check("beta" not in fit, "no N_opt law without bracketed budgets")
        good &= check(abs(fit["alpha"] - ALPHA) < 1e-6, "alpha through the best runs")
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
