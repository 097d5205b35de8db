// The GPT-2 model: forward and backward written once against the Backend interface.
#include "llm/model/gpt.hpp"

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "llm/backend/host_copy.hpp"

namespace llm {

namespace {

// The token and target buffers of one batch, on the backend's device.
struct TokenTensors {
  int B = 0, T = 0;
  Tensor tokens;   // (B, T) i32
  Tensor targets;  // (B, T) i32
  template <typename Fn> void visit(Fn&& fn) {
    fn("tokens", tokens, Shape{B, T});
    fn("targets", targets, Shape{B, T});
  }
};

}  // namespace

bool is_decayed(const char* name) {
  const std::string n = name;
  return n == "wte" || n == "wpe" || n == "qkvw" || n == "attprojw" || n == "fcw" || n == "fcprojw";
}

bool is_bias(const char* name) {
  const std::string n = name;
  return n == "ln1b" || n == "qkvb" || n == "attprojb" || n == "ln2b" || n == "fcb" ||
         n == "fcprojb" || n == "lnfb";
}

DType activation_dtype(const Backend& backend, const char* name) {
  const std::string n = name;
  const bool statistic = n == "ln1_mean" || n == "ln1_rstd" || n == "ln2_mean" || n == "ln2_rstd" ||
                         n == "lnf_mean" || n == "lnf_rstd" || n == "att" || n == "losses";
  return statistic ? backend.master_dtype() : backend.dtype();
}

GPT::GPT(const GPTConfig& config, Backend& backend) : config_(config), backend_(backend) {
  config_.validate();
  params.config = config_;
  grads.config = config_;
  param_memory_.carve(backend_, backend_.dtype(), params);
  grad_memory_.carve(backend_, backend_.dtype(), grads);
}

void GPT::init_weights(uint64_t seed) {
  // Drawn on the host in double, then rounded to the parameters' dtype on the way to the device.
  std::mt19937_64 rng(seed);
  const double std_default = 0.02;
  const double std_residual = 0.02 / std::sqrt(2.0 * config_.n_layer);
  params.visit([&](const char* name_c, Tensor& t, Shape) {
    const std::string name = name_c;
    std::vector<double> values(t.numel(), 0.0);
    if (name == "ln1w" || name == "ln2w" || name == "lnfw") {
      std::fill(values.begin(), values.end(), 1.0);
    } else if (is_decayed(name_c)) {
      std::normal_distribution<double> normal(
          0.0, (name == "attprojw" || name == "fcprojw") ? std_residual : std_default);
      for (double& v : values) v = normal(rng);
      if (name == "wte") {  // padding rows V..Vp are never used as tokens: keep them 0
        const int64_t C = config_.n_embd;
        std::fill(values.begin() + int64_t(config_.vocab_size) * C, values.end(), 0.0);
      }
    }
    // biases stay 0
    tensor_from_host_f64(backend_, t, values);  // rounded to the parameters' dtype (bf16 on a GPU)
  });
}

void GPT::reserve(int B, int T) {
  check(T >= 1 && T <= config_.max_seq_len,
        "sequence length " + std::to_string(T) + " is outside 1.." +
            std::to_string(config_.max_seq_len) + " (the model's max_seq_len)");
  check(B >= 1, "batch size must be at least 1");
  if (acts.B == B && acts.T == T) return;
  // Set up once per shape: the activations, their gradients, and the token buffers.
  for (ActivationTensors* a : {&acts, &act_grads_}) {
    *a = ActivationTensors{};
    a->config = config_;
    a->B = B;
    a->T = T;
    a->attention_state = backend_.attention_state_shape(B, T, config_.n_head);
  }
  act_memory_ = Arena{};
  act_grad_memory_ = Arena{};
  auto dtype_of_name = [&](const char* name) { return activation_dtype(backend_, name); };
  act_memory_.carve(backend_, acts, dtype_of_name);
  act_grad_memory_.carve(backend_, act_grads_, dtype_of_name);
  TokenTensors token_views;
  token_views.B = B;
  token_views.T = T;
  token_memory_ = Arena{};
  token_memory_.carve(backend_, DType::i32, token_views);
  tokens_ = token_views.tokens;
  targets_ = token_views.targets;
}

double GPT::forward(const int32_t* tokens, const int32_t* targets, int B, int T) {
  return run_forward(tokens, targets, B, T, 0.0);
}

double GPT::forward_backward(const int32_t* tokens, const int32_t* targets, int B, int T,
                             double loss_scale, const GradientsReady& on_ready) {
  check(targets != nullptr, "forward_backward needs targets");
  // d(mean loss)/d(loss_bt) = 1 / (B T): the classifier writes dlogits scaled by this.
  const double loss = run_forward(tokens, targets, B, T, loss_scale / double(B * T));
  run_backward(on_ready);
  return loss;
}

void GPT::zero_grad() { backend_.zero(grad_memory_.whole()); }

double GPT::run_forward(const int32_t* tokens, const int32_t* targets, int B, int T, double dloss) {
  reserve(B, T);
  for (int64_t i = 0; i < int64_t(B) * T; i++) {
    check(tokens[i] >= 0 && tokens[i] < config_.vocab_size,
          "token id " + std::to_string(tokens[i]) + " is outside the vocabulary [0, " +
              std::to_string(config_.vocab_size) + ")");
  }
  backend_.copy_from_host(tokens_, tokens);
  const int NH = config_.n_head;
  Backend& be = backend_;
  ParameterTensors& p = params;
  ActivationTensors& a = acts;

  be.encoder_forward(a.encoded, tokens_, p.wte, p.wpe, 0);  // (B, T, C)
  const Tensor residual = forward_blocks(
      a.encoded, [&](int l) { return a.layer(l); },
      [&](int l, Tensor atty, Tensor qkv) {
        be.attention_forward(atty, a.att.slice(l), qkv, NH);  // its state saved for the backward
      });
  be.layernorm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, residual, p.lnfw, p.lnfb);
  be.matmul_forward(a.logits, a.lnf, p.wte, Tensor{});  // tied head, no bias: (B, T, Vp)
  if (targets == nullptr) return 0.0;

