#pragma once
// Lesson 02: byte-pair encoding. The functions you write in exercise.cpp, and one that is given.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llm/tokenizer/bpe_trainer.hpp"     // llm::BpeVocabulary {tokens, merges}
#include "llm/tokenizer/gpt2_tokenizer.hpp"  // llm::Gpt2Splitter

namespace lesson02 {

// A merge: the byte strings of the left and right token; the new token is left + right.
using Merge = std::pair<std::string, std::string>;

// GIVEN: GPT-2's pre-tokenizer. Cuts text into "words" (" the", "'s", "\n\n", " 1984", "!!") with
// OpenAI's regex; a merge never crosses a word boundary. Concatenating the words gives back the
// text.
inline std::vector<std::string_view> pretokenize(std::string_view text) {
  llm::Gpt2Splitter splitter;
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < text.size()) words.push_back(splitter.next(text, pos));
  return words;
}

// Learns BPE merges from text, exactly as llm::train_bpe does (see bpe_trainer.hpp):
//   - words = pretokenize(text), each word starts as its sequence of single bytes;
//   - repeat: count every adjacent pair of tokens in every word (a word that occurs n times counts
//   n
//     times); take the most frequent pair; on a tie, the pair whose (left, right) byte strings are
//     greatest (std::string comparison on left, then on right); merge all its occurrences in every
//     word, left to right ("aaa" with merge (a, a) becomes "aa" "a"); record it;
//   - stop when no pair is left or when the vocabulary is full: it holds the 256 byte tokens, one
//     token per DISTINCT merged string (two merges can produce the same bytes: the second adds no
//     token), and <|endoftext|>, i.e. stop once 256 + distinct new tokens reaches vocab_size - 1.
std::vector<Merge> train_bpe_merges(std::string_view text, int vocab_size);

// Encodes text with a trained vocabulary; ids index vocab.tokens. For each word of
// pretokenize(text): start from its bytes; repeatedly find the adjacent pair with the LOWEST rank
// (position in vocab.merges) and merge all its occurrences left to right, until no adjacent pair is
// a merge; then look up each token's id in vocab.tokens.
std::vector<int32_t> bpe_encode(const llm::BpeVocabulary& vocab, std::string_view text);

// The inverse: the concatenated bytes of the tokens.
std::string bpe_decode(const llm::BpeVocabulary& vocab, const std::vector<int32_t>& ids);

}  // namespace lesson02
