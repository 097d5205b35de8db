#pragma once
// Lesson 01: text to tokens. The functions you write in exercise.cpp.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lesson01 {

// ---- characters ----
// The vocabulary of a text: its distinct characters (Unicode code points), sorted ascending.
// The id of a character is its position in this list. tinyshakespeare gives 65: '\n' = 0, ' ' = 1,
// ...
std::vector<char32_t> char_vocabulary(std::string_view utf8_text);
// Each character of the text replaced by its id in vocab.
std::vector<int32_t> char_encode(const std::vector<char32_t>& vocab, std::string_view utf8_text);
// The inverse: ids back to UTF-8 text.
std::string char_decode(const std::vector<char32_t>& vocab, const std::vector<int32_t>& ids);

// ---- bytes ----
// Every byte of the text is one id in [0, 256). No vocabulary needed, nothing can be missing.
std::vector<int32_t> byte_encode(std::string_view text);
std::string byte_decode(const std::vector<int32_t>& ids);

// ---- the bigram model ----
// counts[a * V + b] = how many times token b directly follows token a in ids.       (V, V)
std::vector<double> bigram_counts(const std::vector<int32_t>& ids, int V);
// Row-normalised probabilities with add-alpha smoothing:
//   P[a, b] = (counts[a, b] + alpha) / (sum_b' counts[a, b'] + V alpha)               (V, V)
std::vector<double> bigram_probabilities(const std::vector<double>& counts, int V, double alpha);
// Mean negative log-likelihood of each next token under P, over the ids.size() - 1 pairs:
//   loss = -1/(N-1) sum_i log P[ids[i], ids[i+1]]
double bigram_loss(const std::vector<double>& P, int V, const std::vector<int32_t>& ids);

}  // namespace lesson01
