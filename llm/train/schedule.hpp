#pragma once
// defines: llm::LearningRateSchedule, linear warm-up then cosine decay (nanoGPT's get_lr).
#include <cstdint>

namespace llm {

struct LearningRateSchedule {
  float max_lr = 1e-3f;
  float min_lr = 1e-4f;
  int64_t warmup_steps = 100;
  int64_t decay_steps = 2000;  // the step at which the cosine reaches min_lr and stays there

  // step is 0-based:
  //   step < warmup:            max_lr * (step + 1) / warmup
  //   warmup <= step <= decay:  min_lr + (max_lr - min_lr) * 0.5 * (1 + cos(pi * progress))
  //   step > decay:             min_lr
  // where progress = (step - warmup) / (decay - warmup) runs from 0 to 1.
  float at(int64_t step) const;
};

}  // namespace llm
