#pragma once
// defines: llm::RopeFrequencies, how fast each pair of a head's channels turns under RoPE.
//
// Rotary position embedding turns channel pair i of a head of hs channels (i < hs/2) by the angle
// p * f_i at position p. Plain RoPE (Su et al. 2021) uses the geometric series
//   f_i = theta^(-2i/hs),
// fast pairs first (f_0 = 1 radian per position), the slowest near 1/theta.
//
// Llama 3.1 stretches the context of a model trained at original_max_position_embeddings (8192)
// by slowing its low frequencies ("rope_scaling": {"rope_type": "llama3", ...} in config.json).
// With the wavelength w_i = 2 pi / f_i (positions per full turn) and N = original length:
//   w_i < N / high_freq_factor   f_i unchanged          (fast pairs: local order, already learned)
//   w_i > N / low_freq_factor    f_i / factor           (slow pairs: made factor times slower)
//   otherwise                    (1 - s) f_i / factor + s f_i, s = (N / w_i - low) / (high - low)
// The middle band blends the two linearly in N / w_i (the number of turns over the original
// context), so the frequency is continuous at both edges (s = 0 and s = 1 there).
#include <cmath>
#include <cstdint>
#include <numbers>

namespace llm {

struct RopeFrequencies {
  double theta = 10000.0;  // the base of the geometric series
  // Llama 3.1's rescaling of the low frequencies; off (plain RoPE) unless llama3 is true.
  bool llama3 = false;
  double factor = 8.0;            // how much slower the slow pairs turn
  double low_freq_factor = 1.0;   // wavelengths beyond N / low_freq_factor are slowed fully
  double high_freq_factor = 4.0;  // wavelengths below N / high_freq_factor are kept
  int original_max_position_embeddings = 8192;  // N, the context the model was trained at

  // f_i of pair i (0 <= i < head_size / 2), in radians per position.
  double inverse_frequency(int64_t i, int64_t head_size) const {
    const double f = std::pow(theta, -2.0 * double(i) / double(head_size));
    if (!llama3) return f;
    const double wavelength = 2.0 * std::numbers::pi / f;
    const double N = original_max_position_embeddings;
    if (wavelength < N / high_freq_factor) return f;
    if (wavelength > N / low_freq_factor) return f / factor;
    const double s = (N / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor);
    return (1.0 - s) * f / factor + s * f;
  }

  bool operator==(const RopeFrequencies& other) const = default;
};

}  // namespace llm
