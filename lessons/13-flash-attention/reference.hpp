#pragma once
// defines: lesson13::Heads, lesson13::split_heads, lesson13::cpu_attention
//
// The bridge between this lesson's layout and the library's: llm::cpu::attention_forward takes
// qkv (B, T, 3C) with head h in channels [h hs, (h+1) hs) of q, k and v, and returns
// out (B, T, C) and the probabilities P (B, NH, T, T); the kernel takes q, k, v (B, NH, T, hs).
#include <cmath>
#include <cstdint>
#include <vector>

#include "llm/backend/cpu/attention.hpp"

namespace lesson13 {

struct Heads {
  std::vector<float> q, k, v;  // (B, NH, T, hs) each
};

inline Heads split_heads(const std::vector<float>& qkv, int B, int NH, int T, int hs) {
  const int64_t C = int64_t(NH) * hs;
  Heads heads;
  for (std::vector<float>* part : {&heads.q, &heads.k, &heads.v}) part->resize(size_t(B * C * T));
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++)
      for (int t = 0; t < T; t++)
        for (int d = 0; d < hs; d++) {
          const size_t row = size_t((int64_t(b) * NH + h) * T + t) * hs + d;
          const size_t col = size_t((int64_t(b) * T + t) * 3 * C + h * hs + d);
          heads.q[row] = qkv[col];
          heads.k[row] = qkv[col + C];
          heads.v[row] = qkv[col + 2 * C];
        }
  return heads;
}

// The library's attention in double, its output put in the (B, NH, T, hs) layout, and the lse of
// every row from its probabilities: P_i0 = exp(s_i0 - lse_i), so lse_i = s_i0 - log P_i0 (key 0 is
// visible to every row).
inline void cpu_attention(std::vector<double>& out, std::vector<double>& lse,
                          const std::vector<float>& qkv, int B, int NH, int T, int hs) {
  const int64_t C = int64_t(NH) * hs;
  const std::vector<double> qkv64(qkv.begin(), qkv.end());
  std::vector<double> out_btc(size_t(B * T * C)), P(size_t(int64_t(B) * NH * T * T));
  llm::cpu::attention_forward<double>(out_btc.data(), P.data(), qkv64.data(), B, T, C, NH);
  out.assign(size_t(B * T * C), 0.0);
  lse.assign(size_t(B * NH * T), 0.0);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++)
      for (int t = 0; t < T; t++) {
        const int64_t bht = (int64_t(b) * NH + h) * T + t;
        double s0 = 0;  // s_t0 = q_t . k_0 / sqrt(hs)
        for (int d = 0; d < hs; d++) {
          out[size_t(bht * hs + d)] = out_btc[size_t((int64_t(b) * T + t) * C + h * hs + d)];
          s0 += qkv64[size_t((int64_t(b) * T + t) * 3 * C + h * hs + d)] *
                qkv64[size_t(int64_t(b) * T * 3 * C + C + h * hs + d)];
        }
        lse[size_t(bht)] = s0 / std::sqrt(double(hs)) - std::log(P[size_t(bht * T)]);
      }
}

}  // namespace lesson13
