// Tests for llm/data/shard: llm.c token shards, round trips and bad files.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "llm/core/error.hpp"
#include "llm/data/shard.hpp"
#include "test_inputs.hpp"

namespace fs = std::filesystem;

namespace {

// One folder for every case of this file, emptied when first asked for.
const fs::path& temp_dir() {
  static const fs::path dir = test_inputs::fresh_dir("shards");
  return dir;
}

std::string read_error(const fs::path& path) {
  try {
    llm::read_shard(path);
  } catch (const llm::Error& e) { return e.what(); }
  return "(no error)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A file with the given header ints and `payload` bytes after the 1024-byte header.
fs::path write_raw(const std::string& name, int32_t magic, int32_t version, int32_t count,
                   size_t payload) {
  fs::path path = temp_dir() / name;
  int32_t header[256] = {};
  header[0] = magic;
  header[1] = version;
  header[2] = count;
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(header), sizeof header);
  out << std::string(payload, '\0');
  return path;
}

}  // namespace

TEST_CASE("shards: uint16 round trip (version 1)") {
  const fs::path path = temp_dir() / "v1.bin";
  std::vector<int32_t> tokens = {0, 1, 50256, 65535, 7};
  llm::write_shard(path, tokens);
  CHECK_FALSE(fs::exists(path.string() + ".tmp"));
  CHECK(fs::file_size(path) == 1024 + 2 * tokens.size());
  llm::ShardHeader header = llm::read_shard_header(path);
  CHECK(header.version == 1);
  CHECK(header.token_bytes == 2);
  CHECK(header.num_tokens == 5);
  CHECK(llm::read_shard(path) == tokens);
}

TEST_CASE("shards: uint32 round trip (version 2) when a token is >= 65536") {
  const fs::path path = temp_dir() / "v2.bin";
  std::vector<int32_t> tokens = {3, 65536, 128255, 0};
  llm::write_shard(path, tokens);
  CHECK(fs::file_size(path) == 1024 + 4 * tokens.size());
  CHECK(llm::read_shard_header(path).version == 2);
  CHECK(llm::read_shard(path) == tokens);
}

TEST_CASE("shards: an empty token list round trips") {
  const fs::path path = temp_dir() / "none.bin";
  llm::write_shard(path, {});
  CHECK(llm::read_shard(path).empty());
}

TEST_CASE("shards: bad files give errors naming the file and the problem") {
  SUBCASE("missing") {
    std::string e = read_error(temp_dir() / "missing.bin");
    CHECK(contains(e, "missing.bin"));
    CHECK(contains(e, "no such file"));
  }
  SUBCASE("empty") {
    fs::path path = temp_dir() / "empty.bin";
    std::ofstream(path, std::ios::binary).close();
    std::string e = read_error(path);
    CHECK(contains(e, "empty.bin"));
    CHECK(contains(e, "empty"));
  }
  SUBCASE("wrong magic") {
    std::string e = read_error(write_raw("magic.bin", 12345, 1, 0, 0));
    CHECK(contains(e, "magic.bin"));
    CHECK(contains(e, "expected 20240520, found 12345"));
  }
  SUBCASE("unknown version") {
    std::string e = read_error(write_raw("version.bin", llm::kShardMagic, 3, 0, 0));
    CHECK(contains(e, "version.bin"));
    CHECK(contains(e, "unknown version 3"));
  }
  SUBCASE("truncated") {
    std::string e = read_error(write_raw("truncated.bin", llm::kShardMagic, 1, 100, 2 * 60));
    CHECK(contains(e, "truncated.bin"));
    CHECK(contains(e, "truncated: header says 100 tokens, file holds 60"));
  }
  SUBCASE("shorter than the header") {
    fs::path path = temp_dir() / "stub.bin";
    std::ofstream(path, std::ios::binary) << "xyz";
    std::string e = read_error(path);
    CHECK(contains(e, "stub.bin"));
    CHECK(contains(e, "shorter than the 1024-byte header"));
  }
  SUBCASE("uint32 token >= 2^31") {  // found by fuzzing: it came back as a negative id
    fs::path path = write_raw("huge_token.bin", llm::kShardMagic, 2, 2, 0);
    {
      std::ofstream out(path, std::ios::binary | std::ios::app);
      const uint32_t tokens[2] = {7, 0x80000000u};
      out.write(reinterpret_cast<const char*>(tokens), sizeof tokens);
    }
    std::string e = read_error(path);
    CHECK(contains(e, "huge_token.bin"));
    CHECK(contains(e, "token 1 is 2147483648"));
  }
  SUBCASE("negative token on write") {
    CHECK_THROWS_AS(llm::write_shard(temp_dir() / "neg.bin", {1, -2}), llm::Error);
  }
}