  for (int64_t i = 0; i < int64_t(B) * T; i++) {
    check(targets[i] >= 0 && targets[i] < config_.vocab_size,
          "target id " + std::to_string(targets[i]) + " is outside the vocabulary");
  }
  be.copy_from_host(targets_, targets);
  be.classifier_forward(a.losses, a.logits, targets_, config_.vocab_size, dloss);
  // The mean loss, summed on the host in double so it does not depend on the reduction order.
  double sum = 0;
  for (double v : tensor_to_host_f64(be, a.losses)) sum += v;
  return sum / double(int64_t(B) * T);
}

Tensor GPT::forward_blocks(Tensor x, const std::function<LayerActivations(int l)>& activations_of,
                           const LayerAttention& attention) {
  for (int l = 0; l < config_.n_layer; l++) {
    const LayerActivations a = activations_of(l);
    block_forward(backend_, params.layer(l), a, x,
                  [&](Tensor atty, Tensor qkv) { attention(l, atty, qkv); });
    x = a.residual3;
  }
  return x;
}

void GPT::run_backward(const GradientsReady& on_ready) {
  // acts.logits now holds dlogits (the fused classifier wrote them in place).
  const int NH = config_.n_head;
  Backend& be = backend_;
  ParameterTensors& p = params;
  ParameterTensors& g = grads;
  ActivationTensors& a = acts;
  ActivationTensors& d = act_grads_;  // d.x is dLoss/dx for activation x
  // The backward ops accumulate, so an activation gradient must be 0 before its first writer runs.
  // The residual stream's gradients (encoded, residual2, residual3) and lnf's are zeroed here; the
  // gradients inside a layer's branches are zeroed when that layer starts, so they are still in
  // cache when the ops add into them. Never zeroed: d.att is scratch the attention backward
  // overwrites, the classifier already wrote dlogits into acts.logits (d.logits, d.losses unused),
  // and no op reads or writes the gradients of the saved means and rstds.
  be.zero(d.encoded);
  be.zero(d.residual2);
  be.zero(d.residual3);
  be.zero(d.lnf);

  const int L = config_.n_layer;
  Tensor residual = a.residual3.slice(L - 1);
  Tensor dresidual = d.residual3.slice(L - 1);
  be.matmul_backward(d.lnf, g.wte, Tensor{}, a.logits, a.lnf, p.wte);
  be.layernorm_backward(dresidual, g.lnfw, g.lnfb, d.lnf, residual, p.lnfw, a.lnf_mean, a.lnf_rstd);
  if (on_ready) on_ready({g.lnfw, g.lnfb});

  for (int l = L - 1; l >= 0; l--) {
    const LayerActivations dl = d.layer(l);
    for (Tensor t : {dl.ln1, dl.qkv, dl.atty, dl.attproj, dl.ln2, dl.fch, dl.fch_gelu, dl.fcproj})
      be.zero(t);
    const Tensor x = l == 0 ? a.encoded : a.residual3.slice(l - 1);
    const Tensor dx = l == 0 ? d.encoded : d.residual3.slice(l - 1);
    block_backward(be, p.layer(l), g.layer(l), a.layer(l), dl, x, dx, NH);
    if (on_ready) on_ready(g.layer(l).all());
  }
  be.encoder_backward(g.wte, g.wpe, d.encoded, tokens_);
  if (on_ready) on_ready({g.wte, g.wpe});
}

}  // namespace llm
