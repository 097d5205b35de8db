// CudaBackend::residual_forward, residual_backward: the residual connection x + f(x).
// CPU twin: llm/backend/cpu/residual.cpp.
//
//   forward:  out = a + b
//   backward: da += dout,  db += dout    (the gradient of a sum reaches both terms unchanged)
//
// Element-wise over every element (all dimensions folded), in f32: each bf16 input is widened to
// f32, added, and the result rounded back to bf16 once. One thread per pack of W consecutive
// elements, launched by cuda::launch_elementwise (kernels/elementwise.cuh): W = 8 when every
// pointer is 16-byte aligned, W = 1 otherwise; the last thread takes the elements left over one at
// a time.
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

template <int W>
__global__ void residual_forward_kernel(bf16* out, const bf16* a, const bf16* b, int64_t n) {
  const int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * W;  // first element
  if (i + W <= n) {
    float x[W], y[W], sum[W];
    load_f32(x, a + i);
    load_f32(y, b + i);
#pragma unroll
    for (int k = 0; k < W; k++) sum[k] = x[k] + y[k];
    store_bf16(out + i, sum);
  } else {
    // The tail (fewer than W elements, only in the last thread); no-op for threads past the end.
    for (int64_t j = i; j < n; j++)
      out[j] = __float2bfloat16(__bfloat162float(a[j]) + __bfloat162float(b[j]));
  }
}

template <int W>
__global__ void residual_backward_kernel(bf16* da, bf16* db, const bf16* dout, int64_t n) {
  const int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * W;
  if (i + W <= n) {
    float d[W], ga[W], gb[W];
    load_f32(d, dout + i);
    load_f32(ga, da + i);
    load_f32(gb, db + i);
#pragma unroll
    for (int k = 0; k < W; k++) {
      ga[k] += d[k];
      gb[k] += d[k];
    }
    store_bf16(da + i, ga);
    store_bf16(db + i, gb);
  } else {
    for (int64_t j = i; j < n; j++) {
      const float d = __bfloat162float(dout[j]);
      da[j] = __float2bfloat16(__bfloat162float(da[j]) + d);
      db[j] = __float2bfloat16(__bfloat162float(db[j]) + d);
    }
  }
}

}  // namespace

void CudaBackend::residual_forward(Tensor out, Tensor a, Tensor b) {
  check_residual_forward(*this, out, a, b);
  cuda::launch_elementwise(residual_forward_kernel<cuda::kPackWidth>, residual_forward_kernel<1>,
                           stream_, a.numel(), cuda::device_data<bf16>(out),
                           cuda::device_data<const bf16>(a), cuda::device_data<const bf16>(b));
}

void CudaBackend::residual_backward(Tensor da, Tensor db, Tensor dout) {
  check_residual_backward(*this, da, db, dout);
  cuda::launch_elementwise(residual_backward_kernel<cuda::kPackWidth>, residual_backward_kernel<1>,
                           stream_, dout.numel(), cuda::device_data<bf16>(da),
                           cuda::device_data<bf16>(db), cuda::device_data<const bf16>(dout));
}

}  // namespace llm
