#pragma once
// defines: llm::SamplingSettings, llm::sample_token, llm::top_probabilities: choosing the next
// token from logits.
#include <cstdint>
#include <random>
#include <vector>

namespace llm {

struct SamplingSettings {
  float temperature = 1.0f;  // 0 = greedy (argmax); < 1 sharpens, > 1 flattens the distribution
  int top_k = 0;             // keep only the k most likely tokens; 0 = all
  float top_p = 1.0f;        // keep the smallest set of most likely tokens whose mass reaches p
};

// The distribution sampling draws from: softmax(logits / temperature), restricted to top-k, then to
// the top-p nucleus, renormalised. Returned as probabilities over all V tokens (0 where cut).
// With temperature 0 it is one-hot on the argmax (ties: the lowest id).
std::vector<float> sampling_distribution(const float* logits, int V,
                                         const SamplingSettings& settings);

// The k most likely next tokens under the model's own softmax (temperature 1, nothing cut), most
// likely first (ties: the lower id first). Used by `glassbox sample --top-probs` and the
// visualizer's story mode, so both print the same numbers for the same logits.
struct TokenProbability {
  int32_t id;
  float p;
};
std::vector<TokenProbability> top_probabilities(const float* logits, int V, int k);

// Draws a token from sampling_distribution with one uniform number from rng.
int32_t sample_token(const float* logits, int V, const SamplingSettings& settings,
                     std::mt19937_64& rng);

}  // namespace llm
