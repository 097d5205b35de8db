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
//        make_tiny_checkpoint --llama OUT_DIR
// The third form writes one tiny Llama-style checkpoint (RMSNorm, RoPE, SwiGLU, 4 query heads
// sharing 2 key/value heads, no biases, its own lm_head) with the byte tokenizer, trained for a
// few dozen AdamW steps on a passage of Hamlet, so its attention and predictions have some
// structure. It fails unless the training loss fell below half of its start.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "llm/backend/backend.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/model/gpt.hpp"
#include "llm/tokenizer/byte_tokenizer.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"
#include "llm/train/optimizer.hpp"

namespace fs = std::filesystem;

namespace {

// The training text of the Llama-style checkpoint (Hamlet, act 3 scene 1).
constexpr const char* kHamlet =
    "To be, or not to be, that is the question: Whether 'tis nobler in the mind to suffer The "
    "slings and arrows of outrageous fortune, Or to take arms against a sea of troubles And by "
    "opposing end them. To die: to sleep; No more; and by a sleep to say we end The heart-ache "
    "and the thousand natural shocks That flesh is heir to, 'tis a consummation Devoutly to be "
    "wish'd. To die, to sleep; To sleep: perchance to dream: ay, there's the rub;";

// Trains a tiny Llama-style model on kHamlet and saves it to `out`.
void write_llama(const fs::path& out) {
  llm::GPTConfig config;
  config.max_seq_len = 64;
  config.vocab_size = 256;
  config.n_layer = 3;
  config.n_head = 4;
  config.n_kv_head = 2;
  config.n_embd = 32;
  config.norm = "rmsnorm";
  config.position = "rope";
  config.mlp = "swiglu";
  config.mlp_hidden = 64;
  config.bias = false;
  config.tie_embeddings = false;
  auto backend = llm::make_cpu_backend();
  llm::GPT model(config, *backend);
  model.init_weights(1);
  const llm::ByteTokenizer tokenizer;
  const std::vector<int32_t> text = tokenizer.encode(kHamlet);
  // Batches of B windows of T + 1 tokens at a fixed stride through the text: inputs and targets.
  constexpr int B = 4, T = 32, kSteps = 80;
  const size_t windows = text.size() - T - 1;
  std::vector<int32_t> x(B * T), y(B * T);
  llm::AdamW adamw(model, llm::AdamWConfig{});
  double first = 0, last = 0;
  for (int step = 0; step < kSteps; step++) {
    for (int b = 0; b < B; b++) {
      const size_t start = (static_cast<size_t>(step) * B + b) * 37 % windows;
      for (int t = 0; t < T; t++) {
        x[b * T + t] = text[start + t];
        y[b * T + t] = text[start + t + 1];
      }
    }
    model.zero_grad();
    last = model.forward_backward(x.data(), y.data(), B, T);
    if (step == 0) first = last;
    adamw.step(1e-2f, 1.0f);
  }
  std::printf("llama-style: training loss %.3f -> %.3f in %d steps\n", first, last, kSteps);
  if (!(last < first / 2)) throw std::runtime_error("the Llama-style model did not learn");
  llm::save_model_checkpoint(out, model, &tokenizer);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--llama") {
    try {
      write_llama(argv[2]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "make_tiny_checkpoint: error: %s\n", e.what());
      return 1;
    }
    std::printf("wrote a tiny Llama-style checkpoint to %s\n", argv[2]);
    return 0;
  }
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
    std::fprintf(stderr,
                 "usage: make_tiny_checkpoint OUT_DIR BAD_DIR | --gpt2-small OUT_DIR GPT2_DIR | "
                 "--llama OUT_DIR\n");
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
