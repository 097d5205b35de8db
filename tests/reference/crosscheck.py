"""Cross-check glassbox's GPT-2 against the independent PyTorch reference (gpt2_reference.py).

    /usr/bin/python3 tests/reference/crosscheck.py --driver build/tests/crosscheck_driver --workdir /tmp/cc

Three modes. f32 and f64: the C++ driver (tests/crosscheck_driver.cpp) builds a tiny GPT-2 with
glassbox (L=2, NH=2, C=32, maxT=16, V=67 padded to Vp=128, batch 3 x 11 tokens) in that precision,
initialises it from a fixed seed (then biases, gains and weight scale randomised so no op is near
its trivial regime) and PyTorch loads glassbox's checkpoint. import: PyTorch writes a checkpoint of
another shape (L=1, NH=4, C=16, maxT=12, V=50) and glassbox (f64) loads it. The driver writes into
WORKDIR/<mode>/:
  ckpt/                     save_model_checkpoint: config.json + model.safetensors (HF names)
  io.safetensors            tokens, targets (B, T) i32; logits (B, T, Vp) of the forward pass;
                            loss (mean of acts.losses, in double); step_losses (steps + 1): the loss
                            before each of `steps` AdamW steps on the same batch, then after the last
  grads.safetensors         export_hf_tensors(model.grads): HF names and layout
  grads_raw.safetensors     the gradients under glassbox names and layout, in the backend's dtype
  params_raw.safetensors    the initial weights under glassbox names, in the backend's dtype
  params_after.safetensors  the weights after the AdamW steps
This script loads the same checkpoint into the reference, runs the same batch and the same AdamW
(torch.optim.AdamW, decay on the 2-D weights only) and compares. It prints a table and exits 1 when
any row is over its tolerance.

Errors are "max abs error / max abs value of the reference" over a whole tensor: a relative error per
element would blow up on entries that are near zero by cancellation, where both sides only agree to
the f32 rounding of the larger terms they were summed from.

Tolerances (f32): glassbox (Eigen GEMM, its own summation order) and PyTorch (OpenBLAS) round
differently, so each is compared with the float64 reference too; the "torch f32" column shows the
error PyTorch itself makes in f32, i.e. the noise floor glassbox should sit near.
  logits, loss     1e-5   a forward pass of 2 layers loses a few ulps (f32 eps = 6e-8) per op
  gradients        1e-4   the backward sums over B*T = 33 positions and through softmax/layernorm
                          Jacobians, which amplify rounding in the small entries; 1e-4 of the
                          largest gradient is still ~100x below any real bug (a wrong transpose,
                          a missing 1/sqrt(hs) or a dropped bias gives errors of order 1)
  step losses      1e-5   relative to the loss; Adam's first steps are sign-like (m / sqrt(v) ~ +-1),
                          so per-element rounding does not compound over 10 steps
  weights after    2e-3   of lr * steps, the most Adam can move a weight. Some gradients are zero
                          in exact arithmetic but not in floating point (the key bias: softmax
                          ignores a constant added to a row of scores) or tiny (~eps = 1e-8);
                          Adam divides by sqrt(v) and turns that rounding noise into steps of up
                          to ~lr. PyTorch f32 itself lands ~5e-4 away from f64 here. The f64
                          run (1e-10) is the precise check of the optimizer (weight decay, bias
                          corrections, decay groups). The tolerance is raised to 3x PyTorch f32's
                          own distance from f64 when that is larger; the key bias is left out
                          (see check_mode)
Tolerances (f64): 1e-10 everywhere (observed errors are ~1e-14..1e-15). The driver rounds its
starting weights to f32 values, so the checkpoint matches the model exactly whether it is written in
f32 or f64; grads.safetensors written in f32 from the f64 run is compared at 1e-6, its rounding.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_reference as ref  # noqa: E402
import safetensors_io  # noqa: E402

# Glassbox's own hyperparameters are C++ floats: use the same float32-rounded values here, or the
# f64 run would differ by lr's rounding (1e-3f = 1.00000005e-3) instead of by arithmetic.
F32 = lambda x: float(np.float32(x))  # noqa: E731
ADAMW = dict(lr=F32(1e-3), betas=(F32(0.9), F32(0.95)), eps=F32(1e-8), weight_decay=F32(0.1))

TOLERANCES = {
    "f32": dict(logits=1e-5, loss=1e-5, grads=1e-4, steps=1e-5, params=2e-3, export=1e-6),
    "f64": dict(logits=1e-10, loss=1e-10, grads=1e-10, steps=1e-10, params=1e-10, export=1e-6),
}

# glassbox tensor name -> (HF name pattern, transposed?) ; layer tensors have "{l}"
GLASSBOX_TO_HF = [
    ("wte", "transformer.wte.weight", False),
    ("wpe", "transformer.wpe.weight", False),
    ("ln1w", "transformer.h.{l}.ln_1.weight", False),
    ("ln1b", "transformer.h.{l}.ln_1.bias", False),
    ("qkvw", "transformer.h.{l}.attn.c_attn.weight", True),
    ("qkvb", "transformer.h.{l}.attn.c_attn.bias", False),
    ("qnormw", "transformer.h.{l}.attn.q_norm.weight", False),
    ("knormw", "transformer.h.{l}.attn.k_norm.weight", False),
    ("attprojw", "transformer.h.{l}.attn.c_proj.weight", True),
    ("attprojb", "transformer.h.{l}.attn.c_proj.bias", False),
    ("ln2w", "transformer.h.{l}.ln_2.weight", False),
    ("ln2b", "transformer.h.{l}.ln_2.bias", False),
    ("fcw", "transformer.h.{l}.mlp.c_fc.weight", True),
    ("fcb", "transformer.h.{l}.mlp.c_fc.bias", False),
    ("fcprojw", "transformer.h.{l}.mlp.c_proj.weight", True),
    ("fcprojb", "transformer.h.{l}.mlp.c_proj.bias", False),
    ("lnfw", "transformer.ln_f.weight", False),
    ("lnfb", "transformer.ln_f.bias", False),
    ("lm_head", "lm_head.weight", False),
]
VOCABULARY_TABLES = ("transformer.wte.weight", "lm_head.weight")  # (V, C) in files, (Vp, C) in models


def raw_to_hf(raw, n_layer, vocab_size):
    """glassbox-named arrays (layers stacked, nn.Linear (out, in) layout, wte padded) -> HF dict."""
    out = {}
    for name, hf, transposed in GLASSBOX_TO_HF:
        if name not in raw:  # a tensor this architecture does not have
            continue
        t = raw[name]
        if "{l}" in hf:
            for l in range(n_layer):
                out[hf.format(l=l)] = t[l].T if transposed else t[l]
        elif name in ("wte", "lm_head"):
            out[hf] = t[:vocab_size]
        else:
            out[hf] = t
    return out


def stored_dtype(tensors):
    return "/".join(sorted({str(a.dtype) for a in tensors.values()}))


def export_tol(tensors, tol):
    """An export in f64 must be exact; one in f32 loses the f32 rounding of an f64 model."""
    return 1e-15 if all(a.dtype == np.float64 for a in tensors.values()) else tol["export"]


def rel_err(a, b):
    """max |a - b| / max |b| (b the reference); 0 when both are all zeros."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scale = np.abs(b).max() if b.size else 0.0
    diff = np.abs(a - b).max() if b.size else 0.0
    return diff / scale if scale > 0 else diff


