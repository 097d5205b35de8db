"""Glassbox's Muon (llm/train/muon.hpp) with its AdamW groups against a PyTorch implementation.

    /usr/bin/python3 tests/reference/muon_check.py --driver build/tests/crosscheck_driver --workdir /tmp/mc

The C++ driver (tests/crosscheck_driver.cpp --optimizer muon) builds the cross-check's tiny GPT-2
(L=2, NH=2, C=32, maxT=16, V=67 padded to 128, batch 3 x 11, weights and biases randomised), saves
it, and takes `steps` optimizer steps on one batch with glassbox's own llm::Muon and llm::AdamW:
  Muon   qkvw, attprojw, fcw, fcprojw (each layer's matrix): lr 0.02, momentum 0.95, Nesterov,
         5 Newton-Schulz steps, update scaled by sqrt(max(1, rows / cols)) in nn.Linear's
         (out, in) layout
  AdamW  wte (= the tied head) and wpe at lr 3e-3 with weight decay 0.1; gains and biases at lr 2e-3
         without; betas (0.9, 0.95), eps 1e-8
every gradient multiplied by 0.5 first (as global-norm clipping would). This script loads the same
checkpoint into the PyTorch reference model (gpt2_reference.py) and runs the same steps with the
Muon written below and torch.optim.AdamW, then compares the loss before each step and every weight
after the last.

Error of a tensor: max |w_glassbox - w_torch| / max |w_torch - w_start|, i.e. relative to how far
the reference moved it. Tolerances: the Muon matrices and the losses 1e-12 in f64 (observed
~1e-14) and 1e-5 in f32 (observed ~5e-6, PyTorch f32 itself lands as far from its f64 run). The
AdamW tensors get the cross-check's tolerances (crosscheck.py), because Adam divides by sqrt(v) and
turns the rounding of tiny gradients (an unused token's embedding row) into steps of up to lr:
1e-10 in f64 (wte observed at ~2e-12), and in f32 3x PyTorch f32's own distance from its f64 run,
at least 1e-3. The key bias (c_attn.bias[C:2C], gradient 0 in exact arithmetic, see crosscheck.py)
is left out.
"""
import argparse
import math
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_reference as ref  # noqa: E402
import safetensors_io  # noqa: E402
from crosscheck import F32, raw_to_hf, Table  # noqa: E402

EMBEDDING_LR, GAIN_BIAS_LR, MUON_LR = F32(3e-3), F32(2e-3), F32(0.02)
MOMENTUM, NS_STEPS, GRAD_SCALE = F32(0.95), 5, 0.5
BETAS, EPS, WEIGHT_DECAY = (F32(0.9), F32(0.95)), F32(1e-8), F32(0.1)
MUON_SUFFIXES = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def orthogonalize(G, steps):
    """The quintic Newton-Schulz iteration, wide orientation: X <- a X + (b A + c A^2) X, A = X X^T."""
    a, b, c = 3.4445, -4.7750, 2.0315
    tall = G.size(0) > G.size(1)
    X = G.T if tall else G
    X = X / (X.norm() + 1e-7)
    for _ in range(steps):
        A = X @ X.T
        B = b * A + c * (A @ A)
        X = a * X + B @ X
    return X.T if tall else X


class ReferenceMuon:
    """Muon on matrices given in nn.Linear's (out, in) layout (views of the HF Conv1D weights)."""

    def __init__(self, params):
        self.params = params
        self.momentum = [torch.zeros_like(p.T) for p in params]

    @torch.no_grad()
    def step(self):
        for p, buf in zip(self.params, self.momentum):
            W, G = p.T, p.grad.T  # (out, in)
            buf.mul_(MOMENTUM).add_(G, alpha=1 - MOMENTUM)  # buf <- mu buf + (1 - mu) G
            U = G * (1 - MOMENTUM) + buf * MOMENTUM  # Nesterov
            O = orthogonalize(U, NS_STEPS)
            W.add_(O, alpha=-MUON_LR * math.sqrt(max(1.0, W.size(0) / W.size(1))))


