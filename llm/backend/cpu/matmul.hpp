#pragma once
// defines: llm::cpu::matmul_forward, llm::cpu::matmul_backward
//
// A linear layer in PyTorch's nn.Linear layout:  out = inp @ weight^T + bias.
// All the heavy lifting is Eigen's GEMM on row-major maps of the raw buffers; Eigen splits a large
// GEMM over the OpenMP threads by itself (and stays single-threaded inside an OpenMP region).
#include <cstdint>

namespace llm::cpu {

//   out[n,o] = sum_c inp[n,c] * weight[o,c] + bias[o]
template <typename T> void matmul_forward(T* out,           // (N, OC)
                                          const T* inp,     // (N, C)
                                          const T* weight,  // (OC, C)
                                          const T* bias,    // (OC), or nullptr for no bias
                                          int64_t N, int64_t C, int64_t OC);

//   dinp    += dout @ weight        (N, OC) x (OC, C)
//   dweight += dout^T @ inp         (OC, N) x (N, C)
//   dbias   += sum_n dout[n,:]
template <typename T>
void matmul_backward(T* dinp,          // (N, C), or nullptr to skip
                     T* dweight,       // (OC, C)
                     T* dbias,         // (OC), or nullptr when the forward had no bias
                     const T* dout,    // (N, OC)
                     const T* inp,     // (N, C)
                     const T* weight,  // (OC, C)
                     int64_t N, int64_t C, int64_t OC);

}  // namespace llm::cpu