class Table:
    def __init__(self, mode):
        self.mode = mode
        self.rows = []

    def add(self, what, err, tol, floor=None):
        self.rows.append((what, err, tol, floor))

    def print(self):
        ok = True
        floor_head = "torch f32 vs f64" if self.mode.startswith("f32") else ""
        title = "f64, weights from a PyTorch checkpoint" if self.mode == "import" else self.mode
        print(f"\n== glassbox {title} vs PyTorch reference ==")
        print(f"{'quantity':<52} {'max rel err':>12} {'tolerance':>10} {floor_head:>17}  result")
        for what, err, tol, floor in self.rows:
            passed = bool(np.isfinite(err) and err <= tol)
            ok &= passed
            f = f"{floor:17.2e}" if floor is not None else " " * 17
            print(f"{what:<52} {err:12.2e} {tol:10.0e} {f}  {'ok' if passed else 'FAIL'}")
        return ok


def run_reference(ckpt, tokens, targets, dtype, steps):
    """Logits, loss, HF-named grads, step losses and final params of the reference in `dtype`."""
    model = ref.load_checkpoint(ckpt, dtype=dtype)
    tok = torch.from_numpy(tokens.astype(np.int64))
    tgt = torch.from_numpy(targets.astype(np.int64))
    logits, loss = model(tok, tgt)
    loss.backward()
    grads = {n: p.grad.detach().clone().numpy() for n, p in model.named_hf_parameters()}
    out = dict(logits=logits.detach().numpy(), loss=loss.item(), grads=grads)

    model.zero_grad(set_to_none=True)
    opt = torch.optim.AdamW(ref.decay_groups(model, ADAMW["weight_decay"]), lr=ADAMW["lr"],
                            betas=ADAMW["betas"], eps=ADAMW["eps"], foreach=False)
    losses = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        _, loss = model(tok, tgt)
        loss.backward()
        losses.append(loss.item())
        opt.step()
    with torch.no_grad():
        losses.append(model(tok, tgt)[1].item())
    out["step_losses"] = np.array(losses)
    out["params_after"] = {n: p.detach().clone().numpy() for n, p in model.named_hf_parameters()}
    return out


