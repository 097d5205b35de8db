#pragma once
// defines: llm::GPTConfig, the shape and the architecture switches of the one model.
//
// GPT-2 is the default. The switches below turn the same model, block and backward into the
// decoders most models since use (Llama, SmolLM, Qwen, OLMo):
//   norm            "layernorm" (GPT-2) | "rmsnorm" (Llama), with norm_eps
//   position        "learned" (GPT-2: a wpe table) | "rope" (rotary, rotate-half as in HF Llama),
//                   with rope_frequencies (theta, optional llama3 scaling: rope_frequencies.hpp)
//   mlp             "gelu" (GPT-2: fc -> gelu -> proj) | "swiglu" (Llama: silu(gate) * up -> proj)
//                   | "relu2" (modded-nanogpt, nanochat: fc -> max(x, 0)^2 -> proj), mlp_hidden
//                   wide (0: 4C for gelu and relu2)
//   n_kv_head       key/value heads: n_head is ordinary attention, fewer is grouped-query (GQA),
//                   1 is multi-query
//   tie_embeddings  the output head reuses wte (GPT-2) or has its own lm_head (Llama 3 8B)
//   bias            the linear layers have biases (GPT-2) or not (Llama; nanoGPT's bias=False);
//                   a layernorm keeps its bias either way, an rmsnorm has none
//   qk_norm         RMSNorm (eps norm_eps) on each query and key head after the qkv projection and
//                   before rope, with learned gains of hs shared by the heads (OLMo 2, Qwen3,
//                   nanochat): bounds the attention logits, a common fix for loss spikes
#include <cstdint>
#include <string>

#include "llm/core/rope_frequencies.hpp"

namespace llm {

struct GPTConfig {
  int max_seq_len = 1024;  // T_max: the longest context (the wpe rows when learned)
  int vocab_size = 50257;  // V, real tokens
  int n_layer = 12;        // L
  int n_head = 12;         // NH
  int n_embd = 768;        // C

  std::string norm = "layernorm";    // "layernorm" | "rmsnorm"
  double norm_eps = 1e-5;            // layernorm's is fixed at 1e-5 (the backend's ops)
  std::string position = "learned";  // "learned" | "rope"
  RopeFrequencies rope_frequencies;  // RoPE's base theta (and Llama 3.1's rescaling, if any)
  std::string mlp = "gelu";          // "gelu" | "swiglu" | "relu2"
  int mlp_hidden = 0;                // H, the MLP's inner width; 0 means 4C (not for swiglu)
  int n_kv_head = 0;                 // NKV; 0 means n_head
  bool tie_embeddings = true;
  bool bias = true;
  bool qk_norm = false;

  int head_size() const { return n_embd / n_head; }
  int kv_heads() const { return n_kv_head > 0 ? n_kv_head : n_head; }
  int hidden_size() const { return mlp_hidden > 0 ? mlp_hidden : 4 * n_embd; }
  // The channels of the fused q, k, v projection: NH query heads and NKV key and value heads.
  int qkv_channels() const { return (n_head + 2 * kv_heads()) * head_size(); }
  // The rows of the MLP's first matmul: H for gelu and relu2, 2H (gate, then up) for swiglu.
  int fc_channels() const { return mlp == "swiglu" ? 2 * hidden_size() : hidden_size(); }
  bool rmsnorm() const { return norm == "rmsnorm"; }
  bool rope() const { return position == "rope"; }
  bool swiglu() const { return mlp == "swiglu"; }
  bool relu2() const { return mlp == "relu2"; }
  // Vp: V rounded up to a multiple of 128 for aligned matmuls (the rows of wte and of the logits).
  // Derived, never stored by hand: the llm.c header's copy and config.json's are checked against
  // it.
  int padded_vocab_size() const;
  // Every switch at GPT-2's value (what a GPT-2 checkpoint and the HF GPT-2 layout can hold).
  bool is_gpt2_architecture() const;

  // Whether weights saved for `other` fit this model: every dimension and switch equal.
  bool same_shape(const GPTConfig& other) const;
  // Throws llm::Error with a one-line reason if the shape is not usable.
  void validate() const;
};

// V rounded up to a multiple of 128 (llm.c pads GPT-2's 50257 to 50304 the same way).
int pad_vocab(int vocab_size);

// A file's stored copy of Vp (config.json's "padded_vocab_size") must equal the derived one;
// otherwise one line names `where`, both values and the rule.
void check_stored_padded_vocab_size(const GPTConfig& c, int stored, const std::string& where);

// GPT-2 family presets: "gpt2" (124M), "gpt2-medium" (350M), "gpt2-large" (774M), "gpt2-xl"
// (1558M).
GPTConfig gpt2_preset(const std::string& name);
// gpt2_preset's names and the shapes of Llama-style models from their published config.json:
// "smollm2-135m" (HuggingFaceTB/SmolLM2-135M), "llama-3.2-1b" (with its llama3 rope_scaling) and
// "llama-3-8b" (meta-llama).
GPTConfig model_preset(const std::string& name);

// Number of parameters: the tied head is counted once, padding rows are not counted.
int64_t count_parameters(const GPTConfig& config);
// Training FLOPs per token: 6N for the weight matmuls (forward 2N + backward 4N) plus 12 L C T for
// attention's two T x T products (no causal discount), as in the PaLM paper's appendix B.
double training_flops_per_token(const GPTConfig& config, int T);

}  // namespace llm
