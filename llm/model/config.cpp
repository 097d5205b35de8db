#include "llm/model/config.hpp"

#include "llm/core/error.hpp"

namespace llm {

void GPTConfig::validate() const {
  check(n_layer > 0 && n_head > 0 && n_embd > 0 && max_seq_len > 0 && vocab_size > 0,
        "model config: n_layer, n_head, n_embd, max_seq_len and vocab_size must all be positive");
  check(n_embd % n_head == 0, "model config: n_embd (" + std::to_string(n_embd) +
                                  ") must be divisible by n_head (" + std::to_string(n_head) + ")");
  // pad_vocab rounds up: it must not overflow an int.
  check(vocab_size <= (1 << 30),
        "model config: vocab_size " + std::to_string(vocab_size) + " is larger than 2^30");
  check(norm == "layernorm" || norm == "rmsnorm",
        "model config: norm must be layernorm or rmsnorm (got '" + norm + "')");
  check(norm_eps > 0, "model config: norm_eps must be positive");
  check(norm == "rmsnorm" || norm_eps == 1e-5,
        "model config: norm_eps of a layernorm is fixed at 1e-5 (only rmsnorm takes another)");
  check(position == "learned" || position == "rope",
        "model config: position must be learned or rope (got '" + position + "')");
  const RopeFrequencies& f = rope_frequencies;
  check(f.theta > 0, "model config: rope_theta must be positive");
  check(!f.llama3 ||
            (f.factor > 0 && f.low_freq_factor > 0 && f.high_freq_factor > f.low_freq_factor &&
             f.original_max_position_embeddings > 0),
        "model config: llama3 rope_scaling needs factor > 0, 0 < low_freq_factor < "
        "high_freq_factor and original_max_position_embeddings > 0");
  check(!f.llama3 || position == "rope",
        "model config: llama3 rope_scaling needs position = rope (it rescales RoPE's frequencies)");
  check(position == "learned" || head_size() % 2 == 0,
        "model config: rope needs an even head size (n_embd / n_head = " +
            std::to_string(head_size()) + ")");
  check(mlp == "gelu" || mlp == "swiglu" || mlp == "relu2",
        "model config: mlp must be gelu, swiglu or relu2 (got '" + mlp + "')");
  check(mlp_hidden >= 0, "model config: mlp_hidden must be 0 (4 n_embd) or positive");
  check(mlp != "swiglu" || mlp_hidden > 0, "model config: mlp = swiglu needs mlp_hidden");
  check(n_kv_head >= 0 && n_head % kv_heads() == 0,
        "model config: n_head (" + std::to_string(n_head) + ") must be a multiple of n_kv_head (" +
            std::to_string(n_kv_head) + ")");
}

bool GPTConfig::is_gpt2_architecture() const {
  return norm == "layernorm" && position == "learned" && mlp == "gelu" &&
         hidden_size() == 4 * n_embd && kv_heads() == n_head && tie_embeddings && bias && !qk_norm;
}

bool GPTConfig::same_shape(const GPTConfig& o) const {
  return max_seq_len == o.max_seq_len && vocab_size == o.vocab_size && n_layer == o.n_layer &&
         n_head == o.n_head && n_embd == o.n_embd && norm == o.norm && norm_eps == o.norm_eps &&
         position == o.position && rope_frequencies == o.rope_frequencies && mlp == o.mlp &&
         hidden_size() == o.hidden_size() && kv_heads() == o.kv_heads() &&
         tie_embeddings == o.tie_embeddings && bias == o.bias && qk_norm == o.qk_norm;
}

int pad_vocab(int vocab_size) { return (vocab_size + 127) / 128 * 128; }

int GPTConfig::padded_vocab_size() const { return pad_vocab(vocab_size); }

void check_stored_padded_vocab_size(const GPTConfig& c, int stored, const std::string& where) {
  check(stored == c.padded_vocab_size(),
        where + ": \"padded_vocab_size\" is " + std::to_string(stored) + ", expected " +
            std::to_string(c.padded_vocab_size()) + " (vocab_size " + std::to_string(c.vocab_size) +
            " rounded up to a multiple of 128)");
}

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

GPTConfig model_preset(const std::string& name) {
  if (name.rfind("gpt2", 0) == 0) return gpt2_preset(name);
  GPTConfig c;
  c.norm = "rmsnorm";
  c.position = "rope";
  c.mlp = "swiglu";
  c.bias = false;
  if (name == "smollm2-135m") {
    c.n_layer = 30, c.n_head = 9, c.n_kv_head = 3, c.n_embd = 576, c.mlp_hidden = 1536;
    c.vocab_size = 49152, c.max_seq_len = 8192, c.rope_frequencies.theta = 100000.0,
    c.norm_eps = 1e-5;
  } else if (name == "llama-3.2-1b") {
    c.n_layer = 16, c.n_head = 32, c.n_kv_head = 8, c.n_embd = 2048, c.mlp_hidden = 8192;
    c.vocab_size = 128256, c.max_seq_len = 131072, c.rope_frequencies.theta = 500000.0,
    c.norm_eps = 1e-5;
    // its rope_scaling: {"rope_type": "llama3", "factor": 32, "low_freq_factor": 1,
    // "high_freq_factor": 4, "original_max_position_embeddings": 8192}
    RopeFrequencies& f = c.rope_frequencies;
    f.llama3 = true, f.factor = 32.0, f.low_freq_factor = 1.0, f.high_freq_factor = 4.0;
    f.original_max_position_embeddings = 8192;
  } else if (name == "llama-3-8b") {
    c.n_layer = 32, c.n_head = 32, c.n_kv_head = 8, c.n_embd = 4096, c.mlp_hidden = 14336;
    c.vocab_size = 128256, c.max_seq_len = 8192, c.rope_frequencies.theta = 500000.0,
    c.norm_eps = 1e-5;
    c.tie_embeddings = false;
  } else {
    throw Error("unknown model preset '" + name +
                "' (gpt2, gpt2-medium, gpt2-large, gpt2-xl, smollm2-135m, llama-3.2-1b, "
                "llama-3-8b)");
  }
  return c;
}

int64_t count_parameters(const GPTConfig& c) {
  const int64_t C = c.n_embd, L = c.n_layer, QKV = c.qkv_channels(), FC = c.fc_channels();
  const int64_t H = c.hidden_size();
  const int64_t norm = c.rmsnorm() ? C : 2 * C;  // gain, and a layernorm's bias
  const int64_t biases = c.bias ? QKV + C + FC + C : 0;
  const int64_t qk_gains = c.qk_norm ? 2 * int64_t(c.head_size()) : 0;  // q_norm, k_norm (hs)
  const int64_t per_layer = norm + QKV * C + C * C   // ln_1, attention's q, k, v and projection
                            + norm + FC * C + C * H  // ln_2, the MLP's two matmuls
                            + biases + qk_gains;
  const int64_t embeddings = int64_t(c.vocab_size) * C * (c.tie_embeddings ? 1 : 2) +
                             (c.rope() ? 0 : int64_t(c.max_seq_len) * C);
  return embeddings + L * per_layer + norm;
}

double training_flops_per_token(const GPTConfig& c, int T) {
  // N counts the weights that take part in matmuls: all but the position embedding (a lookup).
  // An untied head is a matmul but its input embedding is a lookup: one of the two V C counts.
  const double lookups = (c.rope() ? 0.0 : double(c.max_seq_len) * c.n_embd) +
                         (c.tie_embeddings ? 0.0 : double(c.vocab_size) * c.n_embd);
  const double N = double(count_parameters(c)) - lookups;
  return 6.0 * N + 12.0 * c.n_layer * c.n_embd * double(T);
}

}  // namespace llm