def grouped_errors(mine, theirs, names):
    """max error per glassbox tensor name (layers folded together)."""
    errs = {}
    for hf in names:
        key = hf.replace("transformer.", "")
        for name, pattern, _ in GLASSBOX_TO_HF:
            p = pattern.replace("transformer.", "")
            if "{l}" in p:
                head, tail = p.split("{l}")
                match = key.startswith(head) and key.endswith(tail) and key[len(head):-len(tail)].isdigit()
            else:
                match = key == p
            if match:
                break
        else:
            raise KeyError(hf)
        errs.setdefault(name, []).append((mine[hf], theirs[hf]))
    # one scale per glassbox tensor: the max over its layers, as the tensor is one arena block
    result = {}
    for name, pairs in errs.items():
        scale = max(np.abs(np.asarray(b, np.float64)).max() for _, b in pairs)
        diff = max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max() for a, b in pairs)
        result[name] = diff / scale if scale > 0 else diff
    return result


def write_python_checkpoint(directory):
    """The import direction: a checkpoint written here, in another shape (L=1, NH=4, C=16, maxT=12,
    V=50), with random biases and gains and weights rounded to f32 (the file is f32)."""
    model = ref.GPT2Reference(n_layer=1, n_head=4, n_embd=16, n_positions=12, vocab_size=50,
                              dtype=torch.float64)
    model.init_weights(seed=7)
    g = torch.Generator().manual_seed(8)
    with torch.no_grad():
        for name, p in model.named_hf_parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            else:
                p.mul_(5.0)
        model.p("transformer.wte.weight")[model.vocab_size:].zero_()
    ref.save_checkpoint(model, directory)
    return safetensors_io.load(os.path.join(directory, "model.safetensors"))[0]


