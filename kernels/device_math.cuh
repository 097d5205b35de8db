#pragma once
// defines: the small device-side helpers every kernel file shares: the bf16 type, ceil_div,
// warp-level reductions, and typed access to a checked Tensor's device memory.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "llm/core/tensor.hpp"

namespace llm::cuda {

using bf16 = __nv_bfloat16;

constexpr int kWarpSize = 32;

__host__ __device__ constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The device pointer of a tensor whose dtype and device the op has already checked.
template <typename T> T* device_data(const Tensor& t) { return static_cast<T*>(t.data); }

// Sum and max over the 32 lanes of a warp (butterfly: every lane ends with the result).
__device__ inline float warp_sum(float v) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2)
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ inline float warp_max(float v) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

}  // namespace llm::cuda
