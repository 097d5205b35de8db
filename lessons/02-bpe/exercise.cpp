// Lesson 02: byte-pair encoding. Write the bodies below; `scripts/lesson 02` tells you what is
// wrong. A plain version is plenty fast here: recount every pair after each merge (std::map keyed
// by the pair of strings), keep each distinct word once with its count (std::map<std::string_view,
// int64_t>).
#include "lesson.hpp"

#include <map>
#include <unordered_map>

namespace lesson02 {

std::vector<Merge> train_bpe_merges(std::string_view text, int vocab_size) {
  // TODO:
  //   1. count the distinct words of pretokenize(text);
  //   2. represent each word as a vector of tokens (std::string), one byte each;
  //   3. loop: count pairs (weighted by word count), pick the best (count, then greatest pair),
  //      merge it in every word, append it to the result; stop as described in lesson.hpp.
  return {};
}

std::vector<int32_t> bpe_encode(const llm::BpeVocabulary& vocab, std::string_view text) {
  // TODO: rank of each merge (a map from the pair to its index in vocab.merges), id of each token
  // string (a map from vocab.tokens[i] to i); then merge each word greedily by lowest rank.
  return {};
}

std::string bpe_decode(const llm::BpeVocabulary& vocab, const std::vector<int32_t>& ids) {
  // TODO: concatenate vocab.tokens[id].
  return {};
}

}  // namespace lesson02
