#pragma once
// defines: llm::ParameterTensors, llm::ActivationTensors, llm::GPT
//
// GPT-2: token + learned position embeddings, L pre-LN transformer blocks, a final layernorm and an
// output head tied to the token embedding. Every op runs through a Backend&, so this one model
// definition serves the CPU reference and the GPU.
//
//   x = wte[tokens] + wpe[0..T)                                  (B, T, C)
//   for each layer l:                                           (llm/model/block.hpp)
//     x = x + attn_proj( attention( qkv( ln1(x) ) ) )
//     x = x + fc_proj( gelu( fc( ln2(x) ) ) )
//   logits = lnf(x) @ wte^T                                      (B, T, Vp)
#include <cstdint>
#include <functional>
#include <vector>

#include "llm/backend/backend.hpp"
#include "llm/core/arena.hpp"
#include "llm/model/block.hpp"
#include "llm/model/config.hpp"

namespace llm {

// The model's weights (and, in a second instance, their gradients), layers stacked on dimension 0.
// Names follow llm.c; the Hugging Face names are in llm/io/checkpoint.cpp.
struct ParameterTensors {
  GPTConfig config;
  Tensor wte;       // (Vp, C)     token embedding, also the output head
  Tensor wpe;       // (maxT, C)   position embedding
  Tensor ln1w;      // (L, C)
  Tensor ln1b;      // (L, C)
  Tensor qkvw;      // (L, 3C, C)
  Tensor qkvb;      // (L, 3C)
  Tensor attprojw;  // (L, C, C)
  Tensor attprojb;  // (L, C)
  Tensor ln2w;      // (L, C)
  Tensor ln2b;      // (L, C)
  Tensor fcw;       // (L, 4C, C)
  Tensor fcb;       // (L, 4C)
  Tensor fcprojw;   // (L, C, 4C)
  Tensor fcprojb;   // (L, C)
  Tensor lnfw;      // (C)
  Tensor lnfb;      // (C)

  // The one size table: visits every tensor with its name and shape, in memory order.
  template <typename Fn> void visit(Fn&& fn) {
    const int64_t Vp = config.padded_vocab_size, maxT = config.max_seq_len;
    const int64_t L = config.n_layer, C = config.n_embd;
    fn("wte", wte, Shape{Vp, C});
    fn("wpe", wpe, Shape{maxT, C});
    fn("ln1w", ln1w, Shape{L, C});
    fn("ln1b", ln1b, Shape{L, C});
    fn("qkvw", qkvw, Shape{L, 3 * C, C});
    fn("qkvb", qkvb, Shape{L, 3 * C});
    fn("attprojw", attprojw, Shape{L, C, C});
    fn("attprojb", attprojb, Shape{L, C});
    fn("ln2w", ln2w, Shape{L, C});
    fn("ln2b", ln2b, Shape{L, C});
    fn("fcw", fcw, Shape{L, 4 * C, C});
    fn("fcb", fcb, Shape{L, 4 * C});
    fn("fcprojw", fcprojw, Shape{L, C, 4 * C});
    fn("fcprojb", fcprojb, Shape{L, C});
    fn("lnfw", lnfw, Shape{C});
    fn("lnfb", lnfb, Shape{C});
  }

  // Layer l's weights: the l-th slice of each stacked tensor.
  LayerWeights layer(int l) const {
    return {ln1w.slice(l),     ln1b.slice(l),     qkvw.slice(l),    qkvb.slice(l),
            attprojw.slice(l), attprojb.slice(l), ln2w.slice(l),    ln2b.slice(l),
            fcw.slice(l),      fcb.slice(l),      fcprojw.slice(l), fcprojb.slice(l)};
  }
};

// Weight decay applies to the matrices (embeddings and matmul weights), not to biases or layernorm
// gains, as in nanoGPT's "every parameter with 2 or more dimensions" rule.
bool is_decayed(const char* parameter_name);
// The additive biases of the matmuls and layernorms (qkvb, ln1b, ..., lnfb).
bool is_bias(const char* parameter_name);

// Everything the forward pass saves for the backward (and, in a second instance, its gradients).
// Values are in the backend's dtype(); the statistics (layernorm means and rstds, the attention
// state, the losses) in its master_dtype(), see activation_dtype().
struct ActivationTensors {
  GPTConfig config;
  int B = 0, T = 0;
  Shape attention_state;  // backend-defined, e.g. (B, NH, T, T) on the CPU
  Tensor encoded;         // (B, T, C)
  Tensor ln1;             // (L, B, T, C)
  Tensor ln1_mean;        // (L, B, T)
  Tensor ln1_rstd;        // (L, B, T)
  Tensor qkv;             // (L, B, T, 3C)
  Tensor atty;            // (L, B, T, C)     attention output, heads concatenated
  Tensor att;             // (L, attention_state)
  Tensor attproj;         // (L, B, T, C)
  Tensor residual2;       // (L, B, T, C)     x after the attention branch
  Tensor ln2;             // (L, B, T, C)
  Tensor ln2_mean;        // (L, B, T)
  Tensor ln2_rstd;        // (L, B, T)
  Tensor fch;             // (L, B, T, 4C)
  Tensor fch_gelu;        // (L, B, T, 4C)
  Tensor fcproj;          // (L, B, T, C)
  Tensor residual3;  // (L, B, T, C)     x after the MLP branch: the residual stream out of layer l
  Tensor lnf;        // (B, T, C)
  Tensor lnf_mean;   // (B, T)
  Tensor lnf_rstd;   // (B, T)
  Tensor logits;     // (B, T, Vp)       overwritten with dlogits by the fused classifier
  Tensor losses;     // (B, T)

