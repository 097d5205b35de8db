#pragma once
// defines: lesson::char_gpt_config, lesson::BriefTraining, lesson::CharModel,
// lesson::load_or_train_char_model: the small character-level GPT the lessons' demos run.
//
// A lesson main either loads a checkpoint (e.g. runs/shakespeare_char/checkpoint after
// scripts/train_shakespeare.sh) or trains a small character model of tinyshakespeare for a few
// hundred steps with the library's own training step (lesson 06): random windows of the corpus,
// AdamW, the global gradient norm clipped to 1, the learning rate warmed up over 20 steps and then
// decayed from 3e-3 to 3e-4.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/data.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/model/gpt.hpp"
#include "llm/tokenizer/char_tokenizer.hpp"
#include "llm/tokenizer/tokenizer.hpp"
#include "llm/train/optimizer.hpp"
#include "llm/train/schedule.hpp"

namespace lesson {

// A GPT over `vocab_size` characters: n_layer blocks of n_head heads and n_embd channels, and
// max_seq_len learned positions.
inline llm::GPTConfig char_gpt_config(int vocab_size, int n_layer, int n_head, int n_embd,
                                      int max_seq_len) {
  llm::GPTConfig config;
  config.vocab_size = vocab_size;
  config.max_seq_len = max_seq_len;
  config.n_layer = n_layer;
  config.n_head = n_head;
  config.n_embd = n_embd;
  return config;
}

// How a lesson trains its model when no checkpoint is given: a 4-layer, 4-head, 128-channel model
// with context T, `steps` steps of B windows of T characters.
struct BriefTraining {
  int steps = 300;
  int B = 8;
  int T = 64;
  uint64_t init_seed = 1;  // the weights
  uint64_t data_seed = 2;  // the windows
  int log_every = 50;      // a loss line every log_every steps, and at the last
};

struct CharModel {
  std::unique_ptr<llm::Tokenizer> tokenizer;
  std::unique_ptr<llm::GPT> model;
  bool trained_here = false;  // false when loaded from a checkpoint
};

// The model in `checkpoint` when that names one, else a character model trained here as `run`
// says.
inline CharModel load_or_train_char_model(const std::string& checkpoint, llm::Backend& backend,
                                          const BriefTraining& run) {
  CharModel result;
  if (!checkpoint.empty()) {
    result.tokenizer = llm::load_tokenizer(checkpoint);
    result.model = std::make_unique<llm::GPT>(llm::read_checkpoint_config(checkpoint), backend);
    llm::load_model_weights(checkpoint, *result.model);
    std::printf("loaded %s\n", checkpoint.c_str());
    return result;
  }
  const std::string text = read_tinyshakespeare();
  auto chars = std::make_unique<llm::CharTokenizer>(llm::CharTokenizer::from_corpus(text));
  const std::vector<int32_t> ids = chars->encode(text);
  result.model =
      std::make_unique<llm::GPT>(char_gpt_config(chars->vocab_size(), 4, 4, 128, run.T), backend);
  result.tokenizer = std::move(chars);
  result.trained_here = true;
  llm::GPT& m = *result.model;
  m.init_weights(run.init_seed);
  llm::AdamW adamw(m, llm::AdamWConfig{});
  const llm::LearningRateSchedule schedule{3e-3f, 3e-4f, 20, run.steps};
  std::mt19937_64 rng(run.data_seed);
  const int B = run.B, T = run.T;
  std::vector<int32_t> x(B * T), y(B * T);  // (B, T) inputs and their next characters
  const auto start = std::chrono::steady_clock::now();
  for (int step = 0; step < run.steps; step++) {
    for (int b = 0; b < B; b++) {
      const size_t s = rng() % (ids.size() - T - 1);
      for (int t = 0; t < T; t++) x[b * T + t] = ids[s + t], y[b * T + t] = ids[s + t + 1];
    }
    m.zero_grad();
    const double loss = m.forward_backward(x.data(), y.data(), B, T);
    const double norm = llm::global_grad_norm(m);
    adamw.step(schedule.at(step), norm > 1.0 ? float(1.0 / norm) : 1.0f);
    if ((step + 1) % run.log_every == 0 || step + 1 == run.steps)
      std::printf("training: step %d/%d  loss %.3f  (%.0f s)\n", step + 1, run.steps, loss,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return result;
}

}  // namespace lesson
