// libFuzzer harness for llm.c token shards (llm/data/shard.cpp): any file contents must either load
// or throw llm::Error, never crash or hit undefined behaviour. The reader works on files, so each
// input is written to a scratch file (in /dev/shm when there is one) first.
// Build and run: tests/fuzz/run.sh SECONDS (clang, -fsanitize=fuzzer,address,undefined).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "llm/core/error.hpp"
#include "llm/data/shard.hpp"

namespace {

std::filesystem::path scratch_path() {
  const std::filesystem::path dir = std::filesystem::is_directory("/dev/shm")
                                        ? "/dev/shm"
                                        : std::filesystem::temp_directory_path();
  return dir / ("glassbox_fuzz_shard_" + std::to_string(::getpid()) + ".bin");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path path = scratch_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    const llm::ShardHeader header = llm::read_shard_header(path);
    const std::vector<int32_t> tokens = llm::read_shard(path);
    if (int64_t(tokens.size()) != header.num_tokens) __builtin_trap();  // the two readers disagree
    for (int32_t t : tokens)
      if (t < 0)
        __builtin_trap();  // token ids index the embedding: a negative one must not get out
  } catch (const llm::Error&) {
    // rejected with a message
  }
  return 0;
}
