#pragma once
// Lesson 07: sampling and the KV cache. The functions you write in exercise.cpp.
#include <cstdint>
#include <vector>

namespace lesson07 {

// ---- from logits to the distribution we draw from (as llm::sampling_distribution) ----
//   temperature == 0: one-hot on the argmax (ties: the lowest id);
//   else: order the tokens by decreasing logit (ties: lower id first); keep the first top_k of them
//   (top_k == 0 or >= V: all); p_i = exp((z_i - z_max) / temperature) over the kept ones,
//   normalised; top_p < 1: keep the shortest prefix of that order whose probability mass reaches
//   top_p (at least one token); renormalise over what is kept. Every token that is cut has
//   probability 0.
std::vector<float> sampling_distribution(const float* logits, int V, float temperature, int top_k,
                                         float top_p);

// ---- one draw, by the inverse CDF (as llm::sample_token) ----
// Given u uniform in [0, 1): the first token i (in id order, skipping zero-probability tokens)
// where the running sum of probs reaches past u (u < cumulative); if rounding leaves u above the
// total, the last token with nonzero probability.
int32_t sample_from(const std::vector<float>& probs, double u);

// ---- attention with a KV cache (as llm::cpu::attention_forward_cached) ----
// The Tn new positions pos0 .. pos0+Tn-1 of qkv (B, Tn, 3C) first store their keys and values:
//   k_cache[b, h, pos0 + i, d] = qkv[b, i, C + h hs + d],   v_cache: + 2C
// then new position i (absolute pos0 + i) attends to the cached keys 0 .. pos0 + i:
//   out[b, i, h hs + d] = sum_j softmax_j(q_i . k_j / sqrt(hs)) v_j[d]
void attention_forward_cached(double* out,        // (B, Tn, C)
                              double* k_cache,    // (B, NH, maxT, hs)
                              double* v_cache,    // (B, NH, maxT, hs)
                              const double* qkv,  // (B, Tn, 3C)
                              int64_t B, int64_t Tn, int64_t C, int64_t NH, int64_t maxT,
                              int64_t pos0);

}  // namespace lesson07
