#pragma once
// defines: llm::LayerWeights, llm::LayerActivations, llm::AttentionStep, llm::block_forward,
//          llm::block_backward
//
// One pre-LN transformer block of GPT-2, the unit the model repeats L times:
//
//   residual2 = x + attn_proj( attention( qkv( ln1(x) ) ) )        the attention branch
//   residual3 = residual2 + fc_proj( gelu( fc( ln2(residual2) ) ) ) the MLP branch
//
// block_forward is the one place the block is written: the training forward (llm/model/gpt.cpp)
// and the KV-cache decoder (llm/model/decoder.cpp) both run it. They differ only in how attention
// sees the past, so that one op is passed in as an AttentionStep. block_backward is the same block
// differentiated by hand, op by op in reverse (as in llm.c).
#include <functional>
#include <vector>

#include "llm/backend/backend.hpp"

namespace llm {

// One layer's weights (or their gradients): views into the stacked (L, ...) parameter tensors.
struct LayerWeights {
  Tensor ln1w, ln1b;          // (C), (C)
  Tensor qkvw, qkvb;          // (3C, C), (3C)
  Tensor attprojw, attprojb;  // (C, C), (C)
  Tensor ln2w, ln2b;          // (C), (C)
  Tensor fcw, fcb;            // (4C, C), (4C)
  Tensor fcprojw, fcprojb;    // (C, 4C), (C)

  // In the order of the parameter arena (for gradient reduction, which hands them on as a group).
  std::vector<Tensor> all() const {
    return {ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb};
  }
};

// One layer's activations (or their gradients), B sequences of T positions. Training keeps every
// layer's for the backward; the decoder reuses one set of buffers for all layers, so there ln1 and
// ln2, attproj and fcproj may be the same tensor, and residual3 may be the block's own input x.
struct LayerActivations {
  Tensor ln1, ln1_mean, ln1_rstd;  // (B, T, C), (B, T), (B, T)
  Tensor qkv;                      // (B, T, 3C)
  Tensor att;                      // the backend's attention state (training only)
  Tensor atty;                     // (B, T, C)   attention output, heads concatenated
  Tensor attproj;                  // (B, T, C)
  Tensor residual2;                // (B, T, C)   x after the attention branch
  Tensor ln2, ln2_mean, ln2_rstd;  // (B, T, C), (B, T), (B, T)
  Tensor fch, fch_gelu;            // (B, T, 4C), (B, T, 4C)
  Tensor fcproj;                   // (B, T, C)
  Tensor residual3;                // (B, T, C)   x after the MLP branch: the block's output
};

// Causal self-attention of the block: atty (B, T, C) from qkv (B, T, 3C). Training attends over the
// T positions it holds and saves its state for the backward; the decoder appends the new keys and
// values to its cache and attends over the whole cached past.
using AttentionStep = std::function<void(Tensor atty, Tensor qkv)>;

// residual3 = block(x), x (B, T, C). Fills every tensor of `a` that the backward reads.
void block_forward(Backend& be, const LayerWeights& w, const LayerActivations& a, Tensor x,
                   const AttentionStep& attention);

// Given dresidual3 = dLoss/d(block output), ACCUMULATES the weight gradients into g and
// dLoss/dx into dx. x is the block's input. d holds the gradients of a's tensors: the ones inside
// the branches must be zero on entry, d.att is scratch, and d.residual2 must be zero too (it
// gathers the two paths into residual2).
void block_backward(Backend& be, const LayerWeights& w, const LayerWeights& g,
                    const LayerActivations& a, const LayerActivations& d, Tensor x, Tensor dx,
                    int n_head);

}  // namespace llm
