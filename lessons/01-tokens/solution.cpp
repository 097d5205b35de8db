// Lesson 01, reference solution: the tokenizers are the library's (llm/tokenizer/), the bigram
// model has no library twin and is written out; its loss goes through the library's cross-entropy.
#include <cmath>

#include "lesson.hpp"
#include "llm/backend/cpu/classifier.hpp"
#include "llm/tokenizer/byte_tokenizer.hpp"
#include "llm/tokenizer/char_tokenizer.hpp"

namespace lesson01 {

std::vector<char32_t> char_vocabulary(std::string_view utf8_text) {
  return llm::CharTokenizer::from_corpus(utf8_text).chars();
}

std::vector<int32_t> char_encode(const std::vector<char32_t>& vocab, std::string_view utf8_text) {
  return llm::CharTokenizer(vocab).encode(utf8_text);
}

std::string char_decode(const std::vector<char32_t>& vocab, const std::vector<int32_t>& ids) {
  return llm::CharTokenizer(vocab).decode(ids);
}

std::vector<int32_t> byte_encode(std::string_view text) {
  return llm::ByteTokenizer().encode(text);
}

std::string byte_decode(const std::vector<int32_t>& ids) {
  return llm::ByteTokenizer().decode(ids);
}

std::vector<double> bigram_counts(const std::vector<int32_t>& ids, int V) {
  std::vector<double> counts(size_t(V) * V, 0.0);
  for (size_t i = 0; i + 1 < ids.size(); i++) counts[size_t(ids[i]) * V + ids[i + 1]] += 1.0;
  return counts;
}

std::vector<double> bigram_probabilities(const std::vector<double>& counts, int V, double alpha) {
  std::vector<double> P(counts.size());
  for (int a = 0; a < V; a++) {
    double row = 0;
    for (int b = 0; b < V; b++) row += counts[size_t(a) * V + b];
    for (int b = 0; b < V; b++)
      P[size_t(a) * V + b] = (counts[size_t(a) * V + b] + alpha) / (row + V * alpha);
  }
  return P;
}

double bigram_loss(const std::vector<double>& P, int V, const std::vector<int32_t>& ids) {
  // The bigram model is a one-layer network whose logits for context a are log P[a, :]; its loss is
  // the same cross-entropy the GPT uses (llm/backend/cpu/classifier.hpp), one row per position.
  const int64_t N = int64_t(ids.size()) - 1;
  std::vector<double> logits(size_t(N) * V), losses(N);
  for (int64_t i = 0; i < N; i++)
    for (int b = 0; b < V; b++) logits[size_t(i) * V + b] = std::log(P[size_t(ids[i]) * V + b]);
  const std::vector<int32_t> targets(ids.begin() + 1, ids.end());
  llm::cpu::classifier_forward<double>(losses.data(), logits.data(), targets.data(), 0.0, N, V, V);
  double sum = 0;
  for (double l : losses) sum += l;
  return sum / double(N);
}

}  // namespace lesson01
