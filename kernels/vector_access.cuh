#pragma once
// defines: llm::cuda::Pack, load_f32, store_bf16, store_f32, aligned_16: moving several elements
// per instruction.
//
// A GPU reads device memory in 32-byte sectors; a warp whose 32 threads each load 16 bytes (8 bf16
// or 4 f32) in one instruction moves 512 contiguous bytes with a quarter of the instructions that
// 2-byte loads need. Such a load needs an address aligned to its size, and views into a packed
// arena (e.g. layer l's slice of a (L, C) weight with C % 8 != 0) may start at any element, so
// every kernel that uses packs has a W = 1 twin and the host picks W = 8 only when aligned_16()
// holds.
#include <cuda_bf16.h>

#include <cstdint>
#include <initializer_list>

namespace llm::cuda {

// W consecutive elements moved as one load or store (the address must be aligned to its size).
template <typename T, int W> struct alignas(sizeof(T) * W) Pack { T values[W]; };

// Reads the W bf16 at src as f32.
template <int W> __device__ void load_f32(float (&dst)[W], const __nv_bfloat16* src) {
  const Pack<__nv_bfloat16, W> pack = *reinterpret_cast<const Pack<__nv_bfloat16, W>*>(src);
#pragma unroll
  for (int k = 0; k < W; k++) dst[k] = __bfloat162float(pack.values[k]);
}

// Rounds the W f32 values to bf16 (to nearest even) and writes them to dst.
template <int W> __device__ void store_bf16(__nv_bfloat16* dst, const float (&src)[W]) {
  Pack<__nv_bfloat16, W> pack;
#pragma unroll
  for (int k = 0; k < W; k++) pack.values[k] = __float2bfloat16(src[k]);
  *reinterpret_cast<Pack<__nv_bfloat16, W>*>(dst) = pack;
}

// Reads the W f32 at src, in 16-byte packs of 4 when W is a multiple of 4 (so a pack of 8 f32
// needs the same 16-byte alignment as a pack of 8 bf16), one by one otherwise.
template <int W> __device__ void load_f32(float (&dst)[W], const float* src) {
  if constexpr (W % 4 == 0) {
#pragma unroll
    for (int p = 0; p < W / 4; p++) {
      const Pack<float, 4> pack = reinterpret_cast<const Pack<float, 4>*>(src)[p];
#pragma unroll
      for (int k = 0; k < 4; k++) dst[4 * p + k] = pack.values[k];
    }
  } else {
#pragma unroll
    for (int k = 0; k < W; k++) dst[k] = src[k];
  }
}

// Writes W f32 values in dst's dtype: rounded to nearest even into bf16, as they are into f32
// (in 16-byte packs of 4 when W is a multiple of 4).
template <int W> __device__ void store_f32(__nv_bfloat16* dst, const float (&src)[W]) {
  store_bf16(dst, src);
}
template <int W> __device__ void store_f32(float* dst, const float (&src)[W]) {
  if constexpr (W % 4 == 0) {
#pragma unroll
    for (int p = 0; p < W / 4; p++) {
      Pack<float, 4> pack;
#pragma unroll
      for (int k = 0; k < 4; k++) pack.values[k] = src[4 * p + k];
      reinterpret_cast<Pack<float, 4>*>(dst)[p] = pack;
    }
  } else {
#pragma unroll
    for (int k = 0; k < W; k++) dst[k] = src[k];
  }
}

// Blocks of `threads` threads for one thread per pack of W elements of an n-element tensor.
inline unsigned blocks_for_packs(int64_t n, int W, int threads) {
  const int64_t packs = (n + W - 1) / W;
  return unsigned((packs + threads - 1) / threads);
}

inline bool is_aligned(const void* ptr, size_t bytes) {
  return reinterpret_cast<uintptr_t>(ptr) % bytes == 0;
}

// Whether every pointer allows 16-byte packs.
inline bool aligned_16(std::initializer_list<const void*> pointers) {
  for (const void* p : pointers)
    if (!is_aligned(p, 16)) return false;
  return true;
}

}  // namespace llm::cuda
