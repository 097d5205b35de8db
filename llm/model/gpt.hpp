#pragma once
// defines: llm::ParameterTensors, llm::ActivationTensors, llm::GPT
//
// The one model: GPT-2 by default, a Llama-style decoder by its config's switches
// (llm/model/config.hpp). Token embeddings (+ learned positions), L pre-norm transformer blocks, a
// final norm and an output head (tied to the token embedding, or its own). Every op runs through a
// Backend&, so this one model definition serves the CPU reference and the GPU.
//
//   x = wte[tokens] (+ wpe[0..T) when learned)                  (B, T, C)
//   for each layer l:                                           (llm/model/block.hpp)
//     x = x + attn_proj( attention( rope?( qkv( norm1(x) ) ) ) )
//     x = x + fc_proj( gelu, swiglu or relu2( fc( norm2(x) ) ) )
//   logits = normf(x) @ head^T, head = wte or lm_head            (B, T, Vp)
#include <cstdint>
#include <functional>
#include <vector>

#include "llm/backend/backend.hpp"
#include "llm/core/arena.hpp"
#include "llm/model/block.hpp"
#include "llm/model/config.hpp"
#include "llm/core/tensor_kind.hpp"

namespace llm {

// The model's weights (and, in a second instance, their gradients), layers stacked on dimension 0.
// Names follow llm.c; the Hugging Face names are in llm/io/checkpoint.cpp. A tensor the config's
// switches leave out (wpe with rope, the biases without bias, a layernorm's bias with rmsnorm,
// lm_head when tied) is not listed by visit() and stays empty.
// Shapes: QKV = (NH + 2 NKV) hs the fused q, k, v channels; FC = H (gelu, relu2) or 2H (swiglu:
// gate, then up) the MLP's first matmul; H its inner width (4C for GPT-2).
struct ParameterTensors {
  GPTConfig config;
  Tensor wte;       // (Vp, C)     token embedding, also the output head when tied
  Tensor wpe;       // (maxT, C)   learned position embedding
  Tensor ln1w;      // (L, C)
  Tensor ln1b;      // (L, C)
  Tensor qkvw;      // (L, QKV, C)
  Tensor qkvb;      // (L, QKV)
  Tensor qnormw;    // (L, hs)      QK-norm's gain of the query heads (qk_norm only)
  Tensor knormw;    // (L, hs)      ... and of the key heads
  Tensor attprojw;  // (L, C, C)
  Tensor attprojb;  // (L, C)
  Tensor ln2w;      // (L, C)
  Tensor ln2b;      // (L, C)
  Tensor fcw;       // (L, FC, C)
  Tensor fcb;       // (L, FC)
  Tensor fcprojw;   // (L, C, H)
  Tensor fcprojb;   // (L, C)
  Tensor lnfw;      // (C)
  Tensor lnfb;      // (C)
  Tensor lm_head;   // (Vp, C)     the output head when not tied to wte

