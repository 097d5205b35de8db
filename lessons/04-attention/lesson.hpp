#pragma once
// Lesson 04: causal self-attention. The functions you write in exercise.cpp. Shapes: B batch,
// T sequence length, C channels, NH heads, hs = C / NH head size. Every backward ADDS (+=).
#include <cstdint>

namespace lesson04 {

// ---- the causal softmax of one (T, T) matrix of scores ----
//   P[i, j] = exp(S[i, j] - m_i) / sum_{k <= i} exp(S[i, k] - m_i)   for j <= i,  m_i = max_{k <=
//   i} S[i, k] P[i, j] = 0                                                      for j > i  (the
//   future is masked)
void causal_softmax(double* P,        // (T, T)
                    const double* S,  // (T, T), entries above the diagonal are ignored
                    int64_t T);
// Backward, row by row (the softmax Jacobian dP_j/dS_k = P_j ([j == k] - P_k)):
//   dS[i, j] += P[i, j] * (dP[i, j] - sum_k P[i, k] dP[i, k])
void causal_softmax_backward(double* dS,        // (T, T)
                             const double* P,   // (T, T)
                             const double* dP,  // (T, T)
                             int64_t T);

// ---- the multi-head reshapes ----
// qkv (B, T, 3C) holds q in channels [0, C), k in [C, 2C), v in [2C, 3C); head h owns channels
// [h hs, (h+1) hs) of each. split_heads gathers them into one contiguous (T, hs) block per (b, h):
//   q[b, h, t, d] = qkv[b, t, 0 C + h hs + d],  k: + C,  v: + 2C
void split_heads(double* q, double* k, double* v,  // (B, NH, T, hs) each
                 const double* qkv,                // (B, T, 3C)
                 int64_t B, int64_t T, int64_t C, int64_t NH);
// The inverse for the heads' outputs: out[b, t, h hs + d] = y[b, h, t, d]
void merge_heads(double* out,      // (B, T, C)
                 const double* y,  // (B, NH, T, hs)
                 int64_t B, int64_t T, int64_t C, int64_t NH);

// ---- the whole layer, as llm::cpu::attention_forward / attention_backward ----
// For each (b, h): S = q k^T / sqrt(hs), P = causal_softmax(S), y = P v; out = merge_heads(y).
void attention_forward(
    double* out,        // (B, T, C)
    double* att,        // (B, NH, T, T) P, saved for the backward (0 above the diagonal)
    const double* qkv,  // (B, T, 3C)
    int64_t B, int64_t T, int64_t C, int64_t NH);
// dP = dy v^T, dv += P^T dy, dS = softmax backward, dq += dS k / sqrt(hs), dk += dS^T q / sqrt(hs),
// all scattered back into dqkv's channels. datt is scratch of att's shape (for dP / dS).
void attention_backward(double* dqkv,        // (B, T, 3C)
                        double* datt,        // (B, NH, T, T) scratch
                        const double* dout,  // (B, T, C)
                        const double* qkv,   // (B, T, 3C)
                        const double* att,   // (B, NH, T, T)
                        int64_t B, int64_t T, int64_t C, int64_t NH);

}  // namespace lesson04
