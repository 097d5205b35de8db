"""The same recipe in PyTorch: nanoGPT's CPU run of shakespeare_char on the same model as glassbox
(GPT-2 blocks with biases, tanh GELU, vocabulary padded to 128), the same shards, random windows,
AdamW, warm-up + cosine, clipping. A peer for the loss glassbox reaches, measured on this machine.

    OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=1 /usr/bin/python3 experiments/shakespeare_char/train_torch.py

Prints the val loss every 250 steps (20 random batches, as nanoGPT's --eval_iters=20) and, at the
end, over the whole val split in consecutive windows, which is what `glassbox train` reports last.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "reference"))
from bench_torch import GPT  # noqa: E402  (the nanoGPT-style model with GPT-2's details)


def read_shard(path):
    header = np.fromfile(path, dtype=np.int32, count=256)
    assert header[0] == 20240520, f"{path}: not an llm.c token shard"
    dtype = np.uint16 if header[1] == 1 else np.uint32
    return np.fromfile(path, dtype=dtype, offset=1024, count=int(header[2])).astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/cache/shakespeare_char")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--bias", choices=["true", "false"], default="true",
                    help="false: biases held at 0 and not trained, as nanoGPT's bias=False")
    args = ap.parse_args()
    L, NH, C, T, B, V = 4, 4, 128, 64, 12, 65
    lr_max, lr_min, warmup, decay = 1e-3, 1e-4, 100, args.steps
    train = read_shard(os.path.join(args.data, "train_000000.bin"))
    val = read_shard(os.path.join(args.data, "val_000000.bin"))

    torch.manual_seed(args.seed)
    model = GPT(L, NH, C, T, V, 128)
    if args.bias == "false":
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                torch.nn.init.zeros_(p)
                p.requires_grad_(False)
    trained = [p for p in model.parameters() if p.requires_grad]
    decay_params = [p for p in trained if p.dim() >= 2]
    other_params = [p for p in trained if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay_params, "weight_decay": 0.1},
                             {"params": other_params, "weight_decay": 0.0}], lr=lr_max, betas=(0.9, 0.99))
    rng = np.random.default_rng(args.seed)

    def batch(data, rows):
        starts = rng.integers(0, len(data) - T, rows)
        x = np.stack([data[s:s + T] for s in starts])
        y = np.stack([data[s + 1:s + 1 + T] for s in starts])
        return torch.from_numpy(x), torch.from_numpy(y)

    @torch.no_grad()
    def val_loss_random(batches=20):
        return sum(model(*batch(val, B)).item() for _ in range(batches)) / batches

    @torch.no_grad()
    def val_loss_full():
        n = (len(val) - 1) // (B * T)
        total = 0.0
        for i in range(n):
            chunk = torch.from_numpy(val[i * B * T: (i + 1) * B * T + 1])
            total += model(chunk[:-1].view(B, T), chunk[1:].view(B, T)).item()
        return total / n

    t0 = time.time()
    for step in range(args.steps):
        if step % 250 == 0:
            print(f"step {step:5d} | val loss {val_loss_random():.4f} (20 random batches)", flush=True)
        if step < warmup:
            lr = lr_max * (step + 1) / warmup
        else:
            lr = lr_min + 0.5 * (1 + math.cos(math.pi * (step - warmup) / (decay - warmup))) * (lr_max - lr_min)
        for g in opt.param_groups:
            g["lr"] = lr
        loss = model(*batch(train, B))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 500 == 0:
            print(f"step {step:5d} | loss {loss.item():.4f} | {1e3 * (time.time() - t0) / (step + 1):.1f} ms/step", flush=True)
    print(f"step {args.steps:5d} | val loss {val_loss_random():.4f} (20 random batches)")
    print(f"final val loss {val_loss_full():.4f} (whole val split); {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