def check_mode(driver, workdir, mode, steps):
    """mode f32 / f64: glassbox initialises and saves, PyTorch loads. mode import: PyTorch writes a
    checkpoint, glassbox (f64) loads it (config.json + model.safetensors), then the same comparison.
    f32:ARCH / f64:ARCH: the same as f32 / f64 with the driver's --arch ARCH (an architecture switch
    of glassbox's config, or "llama" for all of them)."""
    precision, _, arch = mode.partition(":")
    out = os.path.join(workdir, mode.replace(":", "_"))
    os.makedirs(out, exist_ok=True)
    cmd = [driver, "--out", out, "--dtype", "f32" if precision == "f32" else "f64", "--steps", str(steps)]
    if arch:
        cmd += ["--arch", arch]
    python_ckpt = None
    if mode == "import":
        python_ckpt = write_python_checkpoint(os.path.join(out, "python_ckpt"))
        cmd += ["--init-from", os.path.join(out, "python_ckpt")]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)

    ckpt = os.path.join(out, "ckpt")
    io, _ = safetensors_io.load(os.path.join(out, "io.safetensors"))
    grads_hf, _ = safetensors_io.load(os.path.join(out, "grads.safetensors"))
    grads_raw, _ = safetensors_io.load(os.path.join(out, "grads_raw.safetensors"))
    params_raw, _ = safetensors_io.load(os.path.join(out, "params_raw.safetensors"))
    params_after, _ = safetensors_io.load(os.path.join(out, "params_after.safetensors"))
    ckpt_tensors, _ = safetensors_io.load(os.path.join(ckpt, "model.safetensors"))
    with open(os.path.join(ckpt, "config.json")) as f:
        ckpt_config = json.load(f)
    if ckpt_config.get("model_type") == "llama":  # a Llama-style model is saved as LlamaForCausalLM
        ckpt_tensors = ref.llama_tensors_to_glassbox(ckpt_tensors, ckpt_config["num_hidden_layers"])
    tokens, targets = io["tokens"], io["targets"]

    torch_dtype = torch.float32 if precision == "f32" else torch.float64  # import runs in f64
    model_probe = ref.load_checkpoint(ckpt, dtype=torch.float64)
    L, V, Vp = model_probe.n_layer, model_probe.vocab_size, model_probe.padded_vocab_size
    tol = TOLERANCES["f32" if precision == "f32" else "f64"]
    table = Table(mode)
    m = model_probe
    print(f"config: L={L} NH={m.n_head} NKV={m.n_kv_head} C={m.n_embd} maxT={m.n_positions} "
          f"V={V} Vp={Vp} norm={m.norm} position={m.position} mlp={m.mlp} H={m.mlp_hidden} "
          f"tied={m.tie_embeddings} bias={m.bias} qk_norm={m.qk_norm}; "
          f"batch {tokens.shape[0]} x {tokens.shape[1]}; "
          f"{steps} AdamW steps")

    # 0. the checkpoint holds exactly the model's weights (HF names, Conv1D transposes, wte unpadded)
    raw_hf = raw_to_hf(params_raw, L, V)
    if python_ckpt is not None:
        table.add("glassbox's weights == PyTorch's checkpoint",
                  max(rel_err(raw_hf[n], python_ckpt[n]) for n in raw_hf), 1e-15)
        if Vp > V:
            table.add("padded wte rows after import (max |w|, must be 0)",
                      float(np.abs(params_raw["wte"][V:]).max()), 0.0)
    export_err = max(rel_err(ckpt_tensors[n], raw_hf[n]) for n in raw_hf)
    table.add(f"checkpoint ({stored_dtype(ckpt_tensors)}) == model weights", export_err, export_tol(ckpt_tensors, tol))
    missing = sorted(set(raw_hf) - set(ckpt_tensors)) + sorted(set(ckpt_tensors) - set(raw_hf))
    table.add("checkpoint tensor names (count mismatching)", float(len(missing)), 0.0)
    if missing:
        print("  names only on one side:", missing[:8])
    pad_rows = np.abs(params_raw["wte"][V:]).max() if Vp > V else 0.0
    print(f"  (info) glassbox's padded wte rows V..Vp after init_weights: max |w| = {pad_rows:.3g}")

    mine = run_reference(ckpt, tokens, targets, torch_dtype, steps)
    truth = run_reference(ckpt, tokens, targets, torch.float64, steps) if precision == "f32" else None
    fl = lambda key_fn: key_fn(mine, truth) if truth is not None else None  # noqa: E731

    # 1. forward
    logits = io["logits"]
    table.add("logits (first V columns)", rel_err(logits[..., :V], mine["logits"][..., :V]), tol["logits"],
              fl(lambda m, t: rel_err(m["logits"][..., :V], t["logits"][..., :V])))
    if Vp > V:
        pad_logit = np.abs(logits[..., V:]).max()
        print(f"  (info) glassbox logits in the padded columns: max |logit| = {pad_logit:.3g}")
    gl_loss = float(io["loss"].reshape(-1)[0])
    table.add("loss", abs(gl_loss - mine["loss"]) / abs(mine["loss"]), tol["loss"],
              fl(lambda m, t: abs(m["loss"] - t["loss"]) / abs(t["loss"])))
    if "loss_returned" in io:  # GPT::forward returns a float, so f32 rounding at best
        r = float(io["loss_returned"].reshape(-1)[0])
        table.add("loss returned by GPT::forward (a float)", abs(r - mine["loss"]) / abs(mine["loss"]),
                  max(tol["loss"], 1e-6))

    # 2. gradients, as exported in HF layout (f32) and raw in the backend's dtype
    names = list(mine["grads"].keys())
    ref_grads = {n: g[:V] if n in VOCABULARY_TABLES else g for n, g in mine["grads"].items()}
    truth_grads = None
    if truth is not None:
        truth_grads = {n: g[:V] if n in VOCABULARY_TABLES else g for n, g in truth["grads"].items()}
    raw_grads_hf = raw_to_hf(grads_raw, L, V)
    errs_raw = grouped_errors(raw_grads_hf, ref_grads, names)
    errs_floor = grouped_errors(ref_grads, truth_grads, names) if truth_grads else {}
    for name, _, _ in GLASSBOX_TO_HF:
        if name in errs_raw:
            table.add(f"grad {name}", errs_raw[name], tol["grads"], errs_floor.get(name))
    table.add(f"grads.safetensors ({stored_dtype(grads_hf)}) vs raw grads",
              max(rel_err(grads_hf[n], raw_grads_hf[n]) for n in names), export_tol(grads_hf, tol))
    if Vp > V:
        table.add("grad of padded wte rows (max |g|, must be 0)", float(np.abs(grads_raw["wte"][V:]).max()), 0.0)

    # 3. AdamW steps
    sl = np.asarray(io["step_losses"], np.float64).reshape(-1)
    rs = mine["step_losses"]
    table.add(f"losses over {steps} AdamW steps (+ final)", float(np.max(np.abs(sl - rs) / np.abs(rs))),
              tol["steps"], fl(lambda m, t: float(np.max(np.abs(m["step_losses"] - t["step_losses"])
                                                         / np.abs(t["step_losses"])))))
    # Weights after the steps, as max |w_glassbox - w_torch| / (lr * steps): Adam moves each weight by
    # at most about lr per step, so this is the error as a fraction of the largest possible movement.
    # (Relative to |w| it is meaningless for biases that start near 0.) The key bias, c_attn.bias
    # [C:2C], is left out: it adds q.b_k to every score of a softmax row, which softmax ignores, so
    # its gradient is 0 in exact arithmetic and ~1e-19 (f64) / ~1e-9 (f32) of rounding noise in both
    # implementations, which Adam, dividing by sqrt(v) + eps, turns into different steps.
    C = model_probe.n_embd
    KV = model_probe.n_kv_head * (C // model_probe.n_head)  # the key bias is qkvb[C : C + KV]
    after_hf = raw_to_hf(params_after, L, V)
    movement = ADAMW["lr"] * steps

    def without_key_bias(d):
        d = {n: np.asarray(a, np.float64) for n, a in d.items()}
        for n in VOCABULARY_TABLES:
            if n in d:
                d[n] = d[n][:V]
        for l in range(L):
            key = f"transformer.h.{l}.attn.c_attn.bias"
            if key in d:
                b = d[key].copy()
                b[C:C + KV] = 0.0
                d[key] = b
        return d

    def after_err(a, b):
        a, b = without_key_bias(a), without_key_bias(b)
        return max(np.abs(a[n] - b[n]).max() for n in names) / movement

    floor_after = after_err(mine["params_after"], truth["params_after"]) if truth is not None else None
    # In f32 some weights have gradients near f32 noise or below eps (an unused token's embedding row
    # gets ~1e-9), so even PyTorch f32 lands ~5e-3 from exact; allow 3x PyTorch's own distance.
    params_tol = tol["params"] if floor_after is None else max(tol["params"], 3 * floor_after)
    table.add(f"weights after {steps} steps, max|dw|/(lr*steps)", after_err(after_hf, mine["params_after"]),
              params_tol, floor_after)
    if "qkvb" in params_raw:
        key_move = max(np.abs(params_after["qkvb"][l][C:C + KV] - params_raw["qkvb"][l][C:C + KV]).max()
                       for l in range(L)) / movement
        key_grad = max(np.abs(grads_raw["qkvb"][l][C:C + KV]).max() for l in range(L))
        print(f"  (info) key bias (gradient 0 in exact arithmetic): glassbox max |grad| {key_grad:.1e}; "
              f"it moved up to {key_move:.1e} x lr*steps (rounding noise amplified by Adam)")

    # A wrong overall gradient scale (e.g. 1/(B*T) rounded to f32) shows in every tensor at once.
    g_all = np.concatenate([np.asarray(raw_grads_hf[n], np.float64).ravel() for n in names])
    t_all = np.concatenate([np.asarray(ref_grads[n], np.float64).ravel() for n in names])
    k = float(g_all @ t_all / (t_all @ t_all))
    resid = np.abs(g_all - k * t_all).max() / np.abs(t_all).max()
    n_bt = tokens.size
    f32_scale = float(np.float32(1.0 / n_bt)) * n_bt - 1.0
    print(f"  (info) glassbox grads = torch grads x (1 {k - 1:+.3e}); residual after that scale {resid:.1e}"
          f"  [float32(1/(B*T))*(B*T) - 1 = {f32_scale:+.3e}]")

    print("  step   glassbox loss          torch loss")
    for i, (a, b) in enumerate(zip(sl, rs)):
        print(f"  {i:4d}   {a:.15f}   {b:.15f}")
    return table.print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--driver", required=True, help="path to the crosscheck_driver executable")
    ap.add_argument("--workdir", required=True, help="scratch directory for the driver's outputs")
    ap.add_argument("--modes", default="f32,f64,import",
                    help="comma-separated: f32, f64, import (PyTorch writes the checkpoint, glassbox f64 "
                         "loads it), f32:ARCH or f64:ARCH (ARCH: rmsnorm, rope, swiglu, relu2, gqa, untied, "
                         "nobias, llama)")
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = {m: check_mode(args.driver, args.workdir, m, args.steps) for m in args.modes.split(",")}
    print()
    for m, ok in results.items():
        print(f"cross-check {m}: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if all(results.values()) else 1)


if __name__ == "__main__":
    main()
