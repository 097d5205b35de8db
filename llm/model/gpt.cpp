// The model: forward and backward written once against the Backend interface.
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

TensorKind parameter_kind(const char* name) {
  // Every tensor any config has: untied, with biases, learned positions, layernorms and QK-norm.
  ParameterTensors all;
  all.config.tie_embeddings = false;
  all.config.qk_norm = true;
  TensorKind found = TensorKind::matrix;
  bool known = false;
  all.visit([&](const char* n, Tensor&, Shape, TensorKind kind) {
    if (std::strcmp(n, name) == 0) found = kind, known = true;
  });
  check(known, std::string("parameter_kind: the model has no parameter '") + name + "'");
  return found;
}

bool is_decayed(const char* name) { return is_decayed(parameter_kind(name)); }

bool is_bias(const char* name) { return parameter_kind(name) == TensorKind::bias; }

DType activation_dtype(const Backend& backend, TensorKind kind) {
  return kind == TensorKind::statistic ? backend.master_dtype() : backend.dtype();
}

DType activation_dtype(const Backend& backend, const char* name) {
  ActivationTensors all;  // the layernorm config with QK-norm lists every statistic
  all.config.qk_norm = true;
  TensorKind found = TensorKind::value;
  bool known = false;
  all.visit([&](const char* n, Tensor&, Shape, TensorKind kind) {
    if (std::strcmp(n, name) == 0) found = kind, known = true;
  });
  check(known, std::string("activation_dtype: the model has no activation '") + name + "'");
  return activation_dtype(backend, found);
}

void check_token_ids(const int32_t* ids, int64_t n, int V, const char* what) {
  for (int64_t i = 0; i < n; i++)
    check(ids[i] >= 0 && ids[i] < V, std::string(what) + " id " + std::to_string(ids[i]) +
                                         " is outside the vocabulary [0, " + std::to_string(V) +
                                         ")");
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
  params.visit([&](const char*, Tensor& t, Shape, TensorKind kind) {
    std::vector<double> values(t.numel(), 0.0);  // biases stay 0
    if (kind == TensorKind::gain) {
      std::fill(values.begin(), values.end(), 1.0);
    } else if (is_decayed(kind)) {
      std::normal_distribution<double> normal(
          0.0, kind == TensorKind::residual_projection ? std_residual : std_default);
      for (double& v : values) v = normal(rng);
      if (&t == &params.wte || &t == &params.lm_head) {
        // padding rows V..Vp are never used as tokens: keep them 0
        const int64_t C = config_.n_embd;
        std::fill(values.begin() + int64_t(config_.vocab_size) * C, values.end(), 0.0);
      }
    }
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
  auto dtype_of_kind = [&](TensorKind kind) { return activation_dtype(backend_, kind); };
  act_memory_.carve(backend_, acts, dtype_of_kind);
  act_grad_memory_.carve(backend_, act_grads_, dtype_of_kind);
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
  check_token_ids(tokens, int64_t(B) * T, config_.vocab_size, "token");
  backend_.copy_from_host(tokens_, tokens);
  const int NH = config_.n_head;
  Backend& be = backend_;
  ParameterTensors& p = params;
  ActivationTensors& a = acts;

  // wpe is empty with rope: the positions enter inside attention instead
  be.encoder_forward(a.encoded, tokens_, p.wte, p.wpe, 0);  // (B, T, C)
  const Tensor residual = forward_blocks(
      a.encoded, 0, [&](int l) { return a.layer(l); },
      [&](int l, Tensor atty, Tensor qkv) {
        be.attention_forward(atty, a.att.slice(l), qkv, NH);  // its state saved for the backward
      });
  norm_forward(be, config_, a.lnf, a.lnf_mean, a.lnf_rstd, residual, p.lnfw, p.lnfb);
  be.matmul_forward(a.logits, a.lnf, p.head(), Tensor{});  // no bias: (B, T, Vp)
  if (targets == nullptr) return 0.0;

  check_token_ids(targets, int64_t(B) * T, config_.vocab_size, "target");
  be.copy_from_host(targets_, targets);
  be.classifier_forward(a.losses, a.logits, targets_, config_.vocab_size, dloss);
  // The mean loss, summed on the host in double so it does not depend on the reduction order.
  double sum = 0;
  for (double v : tensor_to_host_f64(be, a.losses)) sum += v;
  return sum / double(int64_t(B) * T);
}

Tensor GPT::forward_blocks(Tensor x, int pos0,
                           const std::function<LayerActivations(int l)>& activations_of,
                           const LayerAttention& attention) {
  for (int l = 0; l < config_.n_layer; l++) {
    const LayerActivations a = activations_of(l);
    block_forward(backend_, config_, params.layer(l), a, x, pos0,
                  [&](Tensor atty, Tensor qkv) { attention(l, atty, qkv); });
    x = a.residual3;
  }
  return x;
}

void GPT::run_backward(const GradientsReady& on_ready) {
  // acts.logits now holds dlogits (the fused classifier wrote them in place).
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
  // Reports a group of final gradients, leaving out the ones the config does not have.
  auto ready = [&](std::vector<Tensor> group) {
    if (!on_ready) return;
    std::erase_if(group, [](const Tensor& t) { return t.empty(); });
    on_ready(group);
  };
  be.matmul_backward(d.lnf, g.head(), Tensor{}, a.logits, a.lnf, p.head());
  norm_backward(be, config_, dresidual, g.lnfw, g.lnfb, d.lnf, residual, p.lnfw, a.lnf_mean,
                a.lnf_rstd);
  ready({g.lnfw, g.lnfb, g.lm_head});

  for (int l = L - 1; l >= 0; l--) {
    const LayerActivations dl = d.layer(l);
    for (Tensor t : {dl.ln1, dl.qkv, dl.qkv_norm, dl.qkv_rope, dl.atty, dl.attproj, dl.ln2, dl.fch,
                     dl.fch_gelu, dl.fcproj})
      if (!t.empty()) be.zero(t);
    const Tensor x = l == 0 ? a.encoded : a.residual3.slice(l - 1);
    const Tensor dx = l == 0 ? d.encoded : d.residual3.slice(l - 1);
    block_backward(be, config_, p.layer(l), g.layer(l), a.layer(l), dl, x, dx);
    ready(g.layer(l).all());
  }
  be.encoder_backward(g.wte, g.wpe, d.encoded, tokens_);  // g.wpe is empty with rope
  ready({g.wte, g.wpe});
}

}  // namespace llm
