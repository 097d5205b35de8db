"""Checks the PyTorch reference itself, before it is trusted to judge glassbox.

1. each hand-written op against PyTorch's built-in (float64): layernorm, tanh GELU, cross-entropy,
   and the vectorised causal attention against a loop over (batch, head, query) positions;
2. torch.autograd.gradcheck of the loss w.r.t. every parameter on a tiny model (float64);
3. padding: the padded wte rows get zero gradient and do not change the loss;
4. round trips: safetensors_io (F32/F64/I32), and a checkpoint directory save -> load.
Exits non-zero on the first failure. Run with /usr/bin/python3 (Debian's torch).
"""
import math
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_reference as ref  # noqa: E402
import safetensors_io  # noqa: E402

failures = []


def expect(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name} {detail}")
    if not ok:
        failures.append(name)


def max_err(a, b):
    return (a - b).abs().max().item()


def check_ops():
    g = torch.Generator().manual_seed(1)
    d = torch.float64
    x = torch.randn(3, 5, 16, generator=g, dtype=d)
    w, b = torch.randn(16, generator=g, dtype=d), torch.randn(16, generator=g, dtype=d)
    e = max_err(ref.layernorm(x, w, b), F.layer_norm(x, (16,), w, b, eps=1e-5))
    expect("layernorm == F.layer_norm", e < 1e-12, f"max err {e:.2e}")
    y = torch.randn(1000, generator=g, dtype=d) * 4
    e = max_err(ref.gelu_tanh(y), F.gelu(y, approximate="tanh"))
    expect("gelu_tanh == F.gelu(approximate='tanh')", e < 1e-12, f"max err {e:.2e}")
    logits = torch.randn(20, 67, generator=g, dtype=d) * 3
    targets = torch.randint(0, 67, (20,), generator=g)
    e = abs(ref.cross_entropy(logits, targets).item() - F.cross_entropy(logits, targets).item())
    expect("cross_entropy == F.cross_entropy", e < 1e-12, f"err {e:.2e}")

    # attention against the definition, one query position at a time
    B, T, C, NH = 2, 7, 12, 3
    hs = C // NH
    qkv = torch.randn(B, T, 3 * C, generator=g, dtype=d)
    out = ref.causal_self_attention(qkv, NH)
    naive = torch.zeros(B, T, C, dtype=d)
    for bi in range(B):
        for h in range(NH):
            for t in range(T):
                q = qkv[bi, t, h * hs:(h + 1) * hs]
                ks = qkv[bi, : t + 1, C + h * hs: C + (h + 1) * hs]
                vs = qkv[bi, : t + 1, 2 * C + h * hs: 2 * C + (h + 1) * hs]
                s = torch.tensor([float(q @ k) / math.sqrt(hs) for k in ks], dtype=d)
                pr = torch.softmax(s, dim=0)
                naive[bi, t, h * hs:(h + 1) * hs] = (pr[:, None] * vs).sum(0)
    e = max_err(out, naive)
    expect("causal attention == per-position loop", e < 1e-12, f"max err {e:.2e}")


def tiny_model(dtype=torch.float64, seed=0):
    m = ref.GPT2Reference(n_layer=2, n_head=2, n_embd=8, n_positions=6, vocab_size=5, dtype=dtype)
    m.init_weights(seed)
    with torch.no_grad():  # make biases and gains non-trivial so their gradients are exercised
        g = torch.Generator().manual_seed(seed + 1)
        for name, p in m.named_hf_parameters():
            if p.dim() == 1:
                p.add_(torch.randn(p.shape, generator=g, dtype=torch.float64).to(dtype) * 0.1)
            else:
                p.mul_(10.0)  # larger weights: a less linear function, a sharper test
        m.p("transformer.wte.weight")[m.vocab_size:].zero_()
    return m


