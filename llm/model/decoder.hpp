#pragma once
// defines: llm::Decoder, incremental inference with a KV cache.
//
// Generating token t with the plain forward pass recomputes all t positions: O(t^2) work per token.
// The decoder keeps every layer's keys and values (the KV cache) and runs only the new positions:
// prefill the prompt once, then one position per generated token. The same Backend ops as training,
// with attention_forward_cached in place of attention_forward.
#include <cstdint>
#include <vector>

#include "llm/core/arena.hpp"
#include "llm/model/gpt.hpp"

namespace llm {

// The cache and the scratch buffers of one decoder, sized for (B, maxT): maxT is the most positions
// the decoder will hold, at most the model's max_seq_len. NKV key/value heads are cached (fewer
// than NH with grouped-query attention); with rope q and k are rotated in place in qkv before the
// keys are cached, so the cache holds rotated keys.
struct DecoderTensors {
  GPTConfig config;
  int B = 0;
  int maxT = 0;
  Tensor k_cache;   // (L, B, NKV, maxT, hs)
  Tensor v_cache;   // (L, B, NKV, maxT, hs)
  Tensor x;         // (B, maxT, C)  the residual stream
  Tensor x2;        // (B, maxT, C)  the residual stream after the attention branch
  Tensor ln;        // (B, maxT, C)
  Tensor mean;      // (B, maxT)
  Tensor rstd;      // (B, maxT)
  Tensor qkv;       // (B, maxT, QKV)
  Tensor qkv_norm;  // (B, maxT, QKV)  q and k heads normalised (qk_norm only)
  Tensor qk_rstd;   // (B, maxT, NH + NKV)  (qk_norm only)
  Tensor atty;      // (B, maxT, C)
  Tensor proj;      // (B, maxT, C)
  Tensor fch;       // (B, maxT, FC)
  Tensor fch_gelu;  // (B, maxT, H)
  Tensor last_x;    // (B, C)   the residual stream at each sequence's last position
  Tensor last_ln;   // (B, C)   ... after the final norm
  Tensor logits;    // (B, Vp)

  template <typename Fn> void visit(Fn&& fn) {
    using K = TensorKind;
    const int64_t L = config.n_layer, NKV = config.kv_heads(), hs = config.head_size();
    const int64_t T = maxT, C = config.n_embd, Vp = config.padded_vocab_size();
    const int64_t QKV = config.qkv_channels(), FC = config.fc_channels();
    const int64_t H = config.hidden_size();
    visit_entry(fn, "k_cache", k_cache, Shape{L, B, NKV, T, hs}, K::value);
    visit_entry(fn, "v_cache", v_cache, Shape{L, B, NKV, T, hs}, K::value);
    visit_entry(fn, "x", x, Shape{B, T, C}, K::value);
    visit_entry(fn, "x2", x2, Shape{B, T, C}, K::value);
    visit_entry(fn, "ln", ln, Shape{B, T, C}, K::value);
    visit_entry(fn, "mean", mean, Shape{B, T}, K::statistic);
    visit_entry(fn, "rstd", rstd, Shape{B, T}, K::statistic);
    visit_entry(fn, "qkv", qkv, Shape{B, T, QKV}, K::value);
    if (config.qk_norm) {
      visit_entry(fn, "qkv_norm", qkv_norm, Shape{B, T, QKV}, K::value);
      visit_entry(fn, "qk_rstd", qk_rstd, Shape{B, T, config.n_head + NKV}, K::statistic);
    }
    visit_entry(fn, "atty", atty, Shape{B, T, C}, K::value);
    visit_entry(fn, "proj", proj, Shape{B, T, C}, K::value);
    visit_entry(fn, "fch", fch, Shape{B, T, FC}, K::value);
    visit_entry(fn, "fch_gelu", fch_gelu, Shape{B, T, H}, K::value);
    visit_entry(fn, "last_x", last_x, Shape{B, C}, K::value);
    visit_entry(fn, "last_ln", last_ln, Shape{B, C}, K::value);
    visit_entry(fn, "logits", logits, Shape{B, Vp}, K::value);
  }
};

class Decoder {
 public:
  // Room for `max_positions` positions (0: the model's max_seq_len, the most it can attend over).
  // The cache is L x 2 x B x max_positions x C values, 75 MB in f32 for GPT-2 124M at 1024, so a
  // short generation asks only for what its prompt and new tokens need.
  Decoder(GPT& model, int B = 1, int max_positions = 0);

  // Feeds tokens (B, Tn) at positions pos() .. pos()+Tn-1 and returns the logits (B, V) of the last
  // new position of each sequence, on the host. Throws when the context would exceed capacity().
  const std::vector<float>& step(const int32_t* tokens, int Tn);
  int pos() const { return pos_; }
  int capacity() const { return t_.maxT; }
  void reset() { pos_ = 0; }

 private:
  GPT& model_;
  int B_;
  int pos_ = 0;
  DecoderTensors t_;
  Arena memory_, token_memory_;
  Tensor tokens_;                   // (B, maxT) i32
  std::vector<float> last_logits_;  // (B, V)
};

}  // namespace llm
