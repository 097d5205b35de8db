#pragma once
// defines: llm::train, the training loop behind `glassbox train`.
//
// One step: grad_accum micro-steps of forward+backward (gradients accumulate, each scaled by
// 1/grad_accum), the global gradient norm, clipping, the learning rate of this step, one AdamW update.
// Around it: validation loss every eval_interval steps, a progress line every log_interval steps,
// one metrics.jsonl line per step, checkpoints every checkpoint_interval steps and at the end.
#include "llm/train/train_config.hpp"

namespace llm {

struct TrainResult {
  double final_val_loss = 0;  // over eval_batches val batches after the last step
  double final_train_loss = 0;
  double ms_per_step = 0;     // mean over the steps of this run (after the first)
};

TrainResult train(const TrainConfig& config);

}  // namespace llm
