// Lesson 07, reference solution: the library's sampler (llm/sample/sampling.hpp) and cached
// attention (llm::cpu::attention_forward_cached).
#include "lesson.hpp"
#include "llm/backend/cpu/attention.hpp"
#include "llm/sample/sampling.hpp"

namespace lesson07 {

std::vector<float> sampling_distribution(const float* logits, int V, float temperature, int top_k,
                                         float top_p) {
  return llm::sampling_distribution(logits, V, llm::SamplingSettings{temperature, top_k, top_p});
}

int32_t sample_from(const std::vector<float>& probs, double u) {
  // llm::sample_token draws u from its generator and then runs exactly this loop.
  double cumulative = 0;
  int32_t last_nonzero = 0;
  for (int32_t i = 0; i < int32_t(probs.size()); i++) {
    if (probs[i] == 0) continue;
    cumulative += probs[i];
    last_nonzero = i;
    if (u < cumulative) return i;
  }
  return last_nonzero;
}

void attention_forward_cached(double* out, double* k_cache, double* v_cache, const double* qkv,
                              int64_t B, int64_t Tn, int64_t C, int64_t NH, int64_t maxT,
                              int64_t pos0) {
  llm::cpu::attention_forward_cached<double>(out, k_cache, v_cache, qkv, B, Tn, C, NH, maxT, pos0);
}

}  // namespace lesson07
