#pragma once
// defines: llm::ByteTokenizer, 256 ids, one per byte value: id = the byte.
// Any text encodes (no vocabulary to miss); decoding gives back the exact bytes.
#include "llm/tokenizer/tokenizer.hpp"

namespace llm {

class ByteTokenizer : public Tokenizer {
 public:
  std::string name() const override { return "byte"; }
  int vocab_size() const override { return 256; }
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::string decode_token(int32_t id) const override;
  void save(const std::filesystem::path& dir) const override;  // {"type": "byte"}
};

}  // namespace llm
