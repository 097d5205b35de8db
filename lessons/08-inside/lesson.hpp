#pragma once
// Lesson 08: looking inside. The functions you write in exercise.cpp. They read what llm::GPT saved
// during its last forward pass (model.acts, on the f64 CPU backend): the residual stream after
// every layer, residual3 (L, B, T, C), and the attention maps, att (L, B, NH, T, T).
#include <cstdint>
#include <vector>

#include "llm/model/gpt.hpp"

namespace lesson08 {

// ---- the logit lens (nostalgebraist 2020) ----
// What layer l would predict if the network stopped after it: the final layernorm and the tied head
// applied to that layer's residual stream,
//   probs[b, t, :] = softmax over the V real tokens of ( layernorm(residual3[l, b, t, :]; lnfw,
//   lnfb) @ wte^T )
// For l = L - 1 this is exactly the model's own prediction.                      returns (B, T, V)
std::vector<double> logit_lens(llm::GPT& model, int layer);

// ---- how unsure a prediction is ----
// The entropy of each row of a (N, V) distribution, in nats: H = -sum_v p_v ln p_v, with 0 ln 0 =
// 0. 0 for a certain prediction, ln V for a uniform one.                           returns (N)
std::vector<double> entropy(const std::vector<double>& probs, int64_t N, int64_t V);

// ---- attention rollout (Abnar & Zuidema 2020), as glassbox-viz's "rollout" view ----
// How much each position's final representation draws on each input position, through all layers.
// For sequence b: A_l = (mean over heads of att[l, b] + I) / 2   (the residual connection as the
// identity), rollout = A_{L-1} ... A_1 A_0.                                     returns (T, T),
// rows sum to 1
std::vector<double> attention_rollout(llm::GPT& model, int b);

}  // namespace lesson08
