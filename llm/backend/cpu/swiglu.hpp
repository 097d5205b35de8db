#pragma once
// defines: llm::cpu::swiglu_forward, llm::cpu::swiglu_backward
//
// SwiGLU (Shazeer 2020, "GLU Variants Improve Transformer"), the activation of Llama's MLP. The
// MLP's first matmul makes two rows of H per token, a gate g and an up projection u, side by side:
//   out = silu(g) * u,   silu(g) = g * sigmoid(g) = g / (1 + exp(-g))
// The gate decides, per channel, how much of u passes.
#include <cstdint>

namespace llm::cpu {

template <typename T> void swiglu_forward(T* out,        // (N, H)
                                          const T* inp,  // (N, 2H): gate [0, H), up [H, 2H)
                                          int64_t N, int64_t H);

// With s = sigmoid(g):  d silu(g)/dg = s (1 + g (1 - s)), so
//   dg += dout * u * s (1 + g (1 - s)),   du += dout * silu(g)
template <typename T> void swiglu_backward(T* dinp,        // (N, 2H)
                                           const T* inp,   // (N, 2H)
                                           const T* dout,  // (N, H)
                                           int64_t N, int64_t H);

}  // namespace llm::cpu
