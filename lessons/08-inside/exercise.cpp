// Lesson 08: looking inside. Write the bodies below; `scripts/lesson 08` tells you what is wrong.
// The model ran its forward pass already. Its saved tensors are views into double arrays:
//   const double* res = static_cast<const double*>(model.acts.residual3.slice(layer).data);  // (B,
//   T, C) const double* att = static_cast<const double*>(model.acts.att.slice(layer).data); // (B,
//   NH, T, T)
// and model.acts.B, model.acts.T, model.config() give the sizes. The weights: model.params.lnfw,
// lnfb, wte (same .data access). llm::cpu::layernorm_forward / matmul_forward<double> are yours to
// use.
#include "lesson.hpp"

#include <cmath>

#include "llm/backend/cpu/layernorm.hpp"
#include "llm/backend/cpu/matmul.hpp"

namespace lesson08 {

std::vector<double> logit_lens(llm::GPT& model, int layer) {
  // TODO: layernorm the (B T, C) rows with lnfw, lnfb; logits = rows @ wte^T (Vp columns); a
  // softmax over the first V columns of each row (subtract the max).
  return {};
}

std::vector<double> entropy(const std::vector<double>& probs, int64_t N, int64_t V) {
  // TODO
  return std::vector<double>(N, 0.0);
}

std::vector<double> attention_rollout(llm::GPT& model, int b) {
  // TODO: R = I (T, T); for l = 0 .. L-1: A = (mean_h att[l, b, h] + I) / 2, R = A @ R.
  return {};
}

}  // namespace lesson08
