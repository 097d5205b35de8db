#pragma once
// defines: llm::float_to_bf16, llm::bf16_to_float, host-side bfloat16 conversions.
//
// bf16 is the top half of an IEEE f32: 1 sign bit, 8 exponent bits (the same range as f32) and 7
// mantissa bits (about 3 significant decimal digits). Converting to bf16 rounds the dropped 16 bits
// to nearest, ties to even, as the GPU's __float2bfloat16 does.
#include <cstdint>
#include <cstring>

namespace llm {

inline uint16_t float_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);  // NaN stays NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(bits >> 16);
}

inline float bf16_to_float(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace llm
