#pragma once
// defines: llm::cpu::rope_forward, llm::cpu::rope_backward
//
// Rotary position embedding (Su et al. 2021, "RoFormer"), in the rotate-half layout of Hugging
// Face's Llama: within a head of hs channels, channel i and channel i + hs/2 (i < hs/2) form a
// pair that turns by the angle a = p * f_i at position p, f_i = theta^(-2i/hs) (or Llama 3.1's
// rescaling of it: llm/core/rope_frequencies.hpp):
//   out[i]        = x[i] cos a - x[i + hs/2] sin a
//   out[i + hs/2] = x[i + hs/2] cos a + x[i] sin a
// Turning q at position p and k at position p' makes q . k depend on p - p' only: attention sees
// relative positions, with no position table to learn. Low i turn fast, high i slowly.
// Each row of inp (B, Tlen, W) holds heads of hs channels; the first n_rotated heads are rotated,
// the channels after them (v inside qkv) are copied.
#include <cstdint>

#include "llm/core/rope_frequencies.hpp"

namespace llm::cpu {

// out may be inp (each pair is read before it is written).
template <typename T> void rope_forward(T* out,        // (B, Tlen, W)
                                        const T* inp,  // (B, Tlen, W)
                                        int64_t B, int64_t Tlen, int64_t W, int64_t hs,
                                        int64_t n_rotated, int64_t pos0,
                                        const RopeFrequencies& frequencies);

// The rotation is orthogonal, so its transpose is the rotation by -a:
//   dinp[i]        += dout[i] cos a + dout[i + hs/2] sin a
//   dinp[i + hs/2] += dout[i + hs/2] cos a - dout[i] sin a
// and the copied channels pass dout on unchanged.
template <typename T> void rope_backward(T* dinp,        // (B, Tlen, W)
                                         const T* dout,  // (B, Tlen, W)
                                         int64_t B, int64_t Tlen, int64_t W, int64_t hs,
                                         int64_t n_rotated, int64_t pos0,
                                         const RopeFrequencies& frequencies);

}  // namespace llm::cpu
