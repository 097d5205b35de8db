#pragma once
// defines: llm::MemoryEstimate, estimate_memory: the bytes a training run holds, from the size
// tables.
#include <cstdint>

#include "llm/backend/backend.hpp"
#include "llm/model/config.hpp"

namespace llm {

struct MemoryEstimate {
  int64_t parameters = 0;  // bytes of weights (padded vocabulary included)
  int64_t gradients = 0;
  int64_t optimizer = 0;    // AdamW m and v (and master weights on a bf16 backend)
  int64_t activations = 0;  // saved activations and their gradients for one micro-batch
  int64_t total() const { return parameters + gradients + optimizer + activations; }
};

// Counts the same views the model and optimizer carve, for batch B and sequence length T.
MemoryEstimate estimate_memory(const GPTConfig& config, int B, int T, const Backend& backend);

}  // namespace llm
