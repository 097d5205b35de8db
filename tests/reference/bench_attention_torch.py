"""PyTorch peer for `glassbox bench-attention`: causal attention TFLOP/s on a GPU, same shapes.

    python3 tests/reference/bench_attention_torch.py [--seq-lens 1024,2048,4096,8192] [--head-sizes 64,128]

F.scaled_dot_product_attention in bf16 (PyTorch picks FlashAttention-2, or cuDNN's fused attention
where it is faster), with FlashAttention's layout and FLOP count: 16k tokens per batch, 2048 channels,
4 T^2 hs per head halved by the causal mask, the backward 2.5 times the forward.
"""
import argparse
import time

import torch
import torch.nn.functional as F


def seconds_per_call(steps, call):
    call()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        call()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq-lens", default="1024,2048,4096,8192")
    ap.add_argument("--head-sizes", default="64,128")
    ap.add_argument("--tokens", type=int, default=16384)
    ap.add_argument("--channels", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}: scaled_dot_product_attention, causal, bf16")
    print(f"{'T':>6} {'hs':>4} {'B':>4} {'NH':>4} {'fwd ms':>12} {'fwd TFLOP/s':>14} {'fwd+bwd ms':>12} {'fwd+bwd TFLOP/s':>14}")
    for hs in map(int, args.head_sizes.split(",")):
        for T in map(int, args.seq_lens.split(",")):
            B, NH = max(1, args.tokens // T), args.channels // hs
            q, k, v = (torch.randn(B, NH, T, hs, device="cuda", dtype=torch.bfloat16, requires_grad=True)
                       for _ in range(3))
            dout = torch.randn(B, NH, T, hs, device="cuda", dtype=torch.bfloat16)
            forward = seconds_per_call(args.steps, lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True))
            forward_backward = seconds_per_call(
                args.steps, lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True).backward(dout))
            flops = 4.0 * T * T * hs * NH * B / 2
            print(f"{T:6d} {hs:4d} {B:4d} {NH:4d} {forward * 1e3:12.3f} {flops / forward / 1e12:14.1f} "
                  f"{forward_backward * 1e3:12.3f} {3.5 * flops / forward_backward / 1e12:14.1f}", flush=True)


if __name__ == "__main__":
    main()
