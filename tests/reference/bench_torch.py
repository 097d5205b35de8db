"""PyTorch peer for `glassbox bench`: times one training step of the same GPT-2 shape.

    OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=1 /usr/bin/python3 tests/reference/bench_torch.py \
        --n-layer 4 --n-head 4 --n-embd 128 --block-size 64 --batch-size 12 --vocab-size 65
    python3 tests/reference/bench_torch.py --device cuda --n-layer 12 --n-head 12 --n-embd 768 \
        --block-size 1024 --batch-size 16 --vocab-size 50257 [--compile]

On a GPU the step is PyTorch 2's fast path, as nanoGPT runs it: bf16 autocast, fused causal
attention (F.scaled_dot_product_attention: FlashAttention), fused AdamW, optionally torch.compile.

A step is what a nanoGPT user runs: zero_grad, forward (logits over the padded vocabulary, loss over
the real one), backward, clip the global gradient norm at 1.0, AdamW (decay on 2-D weights). Prints
`torch ms/step: X`, the median over --steps timed steps after --warmup untimed ones.

The model here is nanoGPT's (nn.Linear, F.layer_norm, F.gelu): the fast way to write GPT-2 in
PyTorch 1.13, not the spelled-out reference in gpt2_reference.py, so the peer is a fair one.

BLAS matters more than anything else: Debian's PyTorch calls the system libblas.so.3, which is the
slow reference BLAS (~13x slower here) unless OpenBLAS is installed and selected by
update-alternatives. The script prints the BLAS library actually loaded and refuses to time the
reference BLAS unless --allow-reference-blas is given.
"""
import os

# Thread counts must be set before torch (and OpenBLAS) load. On the 2-core dev machine two
# OpenBLAS threads and one OpenMP thread were fastest; both at 2 oversubscribe and triple the time.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln_1 = nn.LayerNorm(C, eps=1e-5)
        self.c_attn = nn.Linear(C, 3 * C)
        self.attn_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C, eps=1e-5)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def attention(self, x):
        B, T, C = x.shape
        hs = C // self.NH
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.NH, hs).transpose(1, 2)  # (B, NH, T, hs)
        k = k.view(B, T, self.NH, hs).transpose(1, 2)
        v = v.view(B, T, self.NH, hs).transpose(1, 2)
        if hasattr(F, "scaled_dot_product_attention"):  # PyTorch 2: a fused (flash) kernel
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # PyTorch 1.13 (Debian's CPU build)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            att = F.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.attn_proj(y)

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, L, NH, C, block_size, V, Vp):
        super().__init__()
        self.V = V
        self.wte = nn.Embedding(Vp, C)
        self.wpe = nn.Embedding(block_size, C)
        self.h = nn.ModuleList(Block(C, NH) for _ in range(L))
        self.ln_f = nn.LayerNorm(C, eps=1e-5)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * L) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)
            elif "bias" in name:
                nn.init.zeros_(p)

    def forward(self, tokens, targets):
        B, T = tokens.shape
        x = self.wte(tokens) + self.wpe(torch.arange(T, device=tokens.device))
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()  # (B, T, Vp), tied head
        return F.cross_entropy(logits[..., : self.V].reshape(-1, self.V), targets.reshape(-1))


def loaded_blas():
    """The BLAS/LAPACK shared objects mapped into this process (after a matmul has run)."""
    a = torch.randn(64, 64)
    (a @ a).sum().item()
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            base = os.path.basename(path)
            if "blas" in base or "mkl" in base or "atlas" in base:
                libs.add(path)
    return sorted(libs)


def main():
    ap = argparse.ArgumentParser(description="PyTorch CPU training-step benchmark (glassbox peer)")
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--block-size", type=int, default=64, help="sequence length T of each step")
    ap.add_argument("--n-positions", type=int, default=0, help="learned positions (default: block size)")
    ap.add_argument("--batch-size", type=int, default=12)
    ap.add_argument("--vocab-size", type=int, default=65)
    ap.add_argument("--no-pad-vocab", action="store_true", help="do not pad the vocabulary to x128")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--grad-clip", type=float, default=1.0, help="0 turns clipping off")
    ap.add_argument("--allow-reference-blas", action="store_true")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (cuda)")
    args = ap.parse_args()
    if args.device == "cuda":
        return run(args, torch.device("cuda"))

    libs = loaded_blas()
    print(f"torch {torch.__version__}; threads: torch {torch.get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')} "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    print("blas:", ", ".join(libs) if libs else "(none found in /proc/self/maps)")
    reference = any("/blas/libblas" in p for p in libs) and not any("openblas" in p for p in libs)
    if reference and not args.allow_reference_blas:
        sys.exit("bench_torch: PyTorch is using Debian's reference BLAS (slow). Install "
                 "libopenblas0-pthread or select it with update-alternatives --config "
                 "libblas.so.3-x86_64-linux-gnu (or pass --allow-reference-blas).")
    run(args, torch.device("cpu"))


def run(args, device):
    cuda = device.type == "cuda"
    V = args.vocab_size
    Vp = V if args.no_pad_vocab else (V + 127) // 128 * 128
    T, B = args.block_size, args.batch_size
    torch.manual_seed(0)
    model = GPT(args.n_layer, args.n_head, args.n_embd, args.n_positions or T, V, Vp).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    extra = {"fused": True} if cuda else {}
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8, **extra)
    step_model = torch.compile(model) if args.compile else model
    if cuda:
        print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, bf16 autocast"
              f"{', torch.compile' if args.compile else ''}")
    n_params = sum(p.numel() for p in model.parameters()) - (Vp - V) * args.n_embd
    print(f"model: L={args.n_layer} NH={args.n_head} C={args.n_embd} T={T} B={B} V={V} Vp={Vp}; "
          f"{n_params / 1e6:.2f}M parameters")

    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, V, (B, T), generator=g).to(device)
    targets = torch.randint(0, V, (B, T), generator=g).to(device)
    times = []
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext():
            loss = step_model(tokens, targets)
        loss.backward()
        if args.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        if cuda:
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        if step >= args.warmup:
            times.append(dt)
        print(f"step {step:3d} loss {loss.item():.4f} {dt * 1e3:9.1f} ms{'  (warm-up)' if step < args.warmup else ''}",
              flush=True)
    ms = statistics.median(times) * 1e3
    print(f"tokens/s: {B * T / (ms / 1e3):.0f}")
    print(f"torch ms/step: {ms:.1f} (median; min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f})")


if __name__ == "__main__":
    main()
