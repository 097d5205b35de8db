#include "llm/model/config.hpp"

#include "llm/core/error.hpp"

namespace llm {

void GPTConfig::validate() const {
  check(n_layer > 0 && n_head > 0 && n_embd > 0 && max_seq_len > 0 && vocab_size > 0,
        "model config: n_layer, n_head, n_embd, max_seq_len and vocab_size must all be positive");
  check(n_embd % n_head == 0, "model config: n_embd (" + std::to_string(n_embd) +
                                  ") must be divisible by n_head (" + std::to_string(n_head) + ")");
  check(padded_vocab_size >= vocab_size, "model config: padded_vocab_size < vocab_size");
}

bool GPTConfig::same_shape(const GPTConfig& o) const {
  return max_seq_len == o.max_seq_len && vocab_size == o.vocab_size &&
         padded_vocab_size == o.padded_vocab_size && n_layer == o.n_layer && n_head == o.n_head &&
         n_embd == o.n_embd;
}

int pad_vocab(int vocab_size) { return (vocab_size + 127) / 128 * 128; }

GPTConfig gpt2_preset(const std::string& name) {
  GPTConfig c;
  if (name == "gpt2") {
    c.n_layer = 12, c.n_head = 12, c.n_embd = 768;
  } else if (name == "gpt2-medium") {
    c.n_layer = 24, c.n_head = 16, c.n_embd = 1024;
  } else if (name == "gpt2-large") {
    c.n_layer = 36, c.n_head = 20, c.n_embd = 1280;
  } else if (name == "gpt2-xl") {
    c.n_layer = 48, c.n_head = 25, c.n_embd = 1600;
  } else {
    throw Error("unknown model preset '" + name + "' (gpt2, gpt2-medium, gpt2-large, gpt2-xl)");
  }
  return c;
}

int64_t count_parameters(const GPTConfig& c) {
  const int64_t C = c.n_embd, L = c.n_layer;
  const int64_t per_layer = 2 * C                // ln_1
                            + 3 * C * C + 3 * C  // attn.c_attn
                            + C * C + C          // attn.c_proj
                            + 2 * C              // ln_2
                            + 4 * C * C + 4 * C  // mlp.c_fc
                            + 4 * C * C + C;     // mlp.c_proj
  return int64_t(c.vocab_size) * C + int64_t(c.max_seq_len) * C + L * per_layer + 2 * C;
}

double training_flops_per_token(const GPTConfig& c, int T) {
  // N counts the weights that take part in matmuls: all but the position embedding (a lookup).
  const double N = double(count_parameters(c)) - double(c.max_seq_len) * c.n_embd;
  return 6.0 * N + 12.0 * c.n_layer * c.n_embd * double(T);
}

}  // namespace llm
