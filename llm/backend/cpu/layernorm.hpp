#pragma once
// defines: llm::cpu::layernorm_forward, llm::cpu::layernorm_backward
//
// Layer normalisation over the last dimension (Ba, Kiros & Hinton 2016), one row of C at a time:
//   mean = 1/C sum_c x[c]
//   var  = 1/C sum_c (x[c] - mean)^2          (biased, as in PyTorch)
//   rstd = 1 / sqrt(var + eps),  eps = 1e-5    (eps keeps a constant row from dividing by zero)
//   xhat = (x - mean) * rstd                   (zero mean, unit variance)
//   out  = xhat * weight + bias
// N is every leading dimension folded together, e.g. B*T.
#include <cstdint>

namespace llm::cpu {

constexpr double kLayerNormEps = 1e-5;

template <typename T> void layernorm_forward(T* out,           // (N, C)
                                             T* mean,          // (N)     saved for the backward
                                             T* rstd,          // (N)     saved for the backward
                                             const T* inp,     // (N, C)
                                             const T* weight,  // (C)
                                             const T* bias,    // (C)
                                             int64_t N, int64_t C);

// With g = dout * weight (the gradient reaching xhat), per row:
//   dinp   += rstd * ( g - mean_c(g) - xhat * mean_c(g * xhat) )
//   dweight += sum_n dout * xhat
//   dbias   += sum_n dout
// (the two means are the gradient flowing back through the row's mean and variance).
template <typename T> void layernorm_backward(T* dinp,          // (N, C)
                                              T* dweight,       // (C)
                                              T* dbias,         // (C)
                                              const T* dout,    // (N, C)
                                              const T* inp,     // (N, C)
                                              const T* weight,  // (C)
                                              const T* mean,    // (N)
                                              const T* rstd,    // (N)
                                              int64_t N, int64_t C);

}  // namespace llm::cpu