def check_gradcheck():
    m = tiny_model()
    tokens = torch.tensor([[0, 3, 1, 4, 2], [2, 2, 0, 1, 3]])
    targets = torch.tensor([[3, 1, 4, 2, 0], [2, 0, 1, 3, 4]])
    names = [n for n, _ in m.named_hf_parameters()]
    base = [p.detach().clone() for _, p in m.named_hf_parameters()]
    # leave the 123 padded wte rows out of the finite differences (checked separately below)
    V = m.vocab_size
    inputs = [b.clone().requires_grad_(True) for b in base]
    inputs[0] = base[0][:V].clone().requires_grad_(True)

    def loss_of(*params):
        saved = dict(zip(names, params))
        saved[names[0]] = torch.cat([saved[names[0]], base[0][V:]], dim=0)
        # a functional forward: swap the module's parameters for these tensors
        orig = {}
        for n in names:
            attr = n.replace(".", "__")
            orig[attr] = m._parameters[attr]
            m._parameters[attr] = saved[n]
        try:
            _, loss = m(tokens, targets)
        finally:
            for attr, p in orig.items():
                m._parameters[attr] = p
        return loss

    ok = torch.autograd.gradcheck(loss_of, tuple(inputs), eps=1e-6, atol=1e-7, rtol=1e-5,
                                  raise_exception=False)
    expect("gradcheck of the loss w.r.t. every parameter (float64)", ok,
           f"({sum(i.numel() for i in inputs)} inputs)")


def check_padding():
    m = tiny_model()
    tokens = torch.tensor([[0, 3, 1, 4, 2]])
    targets = torch.tensor([[3, 1, 4, 2, 0]])
    _, loss = m(tokens, targets)
    loss.backward()
    g = m.p("transformer.wte.weight").grad
    expect("padded wte rows get exactly zero gradient", bool((g[m.vocab_size:] == 0).all()))
    with torch.no_grad():
        m.p("transformer.wte.weight")[m.vocab_size:].normal_()
        _, loss2 = m(tokens, targets)
    expect("padded wte rows do not change the loss", loss.item() == loss2.item(),
           f"{loss.item()!r} vs {loss2.item()!r}")


def check_roundtrips():
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        arrays = {
            "a": rng.standard_normal((3, 4)).astype(np.float32),
            "b": rng.standard_normal((5,)).astype(np.float64),
            "c": rng.integers(-5, 100, (2, 3, 2)).astype(np.int32),
            "scalar": np.array(1.5, dtype=np.float64),
        }
        path = os.path.join(tmp, "t.safetensors")
        safetensors_io.save(path, arrays, {"k": "v"})
        back, meta = safetensors_io.load(path)
        ok = meta == {"k": "v"} and all(
            back[k].dtype == v.dtype and back[k].shape == v.shape and np.array_equal(back[k], v)
            for k, v in arrays.items())
        expect("safetensors_io round trip (F32, F64, I32, scalar)", ok)

        m = ref.GPT2Reference(n_layer=2, n_head=2, n_embd=16, n_positions=8, vocab_size=67)
        m.init_weights(3)
        ref.save_checkpoint(m, os.path.join(tmp, "ckpt"))
        m2 = ref.load_checkpoint(os.path.join(tmp, "ckpt"))
        same = all(torch.equal(a, b) for (_, a), (_, b) in zip(m.named_hf_parameters(), m2.named_hf_parameters()))
        tensors, _ = safetensors_io.load(os.path.join(tmp, "ckpt", "model.safetensors"))
        expect("checkpoint save -> load gives identical parameters", same)
        expect("model.safetensors holds wte unpadded (V, C) and Conv1D (in, out) layouts",
               tensors["transformer.wte.weight"].shape == (67, 16)
               and tensors["transformer.h.0.attn.c_attn.weight"].shape == (16, 48)
               and tensors["transformer.h.1.mlp.c_proj.weight"].shape == (64, 16)
               and m2.padded_vocab_size == 128)


if __name__ == "__main__":
    torch.set_num_threads(1)
    check_ops()
    check_padding()
    check_roundtrips()
    check_gradcheck()
    if failures:
        print(f"{len(failures)} check(s) failed: {failures}")
        sys.exit(1)
    print("reference self-test passed")
