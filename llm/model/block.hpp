#pragma once
// defines: llm::LayerWeights, llm::LayerActivations, llm::AttentionStep, llm::block_forward,
//          llm::block_backward, llm::norm_forward, llm::norm_backward
//
// One pre-norm transformer block, the unit the model repeats L times:
//
//   residual2 = x + attn_proj( attention( rope?( qk_norm?( qkv( norm1(x) ) ) ) ) )  (attention)
//   residual3 = residual2 + fc_proj( act( fc( norm2(residual2) ) ) )                (MLP)
//
// The config's switches (llm/model/config.hpp) pick each piece: norm = layernorm (GPT-2) or
// rmsnorm (Llama); qk_norm RMS-normalises each query and key head (OLMo 2, Qwen3); rope rotates q
// and k by position (Llama) or not (GPT-2's learned positions are added before the first block);
// act = gelu (GPT-2), swiglu (Llama) or relu2 (max(x, 0)^2: modded-nanogpt, nanochat); attention
// has n_head query heads and n_kv_head key/value heads. A missing bias is an empty tensor.
//
// block_forward is the one place the block is written: the training forward (llm/model/gpt.cpp)
// and the KV-cache decoder (llm/model/decoder.cpp) both run it. They differ only in how attention
// sees the past, so that one op is passed in as an AttentionStep. block_backward is the same block
// differentiated by hand, op by op in reverse (as in llm.c).
#include <functional>
#include <vector>

#include "llm/backend/backend.hpp"
#include "llm/model/config.hpp"

namespace llm {

// One layer's weights (or their gradients): views into the stacked (L, ...) parameter tensors.
// Shapes as in ParameterTensors (llm/model/gpt.hpp); the biases are empty without bias, ln1b and
// ln2b with rmsnorm.
struct LayerWeights {
  Tensor ln1w, ln1b;          // (C), (C)
  Tensor qkvw, qkvb;          // (QKV, C), (QKV)
  Tensor qnormw, knormw;      // (hs), (hs)   QK-norm's gains (qk_norm only)
  Tensor attprojw, attprojb;  // (C, C), (C)
  Tensor ln2w, ln2b;          // (C), (C)
  Tensor fcw, fcb;            // (FC, C), (FC)
  Tensor fcprojw, fcprojb;    // (C, H), (C)

  // The ones the config has, in the order of the parameter arena (for gradient reduction, which
  // hands them on as a group).
  std::vector<Tensor> all() const {
    std::vector<Tensor> present;
    for (const Tensor& t : {ln1w, ln1b, qkvw, qkvb, qnormw, knormw, attprojw, attprojb, ln2w, ln2b,
                            fcw, fcb, fcprojw, fcprojb})
      if (!t.empty()) present.push_back(t);
    return present;
  }
};

// One layer's activations (or their gradients), B sequences of T positions. Training keeps every
// layer's for the backward; the decoder reuses one set of buffers for all layers, so there ln1 and
// ln2, attproj and fcproj may be the same tensor, qkv_rope may be qkv itself, and residual3 may be
// the block's own input x.
struct LayerActivations {
  Tensor ln1, ln1_mean, ln1_rstd;  // (B, T, C), (B, T), (B, T); the mean with layernorm only
  Tensor qkv;                      // (B, T, QKV)
  Tensor qkv_norm, qk_rstd;        // (B, T, QKV), (B, T, NH + NKV)  q, k heads normalised (qk_norm)
  Tensor qkv_rope;                 // (B, T, QKV)  q and k rotated by position (rope only)
  Tensor att;                      // the backend's attention state (training only)
  Tensor atty;                     // (B, T, C)   attention output, heads concatenated
  Tensor attproj;                  // (B, T, C)
  Tensor residual2;                // (B, T, C)   x after the attention branch
  Tensor ln2, ln2_mean, ln2_rstd;  // (B, T, C), (B, T), (B, T)
  Tensor fch, fch_gelu;            // (B, T, FC), (B, T, H)  fch_gelu = act(fch)
  Tensor fcproj;                   // (B, T, C)
  Tensor residual3;                // (B, T, C)   x after the MLP branch: the block's output
};

// Causal self-attention of the block: atty (B, T, C) from qkv (B, T, QKV), q and k already
// rotated when the model uses rope. Training attends over the T positions it holds and saves its
// state for the backward; the decoder appends the new keys and values to its cache and attends
// over the whole cached past.
using AttentionStep = std::function<void(Tensor atty, Tensor qkv)>;

// out = norm(inp) with the config's norm: layernorm (mean, rstd saved) or rmsnorm (rstd saved,
// mean unused, bias empty). out, inp (N, C); mean, rstd (N); weight, bias (C).
void norm_forward(Backend& be, const GPTConfig& config, Tensor out, Tensor mean, Tensor rstd,
                  Tensor inp, Tensor weight, Tensor bias);
void norm_backward(Backend& be, const GPTConfig& config, Tensor dinp, Tensor dweight, Tensor dbias,
                   Tensor dout, Tensor inp, Tensor weight, Tensor mean, Tensor rstd);

// residual3 = block(x), x (B, T, C) at positions pos0 .. pos0+T-1 (pos0 > 0 only when decoding
// with a cache). Fills every tensor of `a` that the backward reads.
void block_forward(Backend& be, const GPTConfig& config, const LayerWeights& w,
                   const LayerActivations& a, Tensor x, int pos0, const AttentionStep& attention);

// Given dresidual3 = dLoss/d(block output), ACCUMULATES the weight gradients into g and
// dLoss/dx into dx. x is the block's input. d holds the gradients of a's tensors: the ones inside
// the branches must be zero on entry, d.att is scratch, and d.residual2 must be zero too (it
// gathers the two paths into residual2).
void block_backward(Backend& be, const GPTConfig& config, const LayerWeights& w,
                    const LayerWeights& g, const LayerActivations& a, const LayerActivations& d,
                    Tensor x, Tensor dx);

}  // namespace llm
