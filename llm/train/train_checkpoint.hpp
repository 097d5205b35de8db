#pragma once
// defines: llm::TrainState, save_training_checkpoint, load_training_checkpoint
//
// A training checkpoint is a model checkpoint (llm/io/checkpoint.hpp) plus what resuming needs:
//   train_state.safetensors  the AdamW moments, "m.<name>" and "v.<name>" in our layout and dtype
//   train_state.json         {"step", "optimizer_steps", "train_loader": {epoch, shard, position},
//                             "config": <the full TrainConfig>}
// Resuming from it continues bit for bit: same weights, moments, data position and schedule.
#include <cstdint>
#include <filesystem>

#include "llm/data/dataloader.hpp"
#include "llm/model/gpt.hpp"
#include "llm/train/optimizer.hpp"
#include "llm/train/train_config.hpp"

namespace llm {

class Tokenizer;

struct TrainState {
  int64_t step = 0;             // the next step to run (0-based)
  int64_t optimizer_steps = 0;  // AdamW updates so far (its bias-correction step count)
  DataLoaderState train_loader;
  TrainConfig config;
};

void save_training_checkpoint(const std::filesystem::path& dir, GPT& model, AdamW& optimizer,
                              const Tokenizer* tokenizer, const TrainState& state);
// Loads weights and moments into model and optimizer (whose shapes must match the checkpoint's
// config.json) and returns the saved state. Throws llm::Error naming the file on any problem.
TrainState load_training_checkpoint(const std::filesystem::path& dir, GPT& model, AdamW& optimizer);
// Just the state (train_state.json), e.g. to read the run config before building the model.
TrainState read_train_state(const std::filesystem::path& dir);

}  // namespace llm
