#pragma once
// defines: llm::CharTokenizer (nanoGPT's shakespeare_char vocabulary), utf8 helpers
//
// The vocabulary is the sorted set of distinct characters (Unicode code points) of a corpus, id =
// rank in that order: tinyshakespeare (ASCII) gives nanoGPT's 65 ids, '\n' = 0, ' ' = 1, ... Text
// is decoded from UTF-8, so non-ASCII corpora work; text that is not valid UTF-8 is an error.
#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "llm/tokenizer/tokenizer.hpp"

namespace llm {

// The code points of UTF-8 text; throws llm::Error naming the byte offset of invalid UTF-8.
std::vector<char32_t> utf8_decode(std::string_view text);
// Appends the UTF-8 bytes of one code point.
void utf8_append(std::string& out, char32_t c);

class CharTokenizer : public Tokenizer {
 public:
  // chars: the vocabulary, sorted and distinct (checked).
  explicit CharTokenizer(std::vector<char32_t> chars);
  // The vocabulary of a corpus: its distinct characters, sorted.
  static CharTokenizer from_corpus(std::string_view text);
  // From the {"type": "char", "chars": [...]} object that save() writes.
  static CharTokenizer from_json(const nlohmann::json& spec);

  std::string name() const override { return "char"; }
  int vocab_size() const override { return static_cast<int>(chars_.size()); }
  // Throws llm::Error naming the first character that is not in the vocabulary.
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::string decode_token(int32_t id) const override;
  void save(const std::filesystem::path& dir) const override;

  const std::vector<char32_t>& chars() const { return chars_; }

 private:
  std::vector<char32_t> chars_;                // id -> code point
  std::array<int32_t, 128> ascii_ids_;         // fast path: ASCII code point -> id, or -1
  std::unordered_map<char32_t, int32_t> ids_;  // every code point -> id
};

}  // namespace llm
