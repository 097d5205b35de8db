// Lesson 01's result: tinyshakespeare as characters and bytes, and a bigram model trained on 90% of
// it, scored on the other 10%, then sampled. Everything here runs on your functions.
#include <cmath>
#include <cstdio>
#include <random>

#include "common/data.hpp"
#include "lesson.hpp"

using namespace lesson01;

int main() try {
  const std::string text = lesson::read_tinyshakespeare();
  const std::vector<char32_t> vocab = char_vocabulary(text);
  const int V = int(vocab.size());
  const std::vector<int32_t> ids = char_encode(vocab, text);
  const std::vector<int32_t> bytes = byte_encode(text);
  std::printf(
      "tinyshakespeare: %zu bytes -> %zu byte tokens, %zu character tokens, %d distinct "
      "characters\n",
      text.size(), bytes.size(), ids.size(), V);
  std::printf("\"First Citizen\" as character ids:");
  for (int i = 0; i < 13 && i < int(ids.size()); i++) std::printf(" %d", ids[i]);
  std::printf("\n");
  if (V < 2 || ids.size() != text.size()) {
    std::printf(
        "(your tokenizer is not finished: run scripts/lesson 01 and fix the failing tests)\n");
    return 1;
  }

  const size_t split = ids.size() * 9 / 10;
  const std::vector<int32_t> train(ids.begin(), ids.begin() + split),
      val(ids.begin() + split, ids.end());
  const std::vector<double> P = bigram_probabilities(bigram_counts(train, V), V, 1.0);
  std::printf("uniform model (every character 1/%d):  loss ln %d = %.4f\n", V, V,
              std::log(double(V)));
  std::printf("bigram model, train loss:              %.4f\n", bigram_loss(P, V, train));
  std::printf("bigram model, validation loss:         %.4f\n", bigram_loss(P, V, val));

  // Sampling: start from '\n', draw each next character from P[current, :].
  std::mt19937_64 rng(1337);
  std::vector<int32_t> sample = {0};
  for (int i = 0; i < 300; i++) {
    std::discrete_distribution<int> next(P.begin() + size_t(sample.back()) * V,
                                         P.begin() + size_t(sample.back() + 1) * V);
    sample.push_back(next(rng));
  }
  std::printf("--- 300 characters sampled from the bigram model ---%s\n",
              char_decode(vocab, sample).c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "lesson 01: %s\n", e.what());
  return 1;
}
