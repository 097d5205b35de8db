#pragma once
// The CUDA emulation's stand-in for <cuda_bf16.h>: the bf16 type and its two conversions.
//
// __float2bfloat16 rounds to nearest, ties to even, as the GPU's cvt.rn.bf16.f32 does: keep the top
// 16 bits of the f32 and round up when the dropped 16 bits are more than half (0x8000), or exactly
// half and the kept part is odd. A NaN becomes the canonical quiet NaN 0x7fff, as on the device.
// Written apart from the host's llm::float_to_bf16 on purpose: the test of the backend's convert
// compares the two.
#include <cstdint>
#include <cstring>

struct __nv_bfloat16 {
  uint16_t bits;
};

inline __nv_bfloat16 __float2bfloat16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  if ((x & 0x7fffffffu) > 0x7f800000u) return {uint16_t(0x7fff)};
  uint32_t kept = x >> 16;
  const uint32_t dropped = x & 0xffffu;
  if (dropped > 0x8000u || (dropped == 0x8000u && (kept & 1u))) kept += 1;  // may carry into inf
  return {uint16_t(kept)};
}

inline float __bfloat162float(__nv_bfloat16 h) {
  const uint32_t x = uint32_t(h.bits) << 16;
  float f;
  std::memcpy(&f, &x, sizeof f);
  return f;
}
