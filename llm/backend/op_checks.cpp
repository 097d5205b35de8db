#include "llm/backend/backend.hpp"
#include "llm/backend/expect.hpp"

#include <initializer_list>
#include <string_view>
#include <utility>

namespace llm {
namespace {

// The three dtypes a tensor can have, by its role (backend.hpp): weights, activations and their
// gradients are dtype(); statistics, losses, optimizer moments and master weights master_dtype();
// token ids and targets i32. Each on the backend's device.
void expect_in_dtype(const Backend& be, const char* op, const char* name, const Tensor& t) {
  expect_tensor(op, name, t, be.dtype(), be.device());
}
void expect_in_master_dtype(const Backend& be, const char* op, const char* name, const Tensor& t) {
  expect_tensor(op, name, t, be.master_dtype(), be.device());
}
void expect_ids(const Backend& be, const char* op, const char* name, const Tensor& t) {
  expect_tensor(op, name, t, DType::i32, be.device());
}
// Either of the backend's float dtypes; `roles` says what each holds, e.g. "(gradients)" and
// "(master weights)". Where the two are one (the CPU), the message names just that one.
void expect_in_either_dtype(const Backend& be, const char* op, const char* name, const Tensor& t,
                            const char* dtype_role, const char* master_role) {
  if (be.master_dtype() == be.dtype()) {
    expect_in_dtype(be, op, name, t);
    return;
  }
  expect_tensor(op, name, t, t.dtype, be.device());  // non-empty and on the device; dtype below
  check(t.dtype == be.dtype() || t.dtype == be.master_dtype(),
        std::string(op) + ": " + name + " is " + dtype_name(t.dtype) + ", expected " +
            dtype_name(be.dtype()) + " " + dtype_role + " or " + dtype_name(be.master_dtype()) +
            " " + master_role);
}

// An element-wise op: every tensor in dtype(), then every other one with as many elements as the
// one named `like` (their shapes may differ).
void expect_elementwise(const Backend& be, const char* op,
                        std::initializer_list<std::pair<const char*, Tensor>> tensors,
                        std::string_view like) {
  const Tensor* reference = nullptr;
  for (const auto& [name, t] : tensors) {
    expect_in_dtype(be, op, name, t);
    if (name == like) reference = &t;
  }
  const std::string expected = std::string(like) + "'s " + reference->shape.str();
  for (const auto& [name, t] : tensors)
    if (name != like) expect_numel(op, name, t, reference->numel(), expected);
}

// qkv (B, T, (NH + 2 NKV) hs) for attention with C = NH hs output channels: NH query heads, then
// NKV key and NKV value heads, NH a multiple of NKV; returns NKV. `expected` names the shape.
int64_t kv_heads(const char* op, const Tensor& qkv, int64_t C, int NH, const char* expected) {
  expect_rank(op, "qkv", qkv, 3);
  expect_heads(op, C, NH);
  const int64_t hs = C / NH, kv_channels = qkv.size(2) - C;
  const int64_t NKV = kv_channels / (2 * hs);
  check(kv_channels > 0 && kv_channels % (2 * hs) == 0 && NH % NKV == 0,
        std::string(op) + ": qkv has shape " + qkv.shape.str() + ", expected " + expected +
            " with NH = " + std::to_string(NH) +
            " a multiple of NKV and hs = " + std::to_string(hs));
  return NKV;
}

}  // namespace

// ---- encoder ----

void Backend::check_encoder_forward(const Backend& be, Tensor out, Tensor tokens, Tensor wte,
                                    Tensor wpe, int pos0) {
  const char* op = "encoder_forward";
  expect_in_dtype(be, op, "out", out);
  expect_ids(be, op, "tokens", tokens);
  expect_in_dtype(be, op, "wte", wte);
  expect_rank(op, "tokens", tokens, 2);
  expect_rank(op, "wte", wte, 2);
  const int64_t B = tokens.size(0), T = tokens.size(1), C = wte.size(1);
  expect_rows_cols(op, "out", out, B * T, C);
  check(pos0 >= 0, std::string(op) + ": pos0 is " + std::to_string(pos0) + ", expected >= 0");
  if (wpe.empty()) return;  // no learned positions (rope)
  expect_in_dtype(be, op, "wpe", wpe);
  expect_rank(op, "wpe", wpe, 2);
  const int64_t maxT = wpe.size(0);
  expect_rows_cols(op, "wpe", wpe, maxT, C);
  check(pos0 >= 0 && pos0 + T <= maxT, std::string(op) + ": positions " + std::to_string(pos0) +
                                           " .. " + std::to_string(pos0 + T - 1) + " exceed the " +
                                           std::to_string(maxT) + " learned positions");
}

void Backend::check_encoder_backward(const Backend& be, Tensor dwte, Tensor dwpe, Tensor dout,
                                     Tensor tokens) {
  const char* op = "encoder_backward";
  expect_in_dtype(be, op, "dwte", dwte);
  expect_in_dtype(be, op, "dout", dout);
  expect_ids(be, op, "tokens", tokens);
  expect_rank(op, "tokens", tokens, 2);
  expect_rank(op, "dwte", dwte, 2);
  const int64_t B = tokens.size(0), T = tokens.size(1), C = dwte.size(1);
  expect_rows_cols(op, "dout", dout, B * T, C);
  if (dwpe.empty()) return;  // no learned positions (rope)
  expect_in_dtype(be, op, "dwpe", dwpe);
  expect_rank(op, "dwpe", dwpe, 2);
  check(dwpe.size(1) == C && dwpe.size(0) >= T,
        std::string(op) + ": dwpe has shape " + dwpe.shape.str() +
            ", expected (maxT >= " + std::to_string(T) + ", " + std::to_string(C) + ")");
}

// ---- layernorm ----

void Backend::check_layernorm_forward(const Backend& be, Tensor out, Tensor mean, Tensor rstd,
                                      Tensor inp, Tensor weight, Tensor bias) {
  const char* op = "layernorm_forward";
  expect_in_dtype(be, op, "out", out);
  expect_in_master_dtype(be, op, "mean", mean);
  expect_in_master_dtype(be, op, "rstd", rstd);
  expect_in_dtype(be, op, "inp", inp);
  expect_in_dtype(be, op, "weight", weight);
  expect_in_dtype(be, op, "bias", bias);
  const int64_t N = inp.rows(), C = inp.last_dim();
  expect_rows_cols(op, "out", out, N, C);
  expect_numel(op, "mean", mean, N, "N");
  expect_numel(op, "rstd", rstd, N, "N");
  expect_numel(op, "weight", weight, C, "C");
  expect_numel(op, "bias", bias, C, "C");
}

void Backend::check_layernorm_backward(const Backend& be, Tensor dinp, Tensor dweight, Tensor dbias,
                                       Tensor dout, Tensor inp, Tensor weight, Tensor mean,
                                       Tensor rstd) {
  const char* op = "layernorm_backward";
  for (auto [name, t] : {std::pair{"dinp", dinp},
                         {"dweight", dweight},
                         {"dbias", dbias},
                         {"dout", dout},
                         {"inp", inp},
                         {"weight", weight}})
    expect_in_dtype(be, op, name, t);
  expect_in_master_dtype(be, op, "mean", mean);
  expect_in_master_dtype(be, op, "rstd", rstd);
  const int64_t N = inp.rows(), C = inp.last_dim();
  expect_rows_cols(op, "dinp", dinp, N, C);
  expect_rows_cols(op, "dout", dout, N, C);
  expect_numel(op, "dweight", dweight, C, "C");
  expect_numel(op, "dbias", dbias, C, "C");
  expect_numel(op, "weight", weight, C, "C");
  expect_numel(op, "mean", mean, N, "N");
  expect_numel(op, "rstd", rstd, N, "N");
}

// ---- matmul ----

void Backend::check_matmul_forward(const Backend& be, Tensor out, Tensor inp, Tensor weight,
                                   Tensor bias) {
  const char* op = "matmul_forward";
  expect_in_dtype(be, op, "out", out);
  expect_in_dtype(be, op, "inp", inp);
  expect_in_dtype(be, op, "weight", weight);
  expect_rank(op, "weight", weight, 2);
  const int64_t N = inp.rows(), C = inp.last_dim(), OC = weight.size(0);
  expect_rows_cols(op, "weight", weight, OC, C);
  expect_rows_cols(op, "out", out, N, OC);
  if (!bias.empty()) {
    expect_in_dtype(be, op, "bias", bias);
    expect_numel(op, "bias", bias, OC, "OC");
  }
}

void Backend::check_matmul_backward(const Backend& be, Tensor dinp, Tensor dweight, Tensor dbias,
                                    Tensor dout, Tensor inp, Tensor weight) {
  const char* op = "matmul_backward";
  expect_in_dtype(be, op, "dweight", dweight);
  expect_in_dtype(be, op, "dout", dout);
  expect_in_dtype(be, op, "inp", inp);
  expect_in_dtype(be, op, "weight", weight);
  expect_rank(op, "weight", weight, 2);
  const int64_t N = inp.rows(), C = inp.last_dim(), OC = weight.size(0);
  expect_rows_cols(op, "weight", weight, OC, C);
  expect_rows_cols(op, "dweight", dweight, OC, C);
  expect_rows_cols(op, "dout", dout, N, OC);
  if (!dinp.empty()) {
    expect_in_dtype(be, op, "dinp", dinp);
    expect_rows_cols(op, "dinp", dinp, N, C);
  }
  if (!dbias.empty()) {
    expect_in_dtype(be, op, "dbias", dbias);
    expect_numel(op, "dbias", dbias, OC, "OC");
  }
}

// ---- attention ----

void Backend::check_attention_forward(const Backend& be, Tensor out, Tensor state, Tensor qkv,
                                      int NH) {
  const char* op = "attention_forward";
  expect_in_dtype(be, op, "out", out);
  expect_in_master_dtype(be, op, "state", state);
  expect_in_dtype(be, op, "qkv", qkv);
  expect_rank(op, "out", out, 3);
  const int64_t C = out.size(2);
  kv_heads(op, qkv, C, NH, "(B, T, (NH + 2 NKV) hs)");
  const int B = int(qkv.size(0)), T = int(qkv.size(1));
  expect_rows_cols(op, "out", out, int64_t(B) * T, C);
  const Shape state_shape = be.attention_state_shape(B, T, NH);
  expect_numel(op, "state", state, state_shape.numel(), state_shape.str());
}

void Backend::check_attention_backward(const Backend& be, Tensor dqkv, Tensor scratch, Tensor dout,
                                       Tensor qkv, Tensor /*out*/, Tensor state, int NH) {
  const char* op = "attention_backward";
  expect_in_dtype(be, op, "dqkv", dqkv);
  expect_in_master_dtype(be, op, "scratch", scratch);
  expect_in_dtype(be, op, "dout", dout);
  expect_in_dtype(be, op, "qkv", qkv);
  expect_in_master_dtype(be, op, "state", state);
  expect_rank(op, "dout", dout, 3);
  const int64_t C = dout.size(2);
  kv_heads(op, qkv, C, NH, "(B, T, (NH + 2 NKV) hs)");
  const int B = int(qkv.size(0)), T = int(qkv.size(1));
  expect_rows_cols(op, "dqkv", dqkv, int64_t(B) * T, qkv.size(2));
  expect_rows_cols(op, "dout", dout, int64_t(B) * T, C);
  const Shape state_shape = be.attention_state_shape(B, T, NH);
  expect_numel(op, "state", state, state_shape.numel(), state_shape.str());
  expect_numel(op, "scratch", scratch, state_shape.numel(), state_shape.str());
}

void Backend::check_attention_forward_cached(const Backend& be, Tensor out, Tensor k_cache,
                                             Tensor v_cache, Tensor qkv, int NH, int pos0) {
  const char* op = "attention_forward_cached";
  for (auto [name, t] :
       {std::pair{"out", out}, {"k_cache", k_cache}, {"v_cache", v_cache}, {"qkv", qkv}})
    expect_in_dtype(be, op, name, t);
  expect_rank(op, "k_cache", k_cache, 4);
  expect_rank(op, "out", out, 3);
  const int64_t C = out.size(2);
  const int64_t NKV = kv_heads(op, qkv, C, NH, "(B, Tn, (NH + 2 NKV) hs)");
  const int64_t B = qkv.size(0), Tn = qkv.size(1), hs = C / NH, maxT = k_cache.size(2);
  expect_rows_cols(op, "out", out, B * Tn, C);
  check(k_cache.size(0) == B && k_cache.size(1) == NKV && k_cache.size(3) == hs,
        std::string(op) + ": k_cache has shape " + k_cache.shape.str() + ", expected (" +
            std::to_string(B) + ", " + std::to_string(NKV) + ", maxT, " + std::to_string(hs) + ")");
  check(v_cache.shape == k_cache.shape, std::string(op) + ": v_cache has shape " +
                                            v_cache.shape.str() + ", k_cache " +
                                            k_cache.shape.str());
  check(pos0 >= 0 && pos0 + Tn <= maxT, std::string(op) + ": positions " + std::to_string(pos0) +
                                            " .. " + std::to_string(pos0 + Tn - 1) +
                                            " do not fit in a cache of " + std::to_string(maxT));
}

// ---- rmsnorm ----

void Backend::check_rmsnorm_forward(const Backend& be, Tensor out, Tensor rstd, Tensor inp,
                                    Tensor weight, double eps) {
  const char* op = "rmsnorm_forward";
  expect_in_dtype(be, op, "out", out);
  expect_in_master_dtype(be, op, "rstd", rstd);
  expect_in_dtype(be, op, "inp", inp);
  expect_in_dtype(be, op, "weight", weight);
  const int64_t N = inp.rows(), C = inp.last_dim();
  expect_rows_cols(op, "out", out, N, C);
  expect_numel(op, "rstd", rstd, N, "N");
  expect_numel(op, "weight", weight, C, "C");
  check(eps > 0, std::string(op) + ": eps is " + std::to_string(eps) + ", expected > 0");
}

void Backend::check_rmsnorm_backward(const Backend& be, Tensor dinp, Tensor dweight, Tensor dout,
                                     Tensor inp, Tensor weight, Tensor rstd) {
  const char* op = "rmsnorm_backward";
  for (auto [name, t] : {std::pair{"dinp", dinp},
                         {"dweight", dweight},
                         {"dout", dout},
                         {"inp", inp},
                         {"weight", weight}})
    expect_in_dtype(be, op, name, t);
  expect_in_master_dtype(be, op, "rstd", rstd);
  const int64_t N = inp.rows(), C = inp.last_dim();
  expect_rows_cols(op, "dinp", dinp, N, C);
  expect_rows_cols(op, "dout", dout, N, C);
  expect_numel(op, "rstd", rstd, N, "N");
  expect_numel(op, "weight", weight, C, "C");
  expect_numel(op, "dweight", dweight, C, "C");
}

// ---- rope ----

namespace {
// Both of rope's tensors (B, T, W) with W holding n_rotated heads of an even hs, and more.
void expect_rope(const Backend& be, const char* op, const char* a_name, Tensor a,
                 const char* b_name, Tensor b, int hs, int n_rotated, int pos0,
                 RopeFrequencies frequencies) {
  expect_in_dtype(be, op, a_name, a);
  expect_in_dtype(be, op, b_name, b);
  expect_rank(op, b_name, b, 3);
  check(a.shape == b.shape, std::string(op) + ": " + a_name + " has shape " + a.shape.str() + ", " +
                                b_name + " " + b.shape.str());
  check(hs > 0 && hs % 2 == 0,
        std::string(op) + ": head size " + std::to_string(hs) + " must be even and positive");
  check(n_rotated >= 0 && int64_t(n_rotated) * hs <= b.size(2),
        std::string(op) + ": " + std::to_string(n_rotated) + " heads of " + std::to_string(hs) +
            " do not fit in " + b_name + "'s " + std::to_string(b.size(2)) + " channels");
  check(pos0 >= 0 && frequencies.theta > 0, std::string(op) + ": pos0 must be >= 0 and theta > 0");
}
}  // namespace

void Backend::check_rope_forward(const Backend& be, Tensor out, Tensor inp, int hs, int n_rotated,
                                 int pos0, RopeFrequencies frequencies) {
  expect_rope(be, "rope_forward", "out", out, "inp", inp, hs, n_rotated, pos0, frequencies);
}

void Backend::check_rope_backward(const Backend& be, Tensor dinp, Tensor dout, int hs,
                                  int n_rotated, int pos0, RopeFrequencies frequencies) {
  expect_rope(be, "rope_backward", "dinp", dinp, "dout", dout, hs, n_rotated, pos0, frequencies);
}

// ---- qk_norm ----

namespace {
// qkv-shaped tensors (B, T, (NH + 2 NKV) hs), leading dimensions folded, with hs = q_weight's
// size; returns NH + NKV, the heads that are normalised.
int64_t expect_qk_norm(const char* op, const char* a_name, Tensor a, const char* b_name, Tensor b,
                       Tensor q_weight, Tensor k_weight, Tensor rstd, int NH) {
  check(a.shape == b.shape, std::string(op) + ": " + a_name + " has shape " + a.shape.str() + ", " +
                                b_name + " " + b.shape.str());
  const int64_t hs = q_weight.numel(), W = b.last_dim();
  expect_numel(op, "k_weight", k_weight, hs, "q_weight's size hs");
  const int64_t heads = W / hs;  // NH + 2 NKV
  check(NH > 0 && W % hs == 0 && heads > NH && (heads - NH) % 2 == 0,
        std::string(op) + ": " + b_name + "'s " + std::to_string(W) +
            " channels are not NH = " + std::to_string(NH) +
            " query heads and 2 NKV >= 2 key/value heads of hs = " + std::to_string(hs));
  const int64_t normalised = NH + (heads - NH) / 2;
  expect_numel(op, "rstd", rstd, b.rows() * normalised, "(B, T, NH + NKV)");
  return normalised;
}
}  // namespace

void Backend::check_qk_norm_forward(const Backend& be, Tensor out, Tensor rstd, Tensor inp,
                                    Tensor q_weight, Tensor k_weight, int NH, double eps) {
  const char* op = "qk_norm_forward";
  for (auto [name, t] :
       {std::pair{"out", out}, {"inp", inp}, {"q_weight", q_weight}, {"k_weight", k_weight}})
    expect_in_dtype(be, op, name, t);
  expect_in_master_dtype(be, op, "rstd", rstd);
  expect_qk_norm(op, "out", out, "inp", inp, q_weight, k_weight, rstd, NH);
  check(out.data != inp.data, std::string(op) + ": out is inp (the backward needs inp unchanged)");
  check(eps > 0, std::string(op) + ": eps is " + std::to_string(eps) + ", expected > 0");
}

void Backend::check_qk_norm_backward(const Backend& be, Tensor dinp, Tensor dq_weight,
                                     Tensor dk_weight, Tensor dout, Tensor inp, Tensor q_weight,
                                     Tensor k_weight, Tensor rstd, int NH) {
  const char* op = "qk_norm_backward";
  for (auto [name, t] : {std::pair{"dinp", dinp},
                         {"dq_weight", dq_weight},
                         {"dk_weight", dk_weight},
                         {"dout", dout},
                         {"inp", inp},
                         {"q_weight", q_weight},
                         {"k_weight", k_weight}})
    expect_in_dtype(be, op, name, t);
  expect_in_master_dtype(be, op, "rstd", rstd);
  check(dinp.shape == dout.shape,
        std::string(op) + ": dinp has shape " + dinp.shape.str() + ", dout " + dout.shape.str());
  expect_qk_norm(op, "dout", dout, "inp", inp, q_weight, k_weight, rstd, NH);
  expect_numel(op, "dq_weight", dq_weight, q_weight.numel(), "q_weight's size hs");
  expect_numel(op, "dk_weight", dk_weight, q_weight.numel(), "q_weight's size hs");
}

// ---- swiglu ----

void Backend::check_swiglu_forward(const Backend& be, Tensor out, Tensor inp) {
  const char* op = "swiglu_forward";
  expect_in_dtype(be, op, "out", out);
  expect_in_dtype(be, op, "inp", inp);
  const int64_t N = out.rows(), H = out.last_dim();
  expect_rows_cols(op, "inp", inp, N, 2 * H);
}

void Backend::check_swiglu_backward(const Backend& be, Tensor dinp, Tensor inp, Tensor dout) {
  const char* op = "swiglu_backward";
  for (auto [name, t] : {std::pair{"dinp", dinp}, {"inp", inp}, {"dout", dout}})
    expect_in_dtype(be, op, name, t);
  const int64_t N = dout.rows(), H = dout.last_dim();
  expect_rows_cols(op, "inp", inp, N, 2 * H);
  expect_rows_cols(op, "dinp", dinp, N, 2 * H);
}

// ---- gelu, relu2, residual ----

void Backend::check_gelu_forward(const Backend& be, Tensor out, Tensor inp) {
  expect_elementwise(be, "gelu_forward", {{"out", out}, {"inp", inp}}, "inp");
}

void Backend::check_gelu_backward(const Backend& be, Tensor dinp, Tensor inp, Tensor dout) {
  expect_elementwise(be, "gelu_backward", {{"dinp", dinp}, {"inp", inp}, {"dout", dout}}, "inp");
}

void Backend::check_relu2_forward(const Backend& be, Tensor out, Tensor inp) {
  expect_elementwise(be, "relu2_forward", {{"out", out}, {"inp", inp}}, "inp");
}

void Backend::check_relu2_backward(const Backend& be, Tensor dinp, Tensor inp, Tensor dout) {
  expect_elementwise(be, "relu2_backward", {{"dinp", dinp}, {"inp", inp}, {"dout", dout}}, "inp");
}

void Backend::check_residual_forward(const Backend& be, Tensor out, Tensor a, Tensor b) {
  expect_elementwise(be, "residual_forward", {{"out", out}, {"a", a}, {"b", b}}, "a");
}

void Backend::check_residual_backward(const Backend& be, Tensor da, Tensor db, Tensor dout) {
  expect_elementwise(be, "residual_backward", {{"da", da}, {"db", db}, {"dout", dout}}, "dout");
}

void Backend::check_scale_add(const Backend& be, Tensor out, double, Tensor a, double, Tensor b) {
  const char* op = "scale_add";
  for (const auto& [name, t] : {std::pair{"out", out}, std::pair{"a", a}, std::pair{"b", b}})
    expect_in_either_dtype(be, op, name, t, "(weights, gradients)", "(moments, master weights)");
  const std::string expected = "a's " + a.shape.str();
  expect_numel(op, "out", out, a.numel(), expected);
  expect_numel(op, "b", b, a.numel(), expected);
  // In place, an element is read and written in one dtype.
  for (const auto& [name, t] : {std::pair{"a", a}, std::pair{"b", b}})
    check(t.data != out.data || t.dtype == out.dtype,
          std::string(op) + ": out is " + name + " (in place) but in another dtype");
}

// ---- classifier ----

void Backend::check_classifier_forward(const Backend& be, Tensor losses, Tensor logits,
                                       Tensor targets, int V, double /*dloss*/) {
  const char* op = "classifier_forward";
  expect_in_master_dtype(be, op, "losses", losses);
  expect_in_dtype(be, op, "logits", logits);
  expect_ids(be, op, "targets", targets);
  const int64_t N = logits.rows(), Vp = logits.last_dim();
  check(V > 0 && V <= Vp, std::string(op) + ": V = " + std::to_string(V) +
                              " real columns, but logits has shape " + logits.shape.str());
  expect_numel(op, "losses", losses, N, "N");
  expect_numel(op, "targets", targets, N, "N");
}

// ---- optimizer ----

void Backend::check_adamw_update(const Backend& be, Tensor param, Tensor grad, Tensor m, Tensor v,
                                 Tensor master, const AdamWSettings& settings,
                                 double /*grad_scale*/) {
  const char* op = "adamw_update";
  expect_in_dtype(be, op, "param", param);
  expect_in_dtype(be, op, "grad", grad);
  expect_in_master_dtype(be, op, "m", m);
  expect_in_master_dtype(be, op, "v", v);
  const int64_t N = param.numel();
  const std::string param_shape = "param's " + param.shape.str();
  expect_numel(op, "grad", grad, N, param_shape);
  expect_numel(op, "m", m, N, param_shape);
  expect_numel(op, "v", v, N, param_shape);
  check(settings.step >= 1,
        std::string(op) + ": step is " + std::to_string(settings.step) + ", must be >= 1");
  if (!master.empty()) {
    expect_in_master_dtype(be, op, "master", master);
    expect_numel(op, "master", master, N, param_shape);
  }
}

void Backend::check_sum_of_squares(const Backend& be, Tensor t) {
  expect_in_either_dtype(be, "sum_of_squares", "t", t, "(gradients)", "(master weights)");
}

// ---- the pieces ----

void expect_tensor(const char* op, const char* name, const Tensor& t, DType dtype, Device device) {
  const std::string where = std::string(op) + ": " + name;
  check(!t.empty(), where + " is empty");
  check(t.device == device,
        where + " is on " + device_name(t.device) + ", expected " + device_name(device));
  check(t.dtype == dtype, where + " is " + dtype_name(t.dtype) + ", expected " + dtype_name(dtype));
}

void expect_numel(const char* op, const char* name, const Tensor& t, int64_t numel,
                  const std::string& expected) {
  check(t.numel() == numel, std::string(op) + ": " + name + " has shape " + t.shape.str() + " (" +
                                std::to_string(t.numel()) + " elements), expected " + expected +
                                " = " + std::to_string(numel) + " elements");
}

void expect_rows_cols(const char* op, const char* name, const Tensor& t, int64_t rows,
                      int64_t cols) {
  check(t.last_dim() == cols && t.rows() == rows,
        std::string(op) + ": " + name + " has shape " + t.shape.str() + ", expected (" +
            std::to_string(rows) + ", " + std::to_string(cols) +
            ") with leading dimensions folded");
}

void expect_rank(const char* op, const char* name, const Tensor& t, int rank) {
  check(t.shape.rank == rank, std::string(op) + ": " + name + " has shape " + t.shape.str() +
                                  ", expected rank " + std::to_string(rank));
}

void expect_heads(const char* op, int64_t C, int NH) {
  check(NH > 0 && C % NH == 0, std::string(op) + ": C = " + std::to_string(C) +
                                   " is not divisible into NH = " + std::to_string(NH) + " heads");
}

}  // namespace llm
