#pragma once
// defines: llm::cpu::gelu_forward, llm::cpu::gelu_backward
//
// GELU (Hendrycks & Gimpel 2016) in the tanh approximation GPT-2 was trained with:
//   gelu(x) = 0.5 x (1 + tanh(u)),   u = sqrt(2/pi) (x + 0.044715 x^3)
// Its derivative, with th = tanh(u) and 1 - th^2 = sech^2(u):
//   gelu'(x) = 0.5 (1 + th) + 0.5 x (1 - th^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
// Element-wise over N values (every dimension folded).
#include <cstdint>

namespace llm::cpu {

template <typename T> void gelu_forward(T* out,        // (N)
                                        const T* inp,  // (N)
                                        int64_t N);

//   dinp += dout * gelu'(inp)
template <typename T> void gelu_backward(T* dinp,        // (N)
                                         const T* inp,   // (N)
                                         const T* dout,  // (N)
                                         int64_t N);

}  // namespace llm::cpu