  // The one size table: visits every tensor the config has with its name, shape and kind, in
  // memory order (see visit_entry in llm/core/tensor_kind.hpp).
  template <typename Fn> void visit(Fn&& fn) {
    using K = TensorKind;
    const GPTConfig& c = config;
    const int64_t Vp = c.padded_vocab_size(), maxT = c.max_seq_len;
    const int64_t L = c.n_layer, C = c.n_embd, QKV = c.qkv_channels(), FC = c.fc_channels();
    const int64_t H = c.hidden_size();
    const bool norm_bias = !c.rmsnorm();
    visit_entry(fn, "wte", wte, Shape{Vp, C}, K::embedding);
    if (!c.rope()) visit_entry(fn, "wpe", wpe, Shape{maxT, C}, K::embedding);
    visit_entry(fn, "ln1w", ln1w, Shape{L, C}, K::gain);
    if (norm_bias) visit_entry(fn, "ln1b", ln1b, Shape{L, C}, K::bias);
    visit_entry(fn, "qkvw", qkvw, Shape{L, QKV, C}, K::matrix);
    if (c.bias) visit_entry(fn, "qkvb", qkvb, Shape{L, QKV}, K::bias);
    if (c.qk_norm) {
      visit_entry(fn, "qnormw", qnormw, Shape{L, c.head_size()}, K::gain);
      visit_entry(fn, "knormw", knormw, Shape{L, c.head_size()}, K::gain);
    }
    visit_entry(fn, "attprojw", attprojw, Shape{L, C, C}, K::residual_projection);
    if (c.bias) visit_entry(fn, "attprojb", attprojb, Shape{L, C}, K::bias);
    visit_entry(fn, "ln2w", ln2w, Shape{L, C}, K::gain);
    if (norm_bias) visit_entry(fn, "ln2b", ln2b, Shape{L, C}, K::bias);
    visit_entry(fn, "fcw", fcw, Shape{L, FC, C}, K::matrix);
    if (c.bias) visit_entry(fn, "fcb", fcb, Shape{L, FC}, K::bias);
    visit_entry(fn, "fcprojw", fcprojw, Shape{L, C, H}, K::residual_projection);
    if (c.bias) visit_entry(fn, "fcprojb", fcprojb, Shape{L, C}, K::bias);
    visit_entry(fn, "lnfw", lnfw, Shape{C}, K::gain);
    if (norm_bias) visit_entry(fn, "lnfb", lnfb, Shape{C}, K::bias);
    if (!c.tie_embeddings) visit_entry(fn, "lm_head", lm_head, Shape{Vp, C}, K::matrix);
  }

  // The output head: (Vp, C), wte when tied.
  Tensor head() const { return config.tie_embeddings ? wte : lm_head; }

  // Layer l's weights: the l-th slice of each stacked tensor (empty where the config has none).
  LayerWeights layer(int l) const {
    auto at = [l](const Tensor& t) { return t.empty() ? Tensor{} : t.slice(l); };
    return {at(ln1w),     at(ln1b), at(qkvw), at(qkvb), at(qnormw), at(knormw),  at(attprojw),
            at(attprojb), at(ln2w), at(ln2b), at(fcw),  at(fcb),    at(fcprojw), at(fcprojb)};
  }
};

// The kind of the parameter called `parameter_name` (e.g. "qkvw": matrix), for code that holds
// only a name; throws llm::Error for a name the model does not have.
TensorKind parameter_kind(const char* parameter_name);
// Weight decay applies to the matrices (embeddings and matmul weights), not to biases or gains, as
// in nanoGPT's "every parameter with 2 or more dimensions" rule (is_decayed of its kind).
bool is_decayed(const char* parameter_name);
// The additive biases of the matmuls and layernorms (qkvb, ln1b, ..., lnfb).
bool is_bias(const char* parameter_name);

// Everything the forward pass saves for the backward (and, in a second instance, its gradients).
// Values are in the backend's dtype(); the statistics (normalisation means and rstds, the attention
// state, the losses) in its master_dtype(), see activation_dtype(). As for the parameters, what
// the config's switches do not use is not listed (the means with rmsnorm, qkv_rope without rope).
struct ActivationTensors {
  GPTConfig config;
  int B = 0, T = 0;
  Shape attention_state;  // backend-defined, e.g. (B, NH, T, T) on the CPU
  Tensor encoded;         // (B, T, C)
  Tensor ln1;             // (L, B, T, C)
  Tensor ln1_mean;        // (L, B, T)        layernorm only
  Tensor ln1_rstd;        // (L, B, T)
  Tensor qkv;             // (L, B, T, QKV)
  Tensor qkv_norm;        // (L, B, T, QKV)   q and k heads RMS-normalised (qk_norm only)
  Tensor qk_rstd;         // (L, B, T, NH + NKV)  their rstds (qk_norm only)
  Tensor qkv_rope;        // (L, B, T, QKV)   q and k rotated by position (rope only)
  Tensor atty;            // (L, B, T, C)     attention output, heads concatenated
  Tensor att;             // (L, attention_state)
  Tensor attproj;         // (L, B, T, C)
  Tensor residual2;       // (L, B, T, C)     x after the attention branch
  Tensor ln2;             // (L, B, T, C)
  Tensor ln2_mean;        // (L, B, T)        layernorm only
  Tensor ln2_rstd;        // (L, B, T)
  Tensor fch;             // (L, B, T, FC)
  Tensor fch_gelu;        // (L, B, T, H)     act(fch): gelu, swiglu = silu(gate) * up, or relu2
  Tensor fcproj;          // (L, B, T, C)
  Tensor residual3;  // (L, B, T, C)     x after the MLP branch: the residual stream out of layer l
  Tensor lnf;        // (B, T, C)
  Tensor lnf_mean;   // (B, T)           layernorm only
  Tensor lnf_rstd;   // (B, T)
  Tensor logits;     // (B, T, Vp)       overwritten with dlogits by the fused classifier
  Tensor losses;     // (B, T)

