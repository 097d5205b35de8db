#pragma once
// defines: llm::ShardHeader, read_shard_header, read_shard, write_shard (llm.c token shards)
//
// A shard is llm.c's token file, so shards prepared for llm.c (FineWeb, TinyStories) load as-is:
//   header: 256 x int32 little-endian
//     [0] magic 20240520
//     [1] version: 1 = tokens stored as uint16, 2 = tokens stored as uint32
//     [2] number of tokens N
//     [3..255] zero
//   then N tokens of 2 (version 1) or 4 (version 2) bytes each.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace llm {

inline constexpr int32_t kShardMagic = 20240520;
inline constexpr int kShardHeaderInts = 256;  // header size: 256 x int32 = 1024 bytes

struct ShardHeader {
  int version = 0;         // 1 (uint16 tokens) or 2 (uint32 tokens)
  int64_t num_tokens = 0;  // N
  int token_bytes = 0;     // 2 or 4
};

// Reads and checks the header: the file exists and is not empty, the magic and version are right,
// and the file holds all N tokens. Throws llm::Error naming the file otherwise.
ShardHeader read_shard_header(const std::filesystem::path& path);

// All the tokens of a shard, widened to int32 (a version 2 token >= 2^31 is an error).
std::vector<int32_t> read_shard(const std::filesystem::path& path);

// Writes tokens as version 1 (uint16) when every token < 65536, else version 2 (uint32). Writes to
// path + ".tmp" then renames, so a crash never leaves a half shard under the final name.
// Tokens must be >= 0, and there can be at most 2^31 - 1 of them (the count is an int32).
void write_shard(const std::filesystem::path& path, const std::vector<int32_t>& tokens);

}  // namespace llm
