// Lesson 01: text to tokens. Write the bodies below; `scripts/lesson 01` tells you what is still
// wrong. Helpers you may use: llm::utf8_decode(text) -> the code points of UTF-8 text,
//                      llm::utf8_append(out, code_point) -> appends a code point's UTF-8 bytes.
#include "lesson.hpp"

#include <algorithm>
#include <cmath>

#include "llm/tokenizer/char_tokenizer.hpp"  // llm::utf8_decode, llm::utf8_append

namespace lesson01 {

std::vector<char32_t> char_vocabulary(std::string_view utf8_text) {
  // TODO: decode the text to code points, keep each distinct one once, sort ascending.
  return {};
}

std::vector<int32_t> char_encode(const std::vector<char32_t>& vocab, std::string_view utf8_text) {
  // TODO: one id per character: its index in vocab (vocab is sorted, so std::lower_bound finds it).
  return {};
}

std::string char_decode(const std::vector<char32_t>& vocab, const std::vector<int32_t>& ids) {
  // TODO: append the UTF-8 of vocab[id] for every id.
  return {};
}

std::vector<int32_t> byte_encode(std::string_view text) {
  // TODO: one id per byte, in [0, 256). Careful: `char` is signed on x86, so (int)'\xe9' is -23.
  return {};
}

std::string byte_decode(const std::vector<int32_t>& ids) {
  // TODO: each id back to one byte.
  return {};
}

std::vector<double> bigram_counts(const std::vector<int32_t>& ids, int V) {
  // TODO: a (V, V) table; for every adjacent pair (ids[i], ids[i+1]) add 1 at [ids[i] * V +
  // ids[i+1]].
  return std::vector<double>(size_t(V) * V, 0.0);
}

std::vector<double> bigram_probabilities(const std::vector<double>& counts, int V, double alpha) {
  // TODO: P[a, b] = (counts[a, b] + alpha) / (row sum of counts[a, :] + V * alpha).
  return std::vector<double>(size_t(V) * V, 0.0);
}

double bigram_loss(const std::vector<double>& P, int V, const std::vector<int32_t>& ids) {
  // TODO: the mean over i of -log P[ids[i], ids[i+1]].
  return 0.0;
}

}  // namespace lesson01