  // Layer l's activations: the l-th slice of each stacked tensor (empty where not listed).
  LayerActivations layer(int l) const {
    auto at = [l](const Tensor& t) { return t.empty() ? Tensor{} : t.slice(l); };
    return {at(ln1),      at(ln1_mean), at(ln1_rstd), at(qkv),      at(qkv_norm),  at(qk_rstd),
            at(qkv_rope), at(att),      at(atty),     at(attproj),  at(residual2), at(ln2),
            at(ln2_mean), at(ln2_rstd), at(fch),      at(fch_gelu), at(fcproj),    at(residual3)};
  }

  template <typename Fn> void visit(Fn&& fn) {
    using K = TensorKind;
    const GPTConfig& c = config;
    const int64_t L = c.n_layer, C = c.n_embd, Vp = c.padded_vocab_size();
    const int64_t QKV = c.qkv_channels(), FC = c.fc_channels(), H = c.hidden_size();
    const bool mean = !c.rmsnorm();
    Shape att_shape;
    att_shape.dims[0] = L;
    att_shape.rank = attention_state.rank + 1;
    for (int i = 0; i < attention_state.rank; i++) att_shape.dims[i + 1] = attention_state.dims[i];
    visit_entry(fn, "encoded", encoded, Shape{B, T, C}, K::value);
    visit_entry(fn, "ln1", ln1, Shape{L, B, T, C}, K::value);
    if (mean) visit_entry(fn, "ln1_mean", ln1_mean, Shape{L, B, T}, K::statistic);
    visit_entry(fn, "ln1_rstd", ln1_rstd, Shape{L, B, T}, K::statistic);
    visit_entry(fn, "qkv", qkv, Shape{L, B, T, QKV}, K::value);
    if (c.qk_norm) {
      const int64_t heads = c.n_head + c.kv_heads();  // the normalised ones: NH + NKV
      visit_entry(fn, "qkv_norm", qkv_norm, Shape{L, B, T, QKV}, K::value);
      visit_entry(fn, "qk_rstd", qk_rstd, Shape{L, B, T, heads}, K::statistic);
    }
    if (c.rope()) visit_entry(fn, "qkv_rope", qkv_rope, Shape{L, B, T, QKV}, K::value);
    visit_entry(fn, "atty", atty, Shape{L, B, T, C}, K::value);
    visit_entry(fn, "att", att, att_shape, K::statistic);
    visit_entry(fn, "attproj", attproj, Shape{L, B, T, C}, K::value);
    visit_entry(fn, "residual2", residual2, Shape{L, B, T, C}, K::value);
    visit_entry(fn, "ln2", ln2, Shape{L, B, T, C}, K::value);
    if (mean) visit_entry(fn, "ln2_mean", ln2_mean, Shape{L, B, T}, K::statistic);
    visit_entry(fn, "ln2_rstd", ln2_rstd, Shape{L, B, T}, K::statistic);
    visit_entry(fn, "fch", fch, Shape{L, B, T, FC}, K::value);
    visit_entry(fn, "fch_gelu", fch_gelu, Shape{L, B, T, H}, K::value);
    visit_entry(fn, "fcproj", fcproj, Shape{L, B, T, C}, K::value);
    visit_entry(fn, "residual3", residual3, Shape{L, B, T, C}, K::value);
    visit_entry(fn, "lnf", lnf, Shape{B, T, C}, K::value);
    if (mean) visit_entry(fn, "lnf_mean", lnf_mean, Shape{B, T}, K::statistic);
    visit_entry(fn, "lnf_rstd", lnf_rstd, Shape{B, T}, K::statistic);
    visit_entry(fn, "logits", logits, Shape{B, T, Vp}, K::value);
    visit_entry(fn, "losses", losses, Shape{B, T}, K::statistic);
  }
};

// The dtype `backend` keeps an activation of `kind` in: master_dtype() for the statistics (f32 on
// a bf16 GPU, where bf16 would lose them), dtype() for the values.
DType activation_dtype(const Backend& backend, TensorKind kind);
// The same for the activation called `name` (e.g. "ln1_rstd"), looked up in ActivationTensors.
DType activation_dtype(const Backend& backend, const char* name);

// Throws llm::Error naming the first of the n ids (`what`: "token" or "target") outside the
// vocabulary [0, V): the model's one range check, before any id reaches a backend.
void check_token_ids(const int32_t* ids, int64_t n, int V, const char* what);

class GPT {
 public:
  GPT(const GPTConfig& config, Backend& backend);

