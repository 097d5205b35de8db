#pragma once
// defines: llm::evaluate_loss, the mean loss of a model over batches of a DataLoader.
#include <cstdint>

#include "llm/data/dataloader.hpp"
#include "llm/dist/comm.hpp"
#include "llm/model/gpt.hpp"

namespace llm {

struct EvalResult {
  double loss = 0;  // mean cross-entropy per token, in nats
  int64_t batches = 0;
  int64_t tokens = 0;
};

// Resets the loader and averages the loss over `batches` batches (0 = one pass over all of its
// data, as many whole batches as fit). The loader's position afterwards is unspecified.
EvalResult evaluate_loss(GPT& model, DataLoader& loader, int64_t batches);
// The same over ranks: rank r runs batches r, r + W, r + 2W, ... of those `batches` and the sums
// are all-reduced, so every rank returns the same mean as one process would (up to summation
// order).
EvalResult evaluate_loss(GPT& model, DataLoader& loader, int64_t batches, Comm& comm);

}  // namespace llm
