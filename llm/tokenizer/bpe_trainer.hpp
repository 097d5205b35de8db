#pragma once
// defines: llm::BpeVocabulary, train_bpe() (learn GPT-2-style byte-level BPE merges from text) and
//          write_gpt2_files() (encoder.json + vocab.bpe that make_gpt2_tokenizer() loads
//          unchanged).
//
// Training, in GPT-2's setting:
//   - texts are split on "<|endoftext|>", then pre-tokenized with GPT-2's regex (Gpt2Splitter) into
//     words; merges never cross a word boundary, so only the distinct words and their counts
//     matter;
//   - the vocabulary starts with the 256 bytes, in GPT-2's bytes_to_unicode order (id 0 is "!");
//   - each step merges the most frequent adjacent pair of tokens over all words (counting every
//     adjacent position, weighted by the word's count); ties go to the lexicographically greatest
//     pair, comparing (left bytes, right bytes) as byte strings. All occurrences are merged left to
//     right, exactly as the encoder will later apply the merge;
//   - a merge whose result already exists as a token (from another split of the same bytes) reuses
//     that id; training stops at vocab_size - 1 tokens or when no pair is left;
//   - "<|endoftext|>" takes the last id.
// The fast path keeps pair counts up to date incrementally: an index from each pair to the words
// that contain it means a merge only revisits those words, and a max-heap with lazy deletion finds
// the next pair (see bpe_trainer.cpp).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llm {

struct BpeVocabulary {
  std::vector<std::string> tokens;  // id -> raw bytes (eot last: "<|endoftext|>")
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order, raw bytes
};

// vocab_size includes the 256 byte tokens and <|endoftext|> (so at least 257). threads <= 0 uses
// all hardware threads for pre-tokenization; the merges do not depend on it.
BpeVocabulary train_bpe(const std::vector<std::string_view>& texts, int vocab_size,
                        int threads = 0);

// Writes dir/encoder.json (tokens in id order) and dir/vocab.bpe ("#version: 0.2", one merge per
// line), both spelled with bytes_to_unicode like OpenAI's files.
void write_gpt2_files(const BpeVocabulary& vocab, const std::filesystem::path& dir);

}  // namespace llm
