// Fuzz harness for llm.c token shards (llm/data/shard.cpp): any file contents must either load or
// throw llm::Error, never crash or hit undefined behaviour; what loads must agree with its header.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "llm/core/error.hpp"
#include "llm/data/shard.hpp"
#include "scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz_scratch::write_file("shard.bin", data, size);
  try {
    const llm::ShardHeader header = llm::read_shard_header(path);
    const std::vector<int32_t> tokens = llm::read_shard(path);
    if (int64_t(tokens.size()) != header.num_tokens) __builtin_trap();  // the two readers disagree
    for (int32_t t : tokens) {
      if (t < 0) __builtin_trap();  // ids index the embedding: a negative one must not get out
      if (header.tokenizer.recorded() && t >= header.tokenizer.vocab_size) __builtin_trap();
    }
  } catch (const llm::Error&) {
    // rejected with a message
  }
  return 0;
}
