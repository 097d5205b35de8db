// Fuzz harness for a checkpoint's config.json (read_model_config in llm/io/checkpoint.cpp): any
// file must either give a valid GPTConfig or throw llm::Error.
#include <cstddef>
#include <cstdint>

#include "llm/core/error.hpp"
#include "llm/io/checkpoint.hpp"
#include "scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz_scratch::write_file("config.json", data, size);
  try {
    const llm::GPTConfig c = llm::read_model_config(path);
    if (c.n_layer < 1 || c.n_head < 1 || c.n_embd < 1 || c.vocab_size < 1 ||
        c.padded_vocab_size() < c.vocab_size)
      __builtin_trap();  // read_model_config validates what it returns
  } catch (const llm::Error&) {
    // refused with a message
  }
  return 0;
}
