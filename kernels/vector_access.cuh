#pragma once
// defines: llm::cuda::Pack, load_f32, store_bf16, aligned_16: moving several elements per
// instruction.
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