  // Layer l's activations: the l-th slice of each stacked tensor.
  LayerActivations layer(int l) const {
    return {ln1.slice(l),      ln1_mean.slice(l), ln1_rstd.slice(l), qkv.slice(l),
            att.slice(l),      atty.slice(l),     attproj.slice(l),  residual2.slice(l),
            ln2.slice(l),      ln2_mean.slice(l), ln2_rstd.slice(l), fch.slice(l),
            fch_gelu.slice(l), fcproj.slice(l),   residual3.slice(l)};
  }

  template <typename Fn> void visit(Fn&& fn) {
    const int64_t L = config.n_layer, C = config.n_embd, Vp = config.padded_vocab_size;
    Shape att_shape;
    att_shape.dims[0] = L;
    att_shape.rank = attention_state.rank + 1;
    for (int i = 0; i < attention_state.rank; i++) att_shape.dims[i + 1] = attention_state.dims[i];
    fn("encoded", encoded, Shape{B, T, C});
    fn("ln1", ln1, Shape{L, B, T, C});
    fn("ln1_mean", ln1_mean, Shape{L, B, T});
    fn("ln1_rstd", ln1_rstd, Shape{L, B, T});
    fn("qkv", qkv, Shape{L, B, T, 3 * C});
    fn("atty", atty, Shape{L, B, T, C});
    fn("att", att, att_shape);
    fn("attproj", attproj, Shape{L, B, T, C});
    fn("residual2", residual2, Shape{L, B, T, C});
    fn("ln2", ln2, Shape{L, B, T, C});
    fn("ln2_mean", ln2_mean, Shape{L, B, T});
    fn("ln2_rstd", ln2_rstd, Shape{L, B, T});
    fn("fch", fch, Shape{L, B, T, 4 * C});
    fn("fch_gelu", fch_gelu, Shape{L, B, T, 4 * C});
    fn("fcproj", fcproj, Shape{L, B, T, C});
    fn("residual3", residual3, Shape{L, B, T, C});
    fn("lnf", lnf, Shape{B, T, C});
    fn("lnf_mean", lnf_mean, Shape{B, T});
    fn("lnf_rstd", lnf_rstd, Shape{B, T});
    fn("logits", logits, Shape{B, T, Vp});
    fn("losses", losses, Shape{B, T});
  }
};

// The dtype `backend` keeps activation `name` in: master_dtype() for the statistics (ln*_mean,
// ln*_rstd, att, losses: f32 on a bf16 GPU, where bf16 would lose them), dtype() for the rest.
DType activation_dtype(const Backend& backend, const char* name);

class GPT {
 public:
  GPT(const GPTConfig& config, Backend& backend);

  const GPTConfig& config() const { return config_; }
  Backend& backend() { return backend_; }

  // GPT-2 initialisation: weights ~ N(0, 0.02), the two residual projections (attprojw, fcprojw)
  // ~ N(0, 0.02 / sqrt(2 L)) so the residual stream's variance does not grow with depth, biases 0,
  // layernorm gains 1. Deterministic for a seed.
  void init_weights(uint64_t seed);

  // Forward pass over tokens (B, T) (host i32). With targets (B, T) returns the mean cross-entropy
  // loss; without (nullptr) only fills acts.logits and returns 0.
  double forward(const int32_t* tokens, const int32_t* targets, int B, int T);
  // Called by the backward each time a group of gradients is final: no later op of this backward
  // writes them. In order: lnfw and lnfb; layer L-1's (grads.layer(L-1).all()), ..., layer 0's;
  // last wte and wpe (wte's second term, from the embedding, comes at the very end). The tensors
  // are views of `grads`. For starting their communication while the backward goes on
  // (llm/train/gradient_sync.hpp).
  using GradientsReady = std::function<void(const std::vector<Tensor>& final_grads)>;

  // Forward and backward: returns the mean loss and ACCUMULATES loss_scale * d(mean loss)/d(param)
  // into grads (loss_scale = 1 / grad_accum_steps when accumulating micro-steps). `on_ready`, when
  // given, hears of each group of gradients as the backward finishes it (see GradientsReady).
  double forward_backward(const int32_t* tokens, const int32_t* targets, int B, int T,
                          double loss_scale = 1.0, const GradientsReady& on_ready = {});
  void zero_grad();

  // Runs the L transformer blocks over the residual stream x (B, T, C) and returns the last block's
  // output. Block l writes activations_of(l) and attends with attention(l, atty, qkv). The training
  // forward and the KV-cache decoder (llm/model/decoder.hpp) both run the model through here; they
  // differ only in where the activations live and in how attention reaches the past.
  using LayerAttention = std::function<void(int l, Tensor atty, Tensor qkv)>;
  Tensor forward_blocks(Tensor x, const std::function<LayerActivations(int l)>& activations_of,
                        const LayerAttention& attention);

  ParameterTensors params;
  ParameterTensors grads;
  ActivationTensors acts;  // of the last forward pass (for probes: att, residual3, logits)

 private:
  void reserve(int B, int T);  // (re)carves the activations when (B, T) changes
  double run_forward(const int32_t* tokens, const int32_t* targets, int B, int T, double dloss);
  void run_backward(const GradientsReady& on_ready);

  GPTConfig config_;
  Backend& backend_;
  Arena param_memory_, grad_memory_;
  Arena act_memory_, act_grad_memory_;
  ActivationTensors act_grads_;
  Arena token_memory_;
  Tensor tokens_, targets_;  // (B, T) i32 on the backend's device
};

}  // namespace llm
