#pragma once
// defines: llm::GPTConfig, the shape of a GPT-2 model.
#include <cstdint>
#include <string>

namespace llm {

struct GPTConfig {
  int max_seq_len = 1024;         // T_max, learned positions (HF: n_positions)
  int vocab_size = 50257;         // V, real tokens
  int padded_vocab_size = 50304;  // Vp, V rounded up to a multiple of 128 for aligned matmuls
  int n_layer = 12;               // L
  int n_head = 12;                // NH
  int n_embd = 768;               // C

  int head_size() const { return n_embd / n_head; }
  // Whether weights saved for `other` fit this model: every dimension equal.
  bool same_shape(const GPTConfig& other) const;
  // Throws llm::Error with a one-line reason if the shape is not usable.
  void validate() const;
};

// V rounded up to a multiple of 128 (llm.c pads GPT-2's 50257 to 50304 the same way).
int pad_vocab(int vocab_size);

// GPT-2 family presets: "gpt2" (124M), "gpt2-medium" (350M), "gpt2-large" (774M), "gpt2-xl"
// (1558M).
GPTConfig gpt2_preset(const std::string& name);

// Number of parameters: the tied head is counted once, padding rows are not counted.
int64_t count_parameters(const GPTConfig& config);
// Training FLOPs per token: 6N for the weight matmuls (forward 2N + backward 4N) plus 12 L C T for
// attention's two T x T products (no causal discount), as in the PaLM paper's appendix B.
double training_flops_per_token(const GPTConfig& config, int T);

}  // namespace llm
