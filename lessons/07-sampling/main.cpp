// Lesson 07's result: (1) the KV cache's speedup, measured: greedy generation by recomputing every
// position for every new token (with llm::GPT::forward, and with llm::Decoder emptied each time)
// against llm::Decoder keeping its keys and values and running one position per token; all three
// must produce the same tokens. (2) Text
// sampled with YOUR sampler at several temperatures, from a small character model trained here for
// 300 steps (`lesson_07_main STEPS` for more) or from a checkpoint (`lesson_07_main
// CHECKPOINT_DIR`, e.g. runs/shakespeare_char/checkpoint after scripts/train_shakespeare.sh).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>

#include "common/char_model.hpp"
#include "lesson.hpp"
#include "llm/model/decoder.hpp"
#include "llm/tokenizer/tokenizer.hpp"

using namespace lesson07;
using clock_type = std::chrono::steady_clock;

namespace {
double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}
}  // namespace

int main(int argc, char** argv) try {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines appear as they happen, even in a pipe
  // A checkpoint directory (e.g. runs/shakespeare_char/checkpoint from
  // scripts/train_shakespeare.sh) gives a properly trained model; otherwise train one here for a
  // few minutes' worth of steps.
  const std::string arg = argc > 1 ? argv[1] : "";
  const bool from_checkpoint = !arg.empty() && std::filesystem::is_directory(arg);
  const int train_steps = !arg.empty() && !from_checkpoint ? std::atoi(arg.c_str()) : 300;
  auto backend = llm::make_cpu_backend(llm::DType::f32);
  // Trained briefly: T = 256, so every position the samples below use gets trained.
  const lesson::CharModel loaded = lesson::load_or_train_char_model(
      from_checkpoint ? arg : "", *backend,
      {.steps = train_steps, .B = 2, .T = 256, .init_seed = 7, .data_seed = 8, .log_every = 50});
  const std::unique_ptr<llm::Tokenizer>& tokenizer = loaded.tokenizer;
  llm::GPT& model = *loaded.model;
  const llm::GPTConfig config = model.config();
  const std::vector<int32_t> prompt = tokenizer->encode("ROMEO:\n");
  const int generate = std::min(200, config.max_seq_len - int(prompt.size()));

  // ---- (1) the KV cache, measured ----
  std::vector<int32_t> full = prompt, cached = prompt;
  const int V = config.vocab_size;
  auto argmax = [&](const float* logits) {
    return int32_t(std::max_element(logits, logits + V) - logits);
  };
  auto start = clock_type::now();
  for (int i = 0; i < generate; i++) {  // recompute positions 0 .. t for every new token
    const int T = int(full.size());
    model.forward(full.data(), nullptr, 1, T);
    std::vector<float> all(size_t(T) * config.padded_vocab_size());
    backend->copy_to_host(all.data(), model.acts.logits);  // (1, T, Vp): we need row T-1
    full.push_back(argmax(all.data() + size_t(T - 1) * config.padded_vocab_size()));
  }
  const double t_full = seconds_since(start);
  // The same work without GPT::forward's overhead: a Decoder (buffers sized once for maxT) that
  // forgets its cache and re-runs all t positions for every new token.
  std::vector<int32_t> recomputed = prompt;
  start = clock_type::now();
  {
    llm::Decoder d(model, 1);
    for (int i = 0; i < generate; i++) {
      d.reset();
      recomputed.push_back(argmax(d.step(recomputed.data(), int(recomputed.size())).data()));
    }
  }
  const double t_recompute = seconds_since(start);
  start = clock_type::now();
  llm::Decoder decoder(model, 1);
  const std::vector<float>* logits = &decoder.step(prompt.data(), int(prompt.size()));  // prefill
  for (int i = 0; i < generate; i++) {
    cached.push_back(argmax(logits->data()));
    if (i + 1 < generate) logits = &decoder.step(&cached.back(), 1);  // one new position
  }
  const double t_cached = seconds_since(start);
  std::printf("greedy generation of %d tokens after a %zu-token prompt:\n", generate,
              prompt.size());
  std::printf("  GPT::forward on all t tokens, every token:   %7.1f ms  (%.2f ms/token)\n",
              t_full * 1e3, t_full * 1e3 / generate);
  std::printf("  Decoder without its cache (reset + t tokens): %7.1f ms  (%.2f ms/token)\n",
              t_recompute * 1e3, t_recompute * 1e3 / generate);
  std::printf("  Decoder with its KV cache (1 token):          %7.1f ms  (%.2f ms/token)\n",
              t_cached * 1e3, t_cached * 1e3 / generate);
  std::printf(
      "  KV-cache speedup: %.1fx over the same decoder without its cache (%.1fx over "
      "GPT::forward);\n"
      "  the three generations are %s\n",
      t_recompute / t_cached, t_full / t_cached,
      (full == cached && recomputed == cached) ? "identical" : "DIFFERENT");

  // ---- (2) sampling with your sampler ----
  for (float temperature : {0.0f, 0.8f, 1.5f}) {
    std::mt19937_64 rng(9);
    llm::Decoder d(model, 1);
    std::vector<int32_t> out = prompt;
    const std::vector<float>* l = &d.step(prompt.data(), int(prompt.size()));
    for (int i = 0; i < generate; i++) {
      const std::vector<float> probs = sampling_distribution(l->data(), V, temperature, 0, 0.95f);
      const int32_t next = sample_from(probs, double(rng() >> 11) * 0x1.0p-53);
      if (next < 0 || next >= V) {
        std::printf("(your sampler returned token %d: finish lesson 07's functions)\n", next);
        return 1;
      }
      out.push_back(next);
      if (i + 1 < generate) l = &d.step(&out.back(), 1);
    }
    std::printf("--- temperature %.1f, top-p 0.95 ---\n%s\n", temperature,
                tokenizer->decode(out).c_str());
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "lesson 07: %s\n", e.what());
  return 1;
}
