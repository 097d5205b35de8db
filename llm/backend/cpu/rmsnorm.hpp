#pragma once
// defines: llm::cpu::rmsnorm_forward, llm::cpu::rmsnorm_backward
//
// Root-mean-square normalisation over the last dimension (Zhang & Sennrich 2019), Llama's norm:
// layernorm without the mean and without the bias, one row of C at a time:
//   rstd = 1 / sqrt(1/C sum_c x[c]^2 + eps)
//   out  = x * rstd * weight
// N is every leading dimension folded together, e.g. B*T.
#include <cstdint>

namespace llm::cpu {

template <typename T> void rmsnorm_forward(T* out,           // (N, C)
                                           T* rstd,          // (N)     saved for the backward
                                           const T* inp,     // (N, C)
                                           const T* weight,  // (C)
                                           int64_t N, int64_t C, double eps);

// With g = dout * weight (the gradient reaching xhat = x * rstd), per row:
//   dinp    += rstd * ( g - xhat * mean_c(g * xhat) )
//   dweight += sum_n dout * xhat
// (the mean is the gradient flowing back through rstd).
template <typename T> void rmsnorm_backward(T* dinp,          // (N, C)
                                            T* dweight,       // (C)
                                            const T* dout,    // (N, C)
                                            const T* inp,     // (N, C)
                                            const T* weight,  // (C)
                                            const T* rstd,    // (N)
                                            int64_t N, int64_t C);

}  // namespace llm::cpu
