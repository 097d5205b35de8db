#include "llm/sample/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "llm/core/error.hpp"

namespace llm {

std::vector<float> sampling_distribution(const float* logits, int V, const SamplingSettings& s) {
  check(s.temperature >= 0, "--temperature must not be negative");
  check(s.top_k >= 0, "--top-k must not be negative");
  check(s.top_p > 0 && s.top_p <= 1, "--top-p must lie in (0, 1]");
  std::vector<float> probs(V, 0.0f);
  if (s.temperature == 0) {
    probs[std::max_element(logits, logits + V) - logits] = 1.0f;
    return probs;
  }
  // Tokens by decreasing logit (stable: ties keep the lower id first).
  std::vector<int32_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  const int keep_k = (s.top_k > 0 && s.top_k < V) ? s.top_k : V;

  // softmax over the kept tokens, max subtracted for stability
  const double max_logit = logits[order[0]];
  std::vector<double> p(keep_k);
  double sum = 0;
  for (int i = 0; i < keep_k; i++)
    sum += p[i] = std::exp((logits[order[i]] - max_logit) / s.temperature);
  // nucleus: the shortest prefix whose mass reaches top_p (at least one token)
  int keep = keep_k;
  if (s.top_p < 1) {
    double mass = 0;
    for (int i = 0; i < keep_k; i++) {
      mass += p[i] / sum;
      if (mass >= s.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double kept = 0;
  for (int i = 0; i < keep; i++) kept += p[i];
  for (int i = 0; i < keep; i++) probs[order[i]] = float(p[i] / kept);
  return probs;
}

std::vector<TokenProbability> top_probabilities(const float* logits, int V, int k) {
  check(k > 0, "--top-probs must be positive");
  const std::vector<float> p = sampling_distribution(logits, V, SamplingSettings{1.0f, 0, 1.0f});
  std::vector<int32_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  k = std::min(k, V);
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int32_t a, int32_t b) { return p[a] != p[b] ? p[a] > p[b] : a < b; });
  std::vector<TokenProbability> top;
  for (int i = 0; i < k; i++) top.push_back({order[i], p[order[i]]});
  return top;
}

int32_t sample_token(const float* logits, int V, const SamplingSettings& settings,
                     std::mt19937_64& rng) {
  const std::vector<float> probs = sampling_distribution(logits, V, settings);
  // Inverse CDF with one uniform draw; the generator is fixed (mt19937_64) and the draw is made by
  // hand, so a seed gives the same text on every platform.
  const double u = double(rng() >> 11) * 0x1.0p-53;  // uniform in [0, 1)
  double cumulative = 0;
  int32_t last_nonzero = 0;
  for (int32_t i = 0; i < V; i++) {
    if (probs[i] == 0) continue;
    cumulative += probs[i];
    last_nonzero = i;
    if (u < cumulative) return i;
  }
  return last_nonzero;  // u landed in the rounding gap at the very end
}

}  // namespace llm
