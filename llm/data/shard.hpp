#pragma once
// defines: llm::ShardHeader, read_shard_header, read_shard, write_shard (llm.c token shards)
//
// A shard is llm.c's token file, so shards prepared for llm.c (FineWeb, TinyStories) load as-is:
//   header: 256 x int32 little-endian
//     [0] magic 20240520
//     [1] version: 1 = tokens stored as uint16, 2 = tokens stored as uint32
//     [2] number of tokens N
//     [3..255] zero in llm.c's shards; glassbox records there the tokenizer that made the tokens:
//     [3] 1263813191 ("GBTK" in ASCII): a tokenizer stamp follows (any other value: none)
//     [4] the tokenizer's vocabulary size V (every token is below it)
//     [5], [6] its fingerprint (llm/tokenizer/fingerprint.hpp), low then high 32 bits
//     [7..10] its name, 16 bytes of printable ASCII padded with NUL ("gpt2", "char", "byte")
//   then N tokens of 2 (version 1) or 4 (version 2) bytes each.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace llm {

inline constexpr int32_t kShardMagic = 20240520;
inline constexpr int kShardHeaderInts = 256;  // header size: 256 x int32 = 1024 bytes
inline constexpr int32_t kTokenizerStampMagic = 1263813191;  // "GBTK"

// The tokenizer a shard's tokens come from, as far as the shard records it.
struct TokenizerStamp {
  std::string name;          // at most 16 printable ASCII characters
  int32_t vocab_size = 0;    // 0: no stamp (an llm.c shard)
  uint64_t fingerprint = 0;  // Tokenizer::fingerprint()
  bool recorded() const { return vocab_size > 0; }
  // "gpt2 (vocab 50257, fingerprint 0x1f2e3d4c5b6a7988)"
  std::string describe() const;
};

struct ShardHeader {
  int version = 0;         // 1 (uint16 tokens) or 2 (uint32 tokens)
  int64_t num_tokens = 0;  // N
  int token_bytes = 0;     // 2 or 4
  TokenizerStamp tokenizer;
};

// Reads and checks the header: the file exists and is not empty, the magic and version are right,
// the file holds all N tokens, and a tokenizer stamp, when there is one, is well formed. Throws
// llm::Error naming the file otherwise.
ShardHeader read_shard_header(const std::filesystem::path& path);

// All the tokens of a shard, widened to int32 (a version 2 token >= 2^31 is an error, and so is a
// token at or above the vocabulary size of a stamped shard).
std::vector<int32_t> read_shard(const std::filesystem::path& path);

// Writes tokens as version 1 (uint16) when every token < 65536, else version 2 (uint32), with the
// tokenizer stamp when one is given (every token must then be below its vocabulary size). Writes to
// path + ".tmp" then renames, so a crash never leaves a half shard under the final name.
// Tokens must be >= 0, and there can be at most 2^31 - 1 of them (the count is an int32).
void write_shard(const std::filesystem::path& path, const std::vector<int32_t>& tokens,
                 const TokenizerStamp& tokenizer = {});

}  // namespace llm
