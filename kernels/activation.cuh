#pragma once
// defines: llm::cuda::activation_forward, activation_backward: the element-wise kernels of an MLP
// activation f (gelu.cu, relu2.cu), which differ only in f and f'.
//
//   forward: out = f(inp);   backward: dinp += f'(inp) * dout
//
// `Activation` is a struct with `static __device__ float value(float x)` (f) and
// `static __device__ float derivative(float x)` (f'). Element-wise over every element (all
// dimensions folded), in f32: each bf16 input is widened to f32 and each result rounded back to
// bf16 once. One thread per pack of W consecutive elements, launched by cuda::launch_elementwise
// (kernels/elementwise.cuh): W = 8 when every pointer is 16-byte aligned, W = 1 otherwise; the last
// thread takes the elements left over one at a time.
#include <cstdint>

#include "kernels/cuda_backend.hpp"
#include "kernels/device_math.cuh"
#include "kernels/elementwise.cuh"
#include "kernels/vector_access.cuh"

namespace llm::cuda {

template <typename Activation, int W>
__global__ void activation_forward_kernel(bf16* out, const bf16* inp, int64_t n) {
  const int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * W;  // first element
  if (i + W <= n) {
    float x[W], y[W];
    load_f32(x, inp + i);
#pragma unroll
    for (int k = 0; k < W; k++) y[k] = Activation::value(x[k]);
    store_bf16(out + i, y);
  } else {
    // The tail (fewer than W elements, only in the last thread); no-op for threads past the end.
    for (int64_t j = i; j < n; j++)
      out[j] = __float2bfloat16(Activation::value(__bfloat162float(inp[j])));
  }
}

template <typename Activation, int W>
__global__ void activation_backward_kernel(bf16* dinp, const bf16* inp, const bf16* dout,
                                           int64_t n) {
  const int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * W;
  if (i + W <= n) {
    float x[W], d[W], g[W];
    load_f32(x, inp + i);
    load_f32(d, dout + i);
    load_f32(g, dinp + i);
#pragma unroll
    for (int k = 0; k < W; k++) g[k] += Activation::derivative(x[k]) * d[k];
    store_bf16(dinp + i, g);
  } else {
    for (int64_t j = i; j < n; j++) {
      const float grad =
          Activation::derivative(__bfloat162float(inp[j])) * __bfloat162float(dout[j]);
      dinp[j] = __float2bfloat16(__bfloat162float(dinp[j]) + grad);
    }
  }
}

// out = f(inp), both bf16 of the same shape.
template <typename Activation>
void activation_forward(cudaStream_t stream, Tensor out, Tensor inp) {
  launch_elementwise(activation_forward_kernel<Activation, kPackWidth>,
                     activation_forward_kernel<Activation, 1>, stream, inp.numel(),
                     device_data<bf16>(out), device_data<const bf16>(inp));
}

// dinp += f'(inp) * dout, all bf16 of the same shape.
template <typename Activation>
void activation_backward(cudaStream_t stream, Tensor dinp, Tensor inp, Tensor dout) {
  launch_elementwise(activation_backward_kernel<Activation, kPackWidth>,
                     activation_backward_kernel<Activation, 1>, stream, inp.numel(),
                     device_data<bf16>(dinp), device_data<const bf16>(inp),
                     device_data<const bf16>(dout));
}

}  // namespace llm::cuda