  const GPTConfig& config() const { return config_; }
  Backend& backend() { return backend_; }

  // GPT-2 initialisation, by each parameter's kind: matrices and embeddings ~ N(0, 0.02), the
  // residual projections (attprojw, fcprojw) ~ N(0, 0.02 / sqrt(2 L)) so the residual stream's
  // variance does not grow with depth, biases 0, gains 1. Deterministic for a seed.
  void init_weights(uint64_t seed);

  // Forward pass over tokens (B, T) (host i32). With targets (B, T) returns the mean cross-entropy
  // loss; without (nullptr) only fills acts.logits and returns 0.
  double forward(const int32_t* tokens, const int32_t* targets, int B, int T);
  // Called by the backward each time a group of gradients is final: no later op of this backward
  // writes them. In order: lnfw and lnfb (and lm_head when untied); layer L-1's
  // (grads.layer(L-1).all()), ..., layer 0's; last wte and wpe (wte's second term, from the
  // embedding, comes at the very end). The tensors are views of `grads`. For starting their
  // communication while the backward goes on (llm/train/gradient_sync.hpp).
  using GradientsReady = std::function<void(const std::vector<Tensor>& final_grads)>;

  // Forward and backward: returns the mean loss and ACCUMULATES loss_scale * d(mean loss)/d(param)
  // into grads (loss_scale = 1 / grad_accum_steps when accumulating micro-steps). `on_ready`, when
  // given, hears of each group of gradients as the backward finishes it (see GradientsReady).
  double forward_backward(const int32_t* tokens, const int32_t* targets, int B, int T,
                          double loss_scale = 1.0, const GradientsReady& on_ready = {});
  void zero_grad();

  // Runs the L transformer blocks over the residual stream x (B, T, C), at positions pos0 ..
  // pos0+T-1, and returns the last block's output. Block l writes activations_of(l) and attends
  // with attention(l, atty, qkv). The training forward and the KV-cache decoder
  // (llm/model/decoder.hpp) both run the model through here; they differ only in where the
  // activations live and in how attention reaches the past.
  using LayerAttention = std::function<void(int l, Tensor atty, Tensor qkv)>;
  Tensor forward_blocks(Tensor x, int pos0,
                        const std::function<LayerActivations(int l)>& activations_of,
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
