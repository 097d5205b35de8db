#include "llm/train/schedule.hpp"

#include <cmath>
#include <numbers>

namespace llm {

float LearningRateSchedule::at(int64_t step) const {
  if (step < warmup_steps) return max_lr * float(step + 1) / float(warmup_steps);
  if (step > decay_steps) return min_lr;
  const double progress = decay_steps > warmup_steps
                              ? double(step - warmup_steps) / double(decay_steps - warmup_steps)
                              : 1.0;
  const double coeff = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));  // 1 -> 0
  return float(min_lr + coeff * (max_lr - min_lr));
}

}  // namespace llm
