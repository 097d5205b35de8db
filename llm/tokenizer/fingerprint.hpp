#pragma once
// defines: llm::Fingerprint, a 64-bit FNV-1a hash of what defines a tokenizer.
//
// Token shards record the fingerprint of the tokenizer that made them (llm/data/shard.hpp), so a
// model is never trained or evaluated on ids from another vocabulary that merely happen to be in
// range. Two tokenizers get the same fingerprint when they map the same text to the same ids:
// the hash covers the name, every token's bytes in id order and, for BPE, the merges in rank
// order; never file formatting or flags such as whether <|endoftext|> may appear in the text.
#include <cstdint>
#include <string_view>

namespace llm {

class Fingerprint {
 public:
  // FNV-1a: for each byte, h = (h xor byte) * 1099511628211, from 14695981039346656037.
  void add_bytes(std::string_view bytes) {
    for (unsigned char b : bytes) hash_ = (hash_ ^ b) * 1099511628211ull;
  }
  // A number as 8 little-endian bytes, e.g. a length before the bytes it counts, so that
  // "ab" + "c" and "a" + "bc" hash differently.
  void add_number(uint64_t x) {
    for (int i = 0; i < 8; i++) hash_ = (hash_ ^ ((x >> (8 * i)) & 0xFF)) * 1099511628211ull;
  }
  void add_string(std::string_view s) {
    add_number(s.size());
    add_bytes(s);
  }
  // Never 0: shards use 0 for "no fingerprint recorded".
  uint64_t value() const { return hash_ == 0 ? 1 : hash_; }

 private:
  uint64_t hash_ = 14695981039346656037ull;
};

}  // namespace llm