def run_reference(ckpt, tokens, targets, dtype, steps):
    model = ref.load_checkpoint(ckpt, dtype=dtype)
    tok = torch.from_numpy(tokens.astype(np.int64))
    tgt = torch.from_numpy(targets.astype(np.int64))
    named = list(model.named_hf_parameters())
    muon_params = [p for n, p in named if n.endswith(MUON_SUFFIXES)]
    embeddings = [p for n, p in named if n.endswith(("wte.weight", "wpe.weight"))]
    gains_biases = [p for n, p in named if p.dim() == 1]
    assert len(muon_params) + len(embeddings) + len(gains_biases) == len(named)
    adamw = torch.optim.AdamW(
        [{"params": embeddings, "lr": EMBEDDING_LR, "weight_decay": WEIGHT_DECAY},
         {"params": gains_biases, "lr": GAIN_BIAS_LR, "weight_decay": 0.0}],
        betas=BETAS, eps=EPS, foreach=False)
    muon = ReferenceMuon(muon_params)
    losses = []
    for _ in range(steps):
        model.zero_grad(set_to_none=True)
        _, loss = model(tok, tgt)
        loss.backward()
        losses.append(loss.item())
        with torch.no_grad():
            for _, p in named:
                p.grad.mul_(GRAD_SCALE)
        adamw.step()
        muon.step()
    with torch.no_grad():
        losses.append(model(tok, tgt)[1].item())
    after = {n: p.detach().clone().numpy().astype(np.float64) for n, p in named}
    return np.array(losses), after


def check(driver, workdir, dtype_name, steps):
    out = os.path.join(workdir, f"muon_{dtype_name}")
    os.makedirs(out, exist_ok=True)
    cmd = [driver, "--out", out, "--dtype", dtype_name, "--steps", str(steps), "--optimizer", "muon"]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    ckpt = os.path.join(out, "ckpt")
    io, _ = safetensors_io.load(os.path.join(out, "io.safetensors"))
    params_raw, _ = safetensors_io.load(os.path.join(out, "params_raw.safetensors"))
    params_after, _ = safetensors_io.load(os.path.join(out, "params_after.safetensors"))
    probe = ref.load_checkpoint(ckpt, dtype=torch.float64)
    L, V, C = probe.n_layer, probe.vocab_size, probe.n_embd

    torch_dtype = torch.float32 if dtype_name == "f32" else torch.float64
    losses, after = run_reference(ckpt, io["tokens"], io["targets"], torch_dtype, steps)
    truth = run_reference(ckpt, io["tokens"], io["targets"], torch.float64, steps) if dtype_name == "f32" else None

    def prepared(d):
        d = {n: np.asarray(a, np.float64).copy() for n, a in d.items()}
        d["transformer.wte.weight"] = d["transformer.wte.weight"][:V]
        for l in range(L):
            d[f"transformer.h.{l}.attn.c_attn.bias"][C:2 * C] = 0.0  # the key bias, see above
        return d

    start = prepared(raw_to_hf(params_raw, L, V))
    mine = prepared(raw_to_hf(params_after, L, V))
    theirs = prepared(after)
    exact = prepared(truth[1]) if truth is not None else None

    def err(a, b, name):
        moved = np.abs(b[name] - start[name]).max()
        return np.abs(a[name] - b[name]).max() / moved

    table = Table(dtype_name)
    sl = np.asarray(io["step_losses"], np.float64).reshape(-1)
    table.add(f"losses over {steps} steps (+ final)", float(np.max(np.abs(sl - losses) / np.abs(losses))),
              1e-12 if dtype_name == "f64" else 1e-5,
              float(np.max(np.abs(losses - truth[0]) / np.abs(truth[0]))) if truth is not None else None)
    for name in theirs:
        is_muon = name.endswith(MUON_SUFFIXES)
        floor = err(theirs, exact, name) if exact is not None else None
        if dtype_name == "f64":
            tol = 1e-12 if is_muon else 1e-10
        elif is_muon:
            tol = 1e-5
        else:
            tol = max(1e-3, 3 * floor)
        label = ("muon  " if is_muon else "adamw ") + name.replace("transformer.", "")
        table.add(label, err(mine, theirs, name), tol, floor)
    return table.print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--driver", required=True, help="path to the crosscheck_driver executable")
    ap.add_argument("--workdir", required=True, help="scratch directory for the driver's outputs")
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = {d: check(args.driver, args.workdir, d, args.steps) for d in ("f64", "f32")}
    print()
    for d, ok in results.items():
        print(f"muon check {d}: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if all(results.values()) else 1)


if __name__ == "__main__":
    main()
