// implements: llm.c token shards (see shard.hpp for the layout).
#include "llm/data/shard.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "llm/core/error.hpp"
#include "llm/io/atomic_file.hpp"
#include "llm/io/input_file.hpp"

namespace llm {
namespace {

constexpr int kStampNameBytes = 16;  // header words 7..10

// The tokenizer stamp of header words 4..10 (see shard.hpp), checked.
TokenizerStamp read_stamp(const int32_t* header, const std::string& where) {
  TokenizerStamp stamp;
  stamp.vocab_size = header[4];
  check(stamp.vocab_size > 0, where + "tokenizer stamp with vocabulary size " +
                                  std::to_string(stamp.vocab_size) + ", expected at least 1");
  stamp.fingerprint = uint64_t(uint32_t(header[5])) | uint64_t(uint32_t(header[6])) << 32;
  char name[kStampNameBytes];
  std::memcpy(name, header + 7, sizeof name);
  for (char c : name) {
    if (c == 0) break;
    check(c >= 0x20 && c < 0x7F, where + "tokenizer stamp with a name that is not printable ASCII");
    stamp.name += c;
  }
  check(!stamp.name.empty(), where + "tokenizer stamp without a name");
  return stamp;
}

// The shard at path, open for reading; its errors start "token shard PATH: ".
InputFile open_shard(const std::filesystem::path& path) {
  return InputFile(path, "token shard " + path.string() + ": ");
}

// Reads the shard's header from `file` and checks it against the file's size (see
// read_shard_header).
ShardHeader read_header(InputFile& file) {
  const std::string& where = file.where;
  check(file.size > 0, where + "file is empty");
  int32_t header[kShardHeaderInts];
  file.read_header(header, kShardHeaderInts);
  check(header[0] == kShardMagic, where + "wrong magic number: expected " +
                                      std::to_string(kShardMagic) + ", found " +
                                      std::to_string(header[0]) + " (not an llm.c token shard)");
  check(header[1] == 1 || header[1] == 2, where + "unknown version " + std::to_string(header[1]) +
                                              " (1 = uint16 tokens, 2 = uint32 tokens)");
  check(header[2] >= 0, where + "negative token count " + std::to_string(header[2]));
  ShardHeader out;
  out.version = header[1];
  out.token_bytes = header[1] == 1 ? 2 : 4;
  out.num_tokens = header[2];
  const uint64_t data_bytes = file.size - kShardHeaderInts * 4;
  const int64_t present = static_cast<int64_t>(data_bytes / out.token_bytes);
  check(present >= out.num_tokens, where + "truncated: header says " +
                                       std::to_string(out.num_tokens) + " tokens, file holds " +
                                       std::to_string(present));
  check(data_bytes == static_cast<uint64_t>(out.num_tokens) * out.token_bytes,
        where + "size mismatch: header says " + std::to_string(out.num_tokens) + " tokens (" +
            std::to_string(out.num_tokens * out.token_bytes) + " bytes) but " +
            std::to_string(data_bytes) + " bytes follow the header");
  if (header[3] == kTokenizerStampMagic) out.tokenizer = read_stamp(header, where);
  return out;
}

}  // namespace

ShardHeader read_shard_header(const std::filesystem::path& path) {
  InputFile file = open_shard(path);
  return read_header(file);
}

std::vector<int32_t> read_shard(const std::filesystem::path& path) {
  InputFile file = open_shard(path);
  const ShardHeader header = read_header(file);
  const size_t n = static_cast<size_t>(header.num_tokens);
  std::vector<int32_t> tokens(n);
  bool ok;
  if (header.version == 1) {
    std::vector<uint16_t> narrow(n);
    ok = std::fread(narrow.data(), 2, n, file.f) == n;
    std::copy(narrow.begin(), narrow.end(), tokens.begin());
  } else {
    ok = std::fread(tokens.data(), 4, n, file.f) == n;  // uint32 read as int32
  }
  check(ok, file.where + "read failed");
  if (header.version == 2) {
    // A uint32 token >= 2^31 would come out as a negative id and index before the embedding table.
    for (size_t i = 0; i < n; ++i)
      if (tokens[i] < 0)
        throw Error(file.where + "token " + std::to_string(i) + " is " +
                    std::to_string(static_cast<uint32_t>(tokens[i])) +
                    ", not a token id (>= 2^31)");
  }
  if (header.tokenizer.recorded()) {
    const int32_t V = header.tokenizer.vocab_size;
    for (size_t i = 0; i < n; ++i)
      if (tokens[i] >= V)
        throw Error(file.where + "token " + std::to_string(i) + " is " + std::to_string(tokens[i]) +
                    ", outside the vocabulary of its tokenizer " + header.tokenizer.describe());
  }
  return tokens;
}

std::string TokenizerStamp::describe() const {
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%016llx", static_cast<unsigned long long>(fingerprint));
  return name + " (vocab " + std::to_string(vocab_size) + ", fingerprint " + hex + ")";
}

void write_shard(const std::filesystem::path& path, const std::vector<int32_t>& tokens,
                 const TokenizerStamp& tokenizer) {
  const std::string where = "writing token shard " + path.string() + ": ";
  check(tokens.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()),
        where + std::to_string(tokens.size()) + " tokens do not fit one shard (max 2^31 - 1)");
  int32_t max_token = 0;
  for (int32_t t : tokens) {
    if (t < 0) throw Error(where + "negative token id " + std::to_string(t));
    max_token = std::max(max_token, t);
  }
  const int version = max_token < 65536 ? 1 : 2;
  int32_t header[kShardHeaderInts] = {};
  header[0] = kShardMagic;
  header[1] = version;
  header[2] = static_cast<int32_t>(tokens.size());
  if (tokenizer.recorded()) {
    check(max_token < tokenizer.vocab_size, where + "token " + std::to_string(max_token) +
                                                " is outside the vocabulary of " +
                                                tokenizer.describe());
    check(!tokenizer.name.empty() && tokenizer.name.size() <= size_t(kStampNameBytes),
          where + "tokenizer name '" + tokenizer.name + "' is not 1 to 16 characters");
    header[3] = kTokenizerStampMagic;
    header[4] = tokenizer.vocab_size;
    header[5] = static_cast<int32_t>(static_cast<uint32_t>(tokenizer.fingerprint));
    header[6] = static_cast<int32_t>(static_cast<uint32_t>(tokenizer.fingerprint >> 32));
    std::memcpy(header + 7, tokenizer.name.data(), tokenizer.name.size());
  }

  AtomicFile file(path, where);
  file.write(header, sizeof header);
  if (version == 1) {
    const std::vector<uint16_t> narrow(tokens.begin(), tokens.end());
    file.write(narrow.data(), narrow.size() * sizeof(uint16_t));
  } else {
    file.write(tokens.data(), tokens.size() * sizeof(int32_t));
  }
  file.commit();
}

}  // namespace llm
