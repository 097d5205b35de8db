// Fuzz harness for llm.c model files (llm/io/llmc_checkpoint.cpp): any file must either be refused
// with llm::Error or load into a model of the header's shape (when that model is small enough to
// build for every input: at most 1M parameters).
#include <cstddef>
#include <cstdint>

#include "llm/backend/backend.hpp"
#include "llm/core/error.hpp"
#include "llm/io/llmc_checkpoint.hpp"
#include "llm/model/gpt.hpp"
#include "llm/train/optimizer.hpp"
#include "scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz_scratch::write_file("model.bin", data, size);
  try {
    const llm::LlmcHeader header = llm::read_llmc_header(path);
    if (llm::parameter_arena_size(header.config) > (1 << 20)) return 0;
    static const auto backend = llm::make_cpu_backend(llm::DType::f32);
    llm::GPT model(header.config, *backend);
    llm::load_llmc_weights(path, model);
  } catch (const llm::Error&) {
    // refused with a message
  }
  return 0;
}
