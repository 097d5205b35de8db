// CudaBackend::relu2_forward, relu2_backward: the squared ReLU of modded-nanogpt's and nanochat's
// MLP. CPU twin: llm/backend/cpu/relu2.cpp.
//
//   relu2(x)  = max(x, 0)^2,   relu2'(x) = 2 max(x, 0)
//   forward: out = relu2(inp);   backward: dinp += relu2'(inp) * dout
//
// Element-wise over every element (all dimensions folded), in f32: each bf16 input is widened to
// f32 and each result rounded back to bf16 once. One thread per pack of W consecutive elements,
// launched by cuda::launch_elementwise (kernels/elementwise.cuh): W = 8 when every pointer is
// 16-byte aligned, W = 1 otherwise; the last thread takes the elements left over one at a time.
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

__device__ float relu2(float x) {
  const float r = fmaxf(x, 0.0f);
  return r * r;
}

__device__ float relu2_derivative(float x) { return 2.0f * fmaxf(x, 0.0f); }

template <int W> __global__ void relu2_forward_kernel(bf16* out, const bf16* inp, int64_t n) {
  const int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * W;  // first element
  if (i + W <= n) {
    float x[W], y[W];
    load_f32(x, inp + i);
#pragma unroll
    for (int k = 0; k < W; k++) y[k] = relu2(x[k]);
    store_bf16(out + i, y);
  } else {
    // The tail (fewer than W elements, only in the last thread); no-op for threads past the end.
    for (int64_t j = i; j < n; j++) out[j] = __float2bfloat16(relu2(__bfloat162float(inp[j])));
  }
}

template <int W>
__global__ void relu2_backward_kernel(bf16* dinp, const bf16* inp, const bf16* dout, int64_t n) {
  const int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * W;
  if (i + W <= n) {
    float x[W], d[W], g[W];
    load_f32(x, inp + i);
    load_f32(d, dout + i);
    load_f32(g, dinp + i);
#pragma unroll
    for (int k = 0; k < W; k++) g[k] += relu2_derivative(x[k]) * d[k];
    store_bf16(dinp + i, g);
  } else {
    for (int64_t j = i; j < n; j++) {
      const float grad = relu2_derivative(__bfloat162float(inp[j])) * __bfloat162float(dout[j]);
      dinp[j] = __float2bfloat16(__bfloat162float(dinp[j]) + grad);
    }
  }
}

}  // namespace

void CudaBackend::relu2_forward(Tensor out, Tensor inp) {
  check_relu2_forward(*this, out, inp);
  cuda::launch_elementwise(relu2_forward_kernel<cuda::kPackWidth>, relu2_forward_kernel<1>, stream_,
                           inp.numel(), cuda::device_data<bf16>(out),
                           cuda::device_data<const bf16>(inp));
}

void CudaBackend::relu2_backward(Tensor dinp, Tensor inp, Tensor dout) {
  check_relu2_backward(*this, dinp, inp, dout);
  cuda::launch_elementwise(relu2_backward_kernel<cuda::kPackWidth>, relu2_backward_kernel<1>,
                           stream_, inp.numel(), cuda::device_data<bf16>(dinp),
                           cuda::device_data<const bf16>(inp), cuda::device_data<const bf16>(dout));
}

}  // namespace llm
