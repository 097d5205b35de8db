// CudaBackend::gelu_forward, gelu_backward: GELU in the tanh approximation GPT-2 was trained with.
// CPU twin: llm/backend/cpu/gelu.cpp (the formulas are in llm/backend/cpu/gelu.hpp).
//
//   gelu(x)  = 0.5 x (1 + th),   th = tanh(u),   u = sqrt(2/pi) (x + 0.044715 x^3)
//   gelu'(x) = 0.5 (1 + th) + 0.5 x (1 - th^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
//   forward: out = gelu(inp);   backward: dinp += gelu'(inp) * dout
//
// Element-wise over every element (all dimensions folded), in f32 with the accurate tanhf (the op
// is memory-bound, so the exact tanh costs nothing): each bf16 input is widened to f32 and each
// result rounded back to bf16 once. One thread per pack of W consecutive elements, launched by
// cuda::launch_elementwise (kernels/elementwise.cuh): W = 8 when every pointer is 16-byte aligned,
// W = 1 otherwise; the last thread takes the elements left over one at a time.
#include <cstdint>

#include "kernels/cuda_backend.hpp"
#include "kernels/device_math.cuh"
#include "kernels/elementwise.cuh"
#include "kernels/vector_access.cuh"

namespace llm {
namespace {

using cuda::bf16;
using cuda::load_f32;
using cuda::store_bf16;

constexpr float kSqrt2OverPi = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kCubic = 0.044715f;                  // GPT-2's cubic coefficient

__device__ float gelu(float x) {
  const float th = tanhf(kSqrt2OverPi * (x + kCubic * x * x * x));
  return 0.5f * x * (1.0f + th);
}

__device__ float gelu_derivative(float x) {
  const float th = tanhf(kSqrt2OverPi * (x + kCubic * x * x * x));
  return 0.5f * (1.0f + th) +
         0.5f * x * (1.0f - th * th) * kSqrt2OverPi * (1.0f + 3.0f * kCubic * x * x);
}

template <int W> __global__ void gelu_forward_kernel(bf16* out, const bf16* inp, int64_t n) {
  const int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * W;  // first element
  if (i + W <= n) {
    float x[W], y[W];
    load_f32(x, inp + i);
#pragma unroll
    for (int k = 0; k < W; k++) y[k] = gelu(x[k]);
    store_bf16(out + i, y);
  } else {
    // The tail (fewer than W elements, only in the last thread); no-op for threads past the end.
    for (int64_t j = i; j < n; j++) out[j] = __float2bfloat16(gelu(__bfloat162float(inp[j])));
  }
}

template <int W>
__global__ void gelu_backward_kernel(bf16* dinp, const bf16* inp, const bf16* dout, int64_t n) {
  const int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * W;
  if (i + W <= n) {
    float x[W], d[W], g[W];
    load_f32(x, inp + i);
    load_f32(d, dout + i);
    load_f32(g, dinp + i);
#pragma unroll
    for (int k = 0; k < W; k++) g[k] += gelu_derivative(x[k]) * d[k];
    store_bf16(dinp + i, g);
  } else {
    for (int64_t j = i; j < n; j++) {
      const float grad = gelu_derivative(__bfloat162float(inp[j])) * __bfloat162float(dout[j]);
      dinp[j] = __float2bfloat16(__bfloat162float(dinp[j]) + grad);
    }
  }
}

}  // namespace

void CudaBackend::gelu_forward(Tensor out, Tensor inp) {
  check_gelu_forward(*this, out, inp);
  cuda::launch_elementwise(gelu_forward_kernel<cuda::kPackWidth>, gelu_forward_kernel<1>, stream_,
                           inp.numel(), cuda::device_data<bf16>(out),
                           cuda::device_data<const bf16>(inp));
}

void CudaBackend::gelu_backward(Tensor dinp, Tensor inp, Tensor dout) {
  check_gelu_backward(*this, dinp, inp, dout);
  cuda::launch_elementwise(gelu_backward_kernel<cuda::kPackWidth>, gelu_backward_kernel<1>, stream_,
                           inp.numel(), cuda::device_data<bf16>(dinp),
                           cuda::device_data<const bf16>(inp), cuda::device_data<const bf16>(dout));
}

}  // namespace llm
