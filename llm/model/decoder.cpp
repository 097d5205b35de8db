#include "llm/model/decoder.hpp"

#include <string>

#include "llm/backend/host_copy.hpp"

namespace llm {

namespace {
struct DecoderTokens {
  int B = 0, T = 0;
  Tensor tokens;  // (B, maxT) i32
  template <typename Fn> void visit(Fn&& fn) { fn("tokens", tokens, Shape{B, T}); }
};
}  // namespace

Decoder::Decoder(GPT& model, int B, int max_positions) : model_(model), B_(B) {
  const int max_seq_len = model.config().max_seq_len;
  check(max_positions >= 0 && max_positions <= max_seq_len,
        "Decoder: room for " + std::to_string(max_positions) +
            " positions asked, expected 0 (all) to the model's max_seq_len " +
            std::to_string(max_seq_len));
  t_.config = model.config();
  t_.B = B;
  t_.maxT = max_positions > 0 ? max_positions : max_seq_len;
  // The norm statistics in the master dtype, as in training (activation_dtype).
  const Backend& backend = model.backend();
  memory_.carve(model.backend(), t_,
                [&](TensorKind kind) { return activation_dtype(backend, kind); });
  DecoderTokens token_views{B, t_.maxT, {}};
  token_memory_.carve(model.backend(), DType::i32, token_views);
  tokens_ = token_views.tokens;
  last_logits_.resize(size_t(B) * model.config().vocab_size);
}

const std::vector<float>& Decoder::step(const int32_t* tokens, int Tn) {
  const GPTConfig& c = model_.config();
  check(Tn >= 1, "Decoder::step needs at least one token");
  check(pos_ + Tn <= t_.maxT,
        "context full: " + std::to_string(pos_ + Tn) + " tokens exceed " +
            (t_.maxT == c.max_seq_len ? "the model's max_seq_len " : "the decoder's room for ") +
            std::to_string(t_.maxT));
  check_token_ids(tokens, int64_t(B_) * Tn, c.vocab_size, "token");
  Backend& be = model_.backend();
  ParameterTensors& p = model_.params;
  const int64_t B = B_, C = c.n_embd;
  // The buffers are sized for maxT positions; this step uses the first Tn.
  auto bt = [&](Tensor t, int64_t channels) { return t.prefix(Shape{B, Tn, channels}); };
  const Tensor tok = tokens_.prefix(Shape{B, Tn});
  const Tensor x = bt(t_.x, C), ln = bt(t_.ln, C), proj = bt(t_.proj, C);
  const Tensor mean = t_.mean.prefix(Shape{B, Tn}), rstd = t_.rstd.prefix(Shape{B, Tn});
  // One set of buffers serves every layer, and within a layer the two layernorms share theirs, as
  // do the two projections; each block's output overwrites its input x.
  LayerActivations layer;
  layer.ln1 = layer.ln2 = ln;
  layer.ln1_mean = layer.ln2_mean = mean;
  layer.ln1_rstd = layer.ln2_rstd = rstd;
  layer.qkv = bt(t_.qkv, c.qkv_channels());
  if (c.qk_norm) {  // qk_norm needs its own output: the op reads qkv while it writes
    layer.qkv_norm = bt(t_.qkv_norm, c.qkv_channels());
    layer.qk_rstd = t_.qk_rstd.prefix(Shape{B, Tn, c.n_head + c.kv_heads()});
  }
  layer.qkv_rope = c.qk_norm ? layer.qkv_norm : layer.qkv;  // rope rotates q, k in place
  layer.atty = bt(t_.atty, C);
  layer.attproj = layer.fcproj = proj;
  layer.residual2 = bt(t_.x2, C);
  layer.fch = bt(t_.fch, c.fc_channels());
  layer.fch_gelu = bt(t_.fch_gelu, c.hidden_size());
  layer.residual3 = x;

  be.copy_from_host(tok, tokens);
  be.encoder_forward(x, tok, p.wte, p.wpe, pos_);
  model_.forward_blocks(
      x, pos_, [&](int) { return layer; },
      [&](int l, Tensor atty, Tensor qkv) {
        // appends this step's keys and values at pos_.., then attends over the cached 0..pos_+Tn
        be.attention_forward_cached(atty, t_.k_cache.slice(l), t_.v_cache.slice(l), qkv, c.n_head,
                                    pos_);
      });
  // Only the last position of each sequence predicts the next token: gather those rows, then the
  // final norm and the head on (B, C) instead of (B, Tn, C).
  for (int64_t b = 0; b < B; b++) be.convert(t_.last_x.slice(b), x.slice(b).slice(Tn - 1));
  const Tensor last_mean = t_.mean.prefix(Shape{B}), last_rstd = t_.rstd.prefix(Shape{B});
  norm_forward(be, c, t_.last_ln, last_mean, last_rstd, t_.last_x, p.lnfw, p.lnfb);
  be.matmul_forward(t_.logits, t_.last_ln, p.head(), Tensor{});
  const std::vector<double> logits = tensor_to_host_f64(be, t_.logits);  // (B, Vp)
  const int64_t V = c.vocab_size, Vp = c.padded_vocab_size();
  for (int64_t b = 0; b < B; b++)
    std::copy(logits.begin() + b * Vp, logits.begin() + b * Vp + V, last_logits_.begin() + b * V);
  pos_ += Tn;
  return last_logits_;
}

}  // namespace llm
