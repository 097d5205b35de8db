// make_tiny_checkpoint: real (random-weight) checkpoints of a tiny GPT with the byte tokenizer,
// laid out as the trainer lays out a run, for the visualizer tests:
//   OUT/snapshots/step_000100, OUT/snapshots/step_000200, OUT/checkpoint     (different seeds)
// and, outside the run, two broken checkpoints:
//   BAD/corrupt_config/      config.json that is not JSON, model.safetensors of garbage
//   BAD/corrupt_weights/     a good config.json, model.safetensors cut in half
// Usage: make_tiny_checkpoint OUT_DIR BAD_DIR
//        make_tiny_checkpoint --gpt2-small OUT_DIR GPT2_TOKENIZER_DIR
// The second form writes one random-weight checkpoint of GPT-2 small's shape (12 layers, 12 heads,
// 768 channels, 50257 tokens) with the GPT-2 tokenizer (encoder.json + vocab.bpe from the given
// folder), for benchmarking the visualizer at full size.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "llm/backend/backend.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/model/gpt.hpp"
#include "llm/tokenizer/byte_tokenizer.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--gpt2-small") {
    try {
      const fs::path tok = argv[3];
      auto tokenizer = llm::make_gpt2_tokenizer(tok / "encoder.json", tok / "vocab.bpe");
      auto backend = llm::make_cpu_backend();
      llm::GPT model(llm::gpt2_preset("gpt2"), *backend);
      model.init_weights(1);
      llm::save_model_checkpoint(argv[2], model, tokenizer.get());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "make_tiny_checkpoint: error: %s\n", e.what());
      return 1;
    }
    std::printf("wrote a GPT-2 small checkpoint to %s\n", argv[2]);
    return 0;
  }
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_tiny_checkpoint OUT_DIR BAD_DIR\n");
    return 2;
  }
  const fs::path out = argv[1], bad = argv[2];
  try {
    llm::GPTConfig config;
    config.max_seq_len = 64;
    config.vocab_size = 256;
    config.n_layer = 3;
    config.n_head = 4;
    config.n_embd = 32;
    auto backend = llm::make_cpu_backend();
    llm::GPT model(config, *backend);
    const llm::ByteTokenizer tokenizer;
    const fs::path dirs[] = {out / "snapshots" / "step_000100", out / "snapshots" / "step_000200",
                             out / "checkpoint"};
    uint64_t seed = 1;
    for (const fs::path& dir : dirs) {
      fs::create_directories(dir.parent_path());
      model.init_weights(seed++);
      llm::save_model_checkpoint(dir, model, &tokenizer);
    }

    fs::create_directories(bad / "corrupt_config");
    std::ofstream(bad / "corrupt_config" / "config.json") << "{ \"n_layer\": 3, oops";
    std::ofstream(bad / "corrupt_config" / "model.safetensors") << "not a safetensors file";

    const fs::path cut = bad / "corrupt_weights";
    fs::remove_all(cut);
    fs::create_directories(cut);
    for (const auto& entry :
         fs::directory_iterator(out / "checkpoint"))  // config, tokenizer, weights
      fs::copy_file(entry.path(), cut / entry.path().filename());
    fs::resize_file(cut / "model.safetensors", fs::file_size(cut / "model.safetensors") / 2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_tiny_checkpoint: error: %s\n", e.what());
    return 1;
  }
  std::printf("wrote tiny checkpoints under %s\n", out.c_str());
  return 0;
}
