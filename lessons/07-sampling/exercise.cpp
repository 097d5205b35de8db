// Lesson 07: sampling and the KV cache. Write the bodies below; `scripts/lesson 07` tells you what
// is wrong.
#include "lesson.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lesson07 {

std::vector<float> sampling_distribution(const float* logits, int V, float temperature, int top_k,
                                         float top_p) {
  // TODO: the steps of lesson.hpp. std::stable_sort on the ids keeps ties in id order; compute the
  // exponentials and sums in double, return floats.
  return std::vector<float>(V, 0.0f);
}

int32_t sample_from(const std::vector<float>& probs, double u) {
  // TODO: a running sum in double.
  return -1;
}

void attention_forward_cached(double* out, double* k_cache, double* v_cache, const double* qkv,
                              int64_t B, int64_t Tn, int64_t C, int64_t NH, int64_t maxT,
                              int64_t pos0) {
  // TODO: store the new keys and values; then for each (b, h, i): scores against cache rows
  // 0 .. pos0 + i, a softmax, the weighted sum of the cached values.
}

}  // namespace lesson07
