// make_tiny_checkpoint: real (random-weight) checkpoints of a tiny GPT with the byte tokenizer, laid
// out as the trainer lays out a run, for the visualizer tests:
//   OUT/snapshots/step_000100, OUT/snapshots/step_000200, OUT/checkpoint     (different seeds)
// and, outside the run, two broken checkpoints:
//   BAD/corrupt_config/      config.json that is not JSON, model.safetensors of garbage
//   BAD/corrupt_weights/     a good config.json, model.safetensors cut in half
// Usage: make_tiny_checkpoint OUT_DIR BAD_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "llm/backend/backend.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/model/gpt.hpp"
#include "llm/tokenizer/byte_tokenizer.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_tiny_checkpoint OUT_DIR BAD_DIR\n");
    return 2;
  }
  const fs::path out = argv[1], bad = argv[2];
  try {
    llm::GPTConfig config;
    config.max_seq_len = 64;
    config.vocab_size = 256;
    config.padded_vocab_size = llm::pad_vocab(256);
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
    fs::copy_file(out / "checkpoint" / "config.json", cut / "config.json");
    fs::copy_file(out / "checkpoint" / "tokenizer.json", cut / "tokenizer.json");
    fs::copy_file(out / "checkpoint" / "model.safetensors", cut / "model.safetensors");
    fs::resize_file(cut / "model.safetensors", fs::file_size(cut / "model.safetensors") / 2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_tiny_checkpoint: error: %s\n", e.what());
    return 1;
  }
  std::printf("wrote tiny checkpoints under %s\n", out.c_str());
  return 0;
}
