#pragma once
// defines: llm::TrainState, save_training_checkpoint, load_training_checkpoint
//
// A training checkpoint is a model checkpoint (llm/io/checkpoint.hpp) plus what resuming needs:
//   train_state.safetensors  the AdamW moments, "m.<name>" and "v.<name>" in our layout and dtype,
//                            and with --optimizer muon Muon's momentum, "muon.<name>" for qkvw,
//                            attprojw, fcw and fcprojw (the AdamW moments of those stay 0)
//   train_state.json         {"step", "optimizer_steps", "train_loader": {epoch, shard, position},
//                             "world_size", "global_batch", "config": <the full TrainConfig>}
// Resuming from it continues bit for bit: same weights, moments, data position and schedule.
//
// Data parallel: the data position is global (the same on every rank), and the moments are stored
// whole even when ZeRO-1 sharded them over ranks (saving gathers them, loading takes each rank's
// shard), so a checkpoint resumes at any world size, with or without ZeRO, as long as the global
// batch (world_size * batch_size * grad_accum sequences) stays the same; see trainer.cpp.
#include <cstdint>
#include <filesystem>

#include "llm/data/dataloader.hpp"
#include "llm/dist/comm.hpp"
#include "llm/model/gpt.hpp"
#include "llm/train/muon.hpp"
#include "llm/train/optimizer.hpp"
#include "llm/train/train_config.hpp"

namespace llm {

class Tokenizer;

struct TrainState {
  int64_t step = 0;             // the next step to run (0-based)
  int64_t optimizer_steps = 0;  // AdamW updates so far (its bias-correction step count)
  DataLoaderState train_loader;
  int world_size = 1;  // ranks of the run that saved it
  int64_t global_batch =
      0;  // sequences per optimizer step over all ranks; 0: unknown (older files)
  TrainConfig config;
};

// Every rank calls it (a collective when the optimizer holds only its ZeRO shard of the moments:
// rank 0 gathers them); only rank 0 writes. `muon`: the Muon beside AdamW, if any (every rank holds
// all of its momentum, so nothing is gathered).
void save_training_checkpoint(const std::filesystem::path& dir, GPT& model, AdamW& optimizer,
                              const Tokenizer* tokenizer, const TrainState& state, Comm& comm,
                              Muon* muon = nullptr);
// Loads weights and moments (the optimizer's shard of them) into model and optimizer, whose shapes
// must match the checkpoint's config.json, and returns the saved state. Every rank reads the files
// (multi-node runs need the run directory on a shared file system). Throws llm::Error naming the
// file on any problem.
// With `muon`, its momentum too (an error naming the file when the checkpoint has none).
TrainState load_training_checkpoint(const std::filesystem::path& dir, GPT& model, AdamW& optimizer,
                                    Muon* muon = nullptr);
// The weights alone (model.safetensors of any checkpoint directory, e.g. --init-from), into the
// model and, where the optimizer keeps f32 master weights, into those at full precision too
// (AdamW's, and with `muon` Muon's of the hidden matrices).
void load_weights_and_masters(const std::filesystem::path& dir, GPT& model, AdamW& optimizer,
                              Muon* muon = nullptr);
// Just the state (train_state.json), e.g. to read the run config before building the model.
TrainState read_train_state(const std::filesystem::path& dir);

}  // namespace llm
