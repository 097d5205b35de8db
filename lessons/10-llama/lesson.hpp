#pragma once
// Lesson 10: the three pieces that turn GPT-2's block into Llama's. The functions you write in
// exercise.cpp. Shapes: N rows (B*T folded), C channels, B batch, T positions, hs head size, H the
// MLP's inner width. Every backward ADDS (+=) into its gradients.
#include <cstdint>

namespace lesson10 {

// ---- RMSNorm (Zhang & Sennrich 2019): layernorm without the mean and without the bias ----
//   rstd[n] = 1 / sqrt(1/C sum_c x[n, c]^2 + eps),   out[n, c] = x[n, c] * rstd[n] * weight[c]
void rmsnorm_forward(double* out,           // (N, C)
                     double* rstd,          // (N)    saved for the backward
                     const double* inp,     // (N, C)
                     const double* weight,  // (C)
                     int64_t N, int64_t C, double eps);
// With xhat = x * rstd and g = dout * weight (the gradient reaching xhat), per row:
//   dinp += rstd * (g - xhat * mean_c(g * xhat)),   dweight += sum_n dout * xhat
void rmsnorm_backward(double* dinp,          // (N, C)
                      double* dweight,       // (C)
                      const double* dout,    // (N, C)
                      const double* inp,     // (N, C)
                      const double* weight,  // (C)
                      const double* rstd,    // (N)
                      int64_t N, int64_t C);

// ---- RoPE (Su et al. 2021), rotate-half form as in Hugging Face's Llama ----
// inp (B, T, W): each row holds heads of hs channels; the first n_rotated heads are turned by
// their position p = pos0 + t, the rest copied. In a head, channels i and i + hs/2 (i < hs/2) are
// one pair, turned by the angle p * theta^(-2i/hs):
//   out[i]        = x[i] cos - x[i + hs/2] sin
//   out[i + hs/2] = x[i + hs/2] cos + x[i] sin
void rope_forward(double* out,        // (B, T, W)
                  const double* inp,  // (B, T, W)
                  int64_t B, int64_t T, int64_t W, int64_t hs, int64_t n_rotated, int64_t pos0,
                  double theta);
// A rotation's inverse is its transpose: the gradient is turned back by -angle and ADDED to dinp
// (copied heads pass dout through).
void rope_backward(double* dinp,        // (B, T, W)
                   const double* dout,  // (B, T, W)
                   int64_t B, int64_t T, int64_t W, int64_t hs, int64_t n_rotated, int64_t pos0,
                   double theta);

// ---- SwiGLU (Shazeer 2020): a gated MLP activation ----
// inp (N, 2H) holds the gate g in [0, H) and the up projection u in [H, 2H):
//   out = silu(g) * u,   silu(g) = g * sigmoid(g)
void swiglu_forward(double* out,        // (N, H)
                    const double* inp,  // (N, 2H)
                    int64_t N, int64_t H);
// With s = sigmoid(g): dg += dout * u * s * (1 + g * (1 - s)),   du += dout * silu(g)
void swiglu_backward(double* dinp,        // (N, 2H)
                     const double* inp,   // (N, 2H)
                     const double* dout,  // (N, H)
                     int64_t N, int64_t H);

}  // namespace lesson10
