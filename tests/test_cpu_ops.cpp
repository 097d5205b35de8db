// Tests of the CPU reference backend (llm/backend/cpu/), op by op, through the Backend interface.
//
// - Every backward is checked against central finite differences in double (tests/gradcheck.hpp)
//   of L = sum(w * forward output) for a fixed random w, on fixed-seed normal inputs of odd sizes
//   (B = 2, T = 5, C = 12, NH = 3, ...). Gradient buffers start from random values, not zeros, and
//   the analytic gradient is (buffer after - buffer before): this also checks that every backward
//   ACCUMULATES. Each gradient check is then shown to have teeth: the same check must reject the
//   analytic gradient with one entry moved by 1e-4 relative.
// - Forwards are checked against naive loop formulas written out here, in double.
// - The f32 backend must agree with the f64 one to ~1e-5 (float rounding through a few ops).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gradcheck.hpp"
#include "llm/backend/backend.hpp"
#include "llm/core/tensor.hpp"
#include "test_inputs.hpp"

using namespace llm;
using test_inputs::randn;
using test_inputs::view;

namespace {

// ---- helpers ----

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += a[i] * b[i];
  return s;
}

std::vector<double> minus(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); i++) d[i] = a[i] - b[i];
  return d;
}

// max_i |a[i] - b[i]| / max(1, |b[i]|): an absolute error for values below 1, relative above.
double max_error(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); i++)
    worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
  return worst;
}

// One gradient check plus the proof that it can fail. Tolerances: those of gradcheck::Options
// (h = 1e-5, relative error <= 1e-6 with a 1e-3 floor); the worst errors observed are 6e-8 (dqkv)
// and 1.7e-7 (gelu, on a 1e-7 gradient, i.e. 1.7e-10 absolute: rounding in f(x +- h)).
void expect_gradient(const std::string& what,
                     const std::function<double(const std::vector<double>&)>& loss,
                     const std::vector<double>& x, const std::vector<double>& analytic) {
  const gradcheck::Result result = gradcheck::check_gradient(loss, x, analytic);
  INFO(what << ": " << result.message());
  CHECK(result.ok);
  CHECK(result.checked == static_cast<int64_t>(x.size()));

  std::vector<double> wrong = analytic;
  const size_t k = wrong.size() / 2;
  wrong[k] += 1e-4 * std::max(std::abs(wrong[k]), gradcheck::Options{}.floor);
  const gradcheck::Result caught = gradcheck::check_gradient(loss, x, wrong);
  INFO(what << " with a perturbed entry " << k << ": " << caught.message());
  CHECK_FALSE(caught.ok);
  CHECK(caught.worst_index == static_cast<int64_t>(k));
}

// The sizes of the tests: small, odd, and with more than one head and batch row.
constexpr int64_t B = 2, T = 5, C = 12, NH = 3, hs = C / NH;

}  // namespace

// ---------------------------------------------------------------------------------------------
TEST_CASE("gradcheck harness: passes a true gradient, names the index of a wrong one") {
  // f(x) = sum_i sin(x_i) x_{i+1} + x_0^3
  auto f = [](const std::vector<double>& x) {
    double s = x[0] * x[0] * x[0];
    for (size_t i = 0; i + 1 < x.size(); i++) s += std::sin(x[i]) * x[i + 1];
    return s;
  };
  const std::vector<double> x = randn(9, 1);
  std::vector<double> g(x.size(), 0.0);
  g[0] = 3 * x[0] * x[0];
  for (size_t i = 0; i + 1 < x.size(); i++) {
    g[i] += std::cos(x[i]) * x[i + 1];
    g[i + 1] += std::sin(x[i]);
  }
  expect_gradient("sin chain", f, x, g);

  // sampling for whole-model checks: evenly spaced, ends included
  const std::vector<int64_t> idx = gradcheck::sample_indices(101, 5);
  CHECK(idx == std::vector<int64_t>{0, 25, 50, 75, 100});
  gradcheck::Options sampled;
  sampled.max_checks = 4;
  CHECK(gradcheck::check_gradient(f, x, g, sampled).checked == 4);

  // in place, as a whole-model check perturbs the parameter memory itself
  std::vector<double> params = x;
  const gradcheck::Result in_place = gradcheck::check_gradient_in_place(
      [&] { return f(params); }, params.data(), static_cast<int64_t>(params.size()), g);
  CHECK(in_place.ok);
  CHECK(params == x);  // every coordinate restored exactly
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("encoder: forward = wte[token] + wpe[pos0 + t]; backward by finite differences") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t Vp = 7, maxT = 8;
  std::vector<int32_t> tokens = {3, 1, 3, 0, 6, 2, 3, 5, 1, 1};  // repeats: dwte must add up
  std::vector<double> wte = randn(Vp * C, 10), wpe = randn(maxT * C, 11);
  std::vector<double> out(B * T * C), w = randn(B * T * C, 12);

  for (int pos0 : {0, 2}) {
    be->encoder_forward(view(out, {B, T, C}), view(tokens, {B, T}), view(wte, {Vp, C}),
                        view(wpe, {maxT, C}), pos0);
    std::vector<double> expected(B * T * C);
    for (int64_t b = 0; b < B; b++)
      for (int64_t t = 0; t < T; t++)
        for (int64_t c = 0; c < C; c++)
          expected[(b * T + t) * C + c] = wte[tokens[b * T + t] * C + c] + wpe[(pos0 + t) * C + c];
    CHECK(max_error(out, expected) == 0.0);  // a single addition: exact
  }

  auto loss = [&](const std::vector<double>& wte_x, const std::vector<double>& wpe_x) {
    std::vector<double> a = wte_x, p = wpe_x, y(B * T * C);
    be->encoder_forward(view(y, {B, T, C}), view(tokens, {B, T}), view(a, {Vp, C}),
                        view(p, {maxT, C}), 0);
    return dot(w, y);
  };
  const std::vector<double> dwte0 = randn(Vp * C, 13), dwpe0 = randn(maxT * C, 14);
  std::vector<double> dwte = dwte0, dwpe = dwpe0;
  be->encoder_backward(view(dwte, {Vp, C}), view(dwpe, {maxT, C}), view(w, {B, T, C}),
                       view(tokens, {B, T}));
  expect_gradient(
      "dwte", [&](const std::vector<double>& x) { return loss(x, wpe); }, wte, minus(dwte, dwte0));
  expect_gradient(
      "dwpe", [&](const std::vector<double>& x) { return loss(wte, x); }, wpe, minus(dwpe, dwpe0));
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("layernorm: forward against the textbook formula; backward by finite differences") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t N = B * T;
  std::vector<double> inp = randn(N * C, 20, 2.0, 0.5), weight = randn(C, 21, 1.0, 1.0),
                      bias = randn(C, 22);
  std::vector<double> out(N * C), mean(N), rstd(N), w = randn(N * C, 23);
  be->layernorm_forward(view(out, {B, T, C}), view(mean, {B, T}), view(rstd, {B, T}),
                        view(inp, {B, T, C}), view(weight, {C}), view(bias, {C}));

  std::vector<double> expected(N * C), expected_mean(N), expected_rstd(N);
  for (int64_t n = 0; n < N; n++) {
    double m = 0, var = 0;
    for (int64_t c = 0; c < C; c++) m += inp[n * C + c] / C;
    for (int64_t c = 0; c < C; c++) var += (inp[n * C + c] - m) * (inp[n * C + c] - m) / C;
    expected_mean[n] = m;
    expected_rstd[n] = 1.0 / std::sqrt(var + 1e-5);
    for (int64_t c = 0; c < C; c++)
      expected[n * C + c] = (inp[n * C + c] - m) / std::sqrt(var + 1e-5) * weight[c] + bias[c];
  }
  // tolerance 1e-12: the same formula in double, summed in a different order
  CHECK(max_error(out, expected) < 1e-12);
  CHECK(max_error(mean, expected_mean) < 1e-12);
  CHECK(max_error(rstd, expected_rstd) < 1e-12);

  auto loss = [&](std::vector<double> x, std::vector<double> g, std::vector<double> bb) {
    std::vector<double> y(N * C), m(N), r(N);
    be->layernorm_forward(view(y, {N, C}), view(m, {N}), view(r, {N}), view(x, {N, C}),
                          view(g, {C}), view(bb, {C}));
    return dot(w, y);
  };
  const std::vector<double> dinp0 = randn(N * C, 24), dw0 = randn(C, 25), db0 = randn(C, 26);
  std::vector<double> dinp = dinp0, dw = dw0, db = db0;
  be->layernorm_backward(view(dinp, {N, C}), view(dw, {C}), view(db, {C}), view(w, {N, C}),
                         view(inp, {N, C}), view(weight, {C}), view(mean, {N}), view(rstd, {N}));
  expect_gradient(
      "dinp", [&](const std::vector<double>& x) { return loss(x, weight, bias); }, inp,
      minus(dinp, dinp0));
  expect_gradient(
      "dweight", [&](const std::vector<double>& x) { return loss(inp, x, bias); }, weight,
      minus(dw, dw0));
  expect_gradient(
      "dbias", [&](const std::vector<double>& x) { return loss(inp, weight, x); }, bias,
      minus(db, db0));
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("matmul: forward against the triple loop; backward by finite differences") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t N = B * T, OC = 7;
  std::vector<double> inp = randn(N * C, 30), weight = randn(OC * C, 31), bias = randn(OC, 32);
  std::vector<double> w = randn(N * OC, 33);

  for (bool with_bias : {true, false}) {
    CAPTURE(with_bias);
    std::vector<double> out(N * OC), expected(N * OC);
    be->matmul_forward(view(out, {B, T, OC}), view(inp, {B, T, C}), view(weight, {OC, C}),
                       with_bias ? view(bias, {OC}) : Tensor{});
    for (int64_t n = 0; n < N; n++)
      for (int64_t o = 0; o < OC; o++) {
        double s = with_bias ? bias[o] : 0.0;
        for (int64_t c = 0; c < C; c++) s += inp[n * C + c] * weight[o * C + c];
        expected[n * OC + o] = s;
      }
    CHECK(max_error(out, expected) < 1e-12);  // same sums, another order
  }

  auto loss = [&](std::vector<double> x, std::vector<double> wt, std::vector<double> bb) {
    std::vector<double> y(N * OC);
    be->matmul_forward(view(y, {N, OC}), view(x, {N, C}), view(wt, {OC, C}), view(bb, {OC}));
    return dot(w, y);
  };
  const std::vector<double> dinp0 = randn(N * C, 34), dw0 = randn(OC * C, 35), db0 = randn(OC, 36);
  std::vector<double> dinp = dinp0, dw = dw0, db = db0;
  be->matmul_backward(view(dinp, {N, C}), view(dw, {OC, C}), view(db, {OC}), view(w, {N, OC}),
                      view(inp, {N, C}), view(weight, {OC, C}));
  expect_gradient(
      "dinp", [&](const std::vector<double>& x) { return loss(x, weight, bias); }, inp,
      minus(dinp, dinp0));
  expect_gradient(
      "dweight", [&](const std::vector<double>& x) { return loss(inp, x, bias); }, weight,
      minus(dw, dw0));
  expect_gradient(
      "dbias", [&](const std::vector<double>& x) { return loss(inp, weight, x); }, bias,
      minus(db, db0));

  // without a bias the backward leaves dbias out and still accumulates the rest
  std::vector<double> dw_nobias = dw0;
  be->matmul_backward(Tensor{}, view(dw_nobias, {OC, C}), Tensor{}, view(w, {N, OC}),
                      view(inp, {N, C}), view(weight, {OC, C}));
  CHECK(max_error(dw_nobias, dw) < 1e-12);
}

// ---------------------------------------------------------------------------------------------
namespace {

// Naive causal attention, straight from the definition: out (B, T, C), probabilities (B, NH, T, T).
void naive_attention(std::vector<double>& out, std::vector<double>& probs,
                     const std::vector<double>& qkv, int64_t Tlen) {
  out.assign(B * Tlen * C, 0.0);
  probs.assign(B * NH * Tlen * Tlen, 0.0);
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < NH; h++)
      for (int64_t i = 0; i < Tlen; i++) {
        auto q = [&](int64_t c) { return qkv[(b * Tlen + i) * 3 * C + h * hs + c]; };
        auto k = [&](int64_t j, int64_t c) { return qkv[(b * Tlen + j) * 3 * C + C + h * hs + c]; };
        auto v = [&](int64_t j, int64_t c) {
          return qkv[(b * Tlen + j) * 3 * C + 2 * C + h * hs + c];
        };
        std::vector<double> s(i + 1);
        double max = -1e300, sum = 0;
        for (int64_t j = 0; j <= i; j++) {  // keys after i are masked out
          s[j] = 0;
          for (int64_t c = 0; c < hs; c++) s[j] += q(c) * k(j, c) / std::sqrt(double(hs));
          max = std::max(max, s[j]);
        }
        for (int64_t j = 0; j <= i; j++) sum += std::exp(s[j] - max);
        for (int64_t j = 0; j <= i; j++) {
          const double p = std::exp(s[j] - max) / sum;
          probs[((b * NH + h) * Tlen + i) * Tlen + j] = p;
          for (int64_t c = 0; c < hs; c++) out[(b * Tlen + i) * C + h * hs + c] += p * v(j, c);
        }
      }
}

}  // namespace

TEST_CASE(
    "attention: forward against the definition, causal mask, backward by finite differences") {
  auto be = make_cpu_backend(DType::f64);
  CHECK(be->attention_state_shape(B, T, NH) == Shape{B, NH, T, T});
  std::vector<double> qkv = randn(B * T * 3 * C, 40);
  std::vector<double> out(B * T * C),
      att = randn(B * NH * T * T, 41);  // garbage: must be overwritten
  be->attention_forward(view(out, {B, T, C}), view(att, {B, NH, T, T}), view(qkv, {B, T, 3 * C}),
                        NH);
  std::vector<double> expected_out, expected_att;
  naive_attention(expected_out, expected_att, qkv, T);
  CHECK(max_error(out, expected_out) < 1e-12);
  CHECK(max_error(att, expected_att) < 1e-12);  // includes the upper triangle being exactly 0
  for (int64_t bh = 0; bh < B * NH; bh++)
    for (int64_t i = 0; i < T; i++)
      for (int64_t j = i + 1; j < T; j++) CHECK(att[(bh * T + i) * T + j] == 0.0);

  // causality: changing the last position's k and v leaves every earlier output untouched (up to
  // rounding: Eigen's small products sum in an order that depends on the buffers' alignment, so two
  // equal computations in different buffers may differ in the last bit; a leak of the future would
  // move them by ~1e-2)
  std::vector<double> qkv_future = qkv, out_future(B * T * C), att_future(B * NH * T * T);
  for (int64_t b = 0; b < B; b++)
    for (int64_t c = C; c < 3 * C; c++) qkv_future[(b * T + T - 1) * 3 * C + c] += 1.0;
  be->attention_forward(view(out_future, {B, T, C}), view(att_future, {B, NH, T, T}),
                        view(qkv_future, {B, T, 3 * C}), NH);
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t c = 0; c < C; c++) {
        const int64_t i = (b * T + t) * C + c;
        if (t < T - 1)
          CHECK(std::abs(out_future[i] - out[i]) <= 1e-14);
        else
          CHECK(std::abs(out_future[i] - out[i]) > 1e-6);
      }

  std::vector<double> w = randn(B * T * C, 42);
  auto loss = [&](std::vector<double> x) {
    std::vector<double> y(B * T * C), a(B * NH * T * T);
    be->attention_forward(view(y, {B, T, C}), view(a, {B, NH, T, T}), view(x, {B, T, 3 * C}), NH);
    return dot(w, y);
  };
  const std::vector<double> dqkv0 = randn(B * T * 3 * C, 43);
  std::vector<double> dqkv = dqkv0, scratch = randn(B * NH * T * T, 44);
  be->attention_backward(view(dqkv, {B, T, 3 * C}), view(scratch, {B, NH, T, T}),
                         view(w, {B, T, C}), view(qkv, {B, T, 3 * C}), view(out, {B, T, C}),
                         view(att, {B, NH, T, T}), NH);
  expect_gradient("dqkv", loss, qkv, minus(dqkv, dqkv0));
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("attention_forward_cached: a prefill then token by token equals attention_forward") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t maxT = 7, prefill = 3;
  std::vector<double> qkv = randn(B * T * 3 * C, 50);
  std::vector<double> full(B * T * C), att(B * NH * T * T);
  be->attention_forward(view(full, {B, T, C}), view(att, {B, NH, T, T}), view(qkv, {B, T, 3 * C}),
                        NH);

  std::vector<double> k_cache(B * NH * maxT * hs, 0.0), v_cache(B * NH * maxT * hs, 0.0);
  std::vector<double> cached(B * T * C);  // the outputs of all steps, laid out like `full`
  // Run positions [t0, t0 + Tn) of every batch row through the cache.
  auto step = [&](int64_t t0, int64_t Tn) {
    std::vector<double> chunk(B * Tn * 3 * C), out(B * Tn * C);
    for (int64_t b = 0; b < B; b++)
      for (int64_t t = 0; t < Tn; t++)
        for (int64_t c = 0; c < 3 * C; c++)
          chunk[(b * Tn + t) * 3 * C + c] = qkv[(b * T + t0 + t) * 3 * C + c];
    be->attention_forward_cached(view(out, {B, Tn, C}), view(k_cache, {B, NH, maxT, hs}),
                                 view(v_cache, {B, NH, maxT, hs}), view(chunk, {B, Tn, 3 * C}), NH,
                                 static_cast<int>(t0));
    for (int64_t b = 0; b < B; b++)
      for (int64_t t = 0; t < Tn; t++)
        for (int64_t c = 0; c < C; c++)
          cached[(b * T + t0 + t) * C + c] = out[(b * Tn + t) * C + c];
  };
  step(0, prefill);
  for (int64_t t = prefill; t < T; t++) step(t, 1);
  CHECK(max_error(cached, full) < 1e-12);  // the same math in a different order

  // the caches hold every position's key and value, head by head
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < NH; h++)
      for (int64_t t = 0; t < T; t++)
        for (int64_t c = 0; c < hs; c++) {
          const int64_t at = ((b * NH + h) * maxT + t) * hs + c;
          CHECK(k_cache[at] == qkv[(b * T + t) * 3 * C + C + h * hs + c]);
          CHECK(v_cache[at] == qkv[(b * T + t) * 3 * C + 2 * C + h * hs + c]);
        }

  // a chunk that would run past the cache is an error
  std::vector<double> chunk(B * 3 * 3 * C), out(B * 3 * C);
  CHECK_THROWS_AS(be->attention_forward_cached(
                      view(out, {B, 3, C}), view(k_cache, {B, NH, maxT, hs}),
                      view(v_cache, {B, NH, maxT, hs}), view(chunk, {B, 3, 3 * C}), NH, 5),
                  Error);
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("gelu: forward against the tanh formula; backward by finite differences") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t N = 4 * C * 3 + 1;  // odd, and more than one vector width
  std::vector<double> inp = randn(N, 60, 2.0), out(N), w = randn(N, 61);
  be->gelu_forward(view(out, {N}), view(inp, {N}));
  std::vector<double> expected(N);
  for (int64_t i = 0; i < N; i++) {
    const double x = inp[i];
    expected[i] = 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  }
  CHECK(max_error(out, expected) < 1e-14);

  auto loss = [&](std::vector<double> x) {
    std::vector<double> y(N);
    be->gelu_forward(view(y, {N}), view(x, {N}));
    return dot(w, y);
  };
  const std::vector<double> dinp0 = randn(N, 62);
  std::vector<double> dinp = dinp0;
  be->gelu_backward(view(dinp, {N}), view(inp, {N}), view(w, {N}));
  expect_gradient("dinp", loss, inp, minus(dinp, dinp0));
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("residual: forward a + b; backward by finite differences") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t N = B * T * C;
  std::vector<double> a = randn(N, 70), b = randn(N, 71), out(N), w = randn(N, 72);
  be->residual_forward(view(out, {N}), view(a, {N}), view(b, {N}));
  for (int64_t i = 0; i < N; i++) CHECK(out[i] == a[i] + b[i]);

  auto loss = [&](std::vector<double> x, std::vector<double> y) {
    std::vector<double> o(N);
    be->residual_forward(view(o, {N}), view(x, {N}), view(y, {N}));
    return dot(w, o);
  };
  const std::vector<double> da0 = randn(N, 73), db0 = randn(N, 74);
  std::vector<double> da = da0, db = db0;
  be->residual_backward(view(da, {N}), view(db, {N}), view(w, {N}));
  expect_gradient(
      "da", [&](const std::vector<double>& x) { return loss(x, b); }, a, minus(da, da0));
  expect_gradient(
      "db", [&](const std::vector<double>& x) { return loss(a, x); }, b, minus(db, db0));
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("classifier: cross-entropy over the V real columns; dlogits by finite differences") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t N = B * T, V = 11, Vp = 16;
  // The padding columns hold large values: if they leaked into the softmax the loss would change.
  std::vector<double> logits = randn(N * Vp, 80, 2.0);
  for (int64_t n = 0; n < N; n++)
    for (int64_t j = V; j < Vp; j++) logits[n * Vp + j] = 5.0 + j;
  std::vector<int32_t> targets(N);
  for (int64_t n = 0; n < N; n++) targets[n] = static_cast<int32_t>((7 * n + 3) % V);

  std::vector<double> losses(N), z = logits;
  be->classifier_forward(view(losses, {B, T}), view(z, {B, T, Vp}), view(targets, {B, T}), V, 0.0f);
  CHECK(z == logits);  // dloss = 0: forward only, logits untouched
  std::vector<double> expected(N);
  for (int64_t n = 0; n < N; n++) {
    double sum = 0;
    for (int64_t j = 0; j < V; j++) sum += std::exp(logits[n * Vp + j]);
    expected[n] = std::log(sum) - logits[n * Vp + targets[n]];
  }
  CHECK(max_error(losses, expected) < 1e-12);

  // with dloss != 0 the logits become d(dloss * sum_n losses_n) / d logits
  const float dloss = 0.375f;  // exact in float and double
  auto loss = [&](std::vector<double> x) {
    std::vector<double> l(N);
    be->classifier_forward(view(l, {N}), view(x, {N, Vp}), view(targets, {N}), V, 0.0f);
    double s = 0;
    for (double v : l) s += dloss * v;
    return s;
  };
  std::vector<double> dlogits = logits, losses2(N);
  be->classifier_forward(view(losses2, {N}), view(dlogits, {N, Vp}), view(targets, {N}), V, dloss);
  CHECK(losses2 == losses);
  expect_gradient("dlogits", loss, logits, dlogits);
  for (int64_t n = 0; n < N; n++)
    for (int64_t j = V; j < Vp; j++) CHECK(dlogits[n * Vp + j] == 0.0);  // padding: exactly 0

  std::vector<int32_t> bad_targets = targets;
  bad_targets[3] = static_cast<int32_t>(V);  // a padding column is not a valid target
  CHECK_THROWS_AS(be->classifier_forward(view(losses2, {N}), view(dlogits, {N, Vp}),
                                         view(bad_targets, {N}), V, dloss),
                  Error);
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("adamw: one step against the hand-computed update") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t N = 9;
  const std::vector<double> p0 = randn(N, 90), g = randn(N, 91), m0 = randn(N, 92, 0.1);
  std::vector<double> v0 = randn(N, 93, 0.1);
  for (double& x : v0) x = std::abs(x);  // a second moment is never negative
  AdamWSettings s;
  s.learning_rate = 0.01f;
  s.beta1 = 0.9f;
  s.beta2 = 0.95f;
  s.eps = 1e-8f;
  s.weight_decay = 0.1f;
  s.step = 3;
  const float grad_scale = 0.5f;

  std::vector<double> expected(N), expected_m(N), expected_v(N);
  for (int64_t i = 0; i < N; i++) {
    const double lr = s.learning_rate, b1 = s.beta1, b2 = s.beta2, eps = s.eps, wd = s.weight_decay;
    const double gi = g[i] * grad_scale;
    expected_m[i] = b1 * m0[i] + (1 - b1) * gi;
    expected_v[i] = b2 * v0[i] + (1 - b2) * gi * gi;
    const double m_hat = expected_m[i] / (1 - b1 * b1 * b1);  // step 3
    const double v_hat = expected_v[i] / (1 - b2 * b2 * b2);
    expected[i] = p0[i] - lr * (m_hat / (std::sqrt(v_hat) + eps) + wd * p0[i]);
  }

  std::vector<double> p = p0, grad = g, m = m0, v = v0;
  be->adamw_update(view(p, {N}), view(grad, {N}), view(m, {N}), view(v, {N}), Tensor{}, s,
                   grad_scale);
  CHECK(max_error(p, expected) < 1e-15);  // the same double arithmetic
  CHECK(max_error(m, expected_m) < 1e-15);
  CHECK(max_error(v, expected_v) < 1e-15);
  CHECK(max_error(p, p0) > 1e-4);  // the step did move the parameters

  // with a master copy: the master is updated and copied into param
  std::vector<double> p2(N, 0.0), master = p0, m2 = m0, v2 = v0;
  be->adamw_update(view(p2, {N}), view(grad, {N}), view(m2, {N}), view(v2, {N}), view(master, {N}),
                   s, grad_scale);
  CHECK(max_error(master, expected) < 1e-15);
  CHECK(p2 == master);
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("sum_of_squares accumulates in double; scale multiplies in place") {
  auto be = make_cpu_backend(DType::f64);
  std::vector<double> x = randn(1001, 100);
  double expected = 0;
  for (double v : x) expected += v * v;
  CHECK(std::abs(be->sum_of_squares(view(x, {1001})) - expected) < 1e-12 * expected);

  // 3 million f32 values of 0.3f: an f32 running sum would be off by ~1e-3 relative, double is not
  auto be32 = make_cpu_backend(DType::f32);
  const int64_t n = 3'000'000;
  std::vector<float> big(n, 0.3f);
  const double exact = static_cast<double>(n) * (double(0.3f) * double(0.3f));
  CHECK(std::abs(be32->sum_of_squares(view(big, {n})) - exact) < 1e-9 * exact);
}

// ---------------------------------------------------------------------------------------------
namespace {

// Runs every op once on one backend in dtype T, from the same double inputs, and returns each
// output converted to double, by name.
template <typename Scalar> std::map<std::string, std::vector<double>> run_every_op() {
  auto be = make_cpu_backend(dtype_of<Scalar>());
  auto cast = [](const std::vector<double>& v) { return std::vector<Scalar>(v.begin(), v.end()); };
  auto back = [](const std::vector<Scalar>& v) { return std::vector<double>(v.begin(), v.end()); };
  const int64_t N = B * T, OC = 2 * C, Vp = 16, V = 11;
  std::map<std::string, std::vector<double>> r;

  std::vector<Scalar> x = cast(randn(N * C, 200)), gw = cast(randn(C, 201, 0.2, 1.0)),
                      gb = cast(randn(C, 202)), y(N * C), mean(N), rstd(N);
  be->layernorm_forward(view(y, {N, C}), view(mean, {N}), view(rstd, {N}), view(x, {N, C}),
                        view(gw, {C}), view(gb, {C}));
  r["layernorm"] = back(y);
  std::vector<Scalar> dy = cast(randn(N * C, 203)), dx(N * C, 0), dgw(C, 0), dgb(C, 0);
  be->layernorm_backward(view(dx, {N, C}), view(dgw, {C}), view(dgb, {C}), view(dy, {N, C}),
                         view(x, {N, C}), view(gw, {C}), view(mean, {N}), view(rstd, {N}));
  r["layernorm dinp"] = back(dx);
  r["layernorm dweight"] = back(dgw);

  std::vector<Scalar> w = cast(randn(OC * C, 204, 0.3)), bias = cast(randn(OC, 205)), h(N * OC);
  be->matmul_forward(view(h, {N, OC}), view(y, {N, C}), view(w, {OC, C}), view(bias, {OC}));
  r["matmul"] = back(h);
  std::vector<Scalar> dh = cast(randn(N * OC, 206)), dmx(N * C, 0), dw(OC * C, 0), db(OC, 0);
  be->matmul_backward(view(dmx, {N, C}), view(dw, {OC, C}), view(db, {OC}), view(dh, {N, OC}),
                      view(y, {N, C}), view(w, {OC, C}));
  r["matmul dinp"] = back(dmx);
  r["matmul dweight"] = back(dw);
  r["matmul dbias"] = back(db);

  std::vector<Scalar> qkv = cast(randn(N * 3 * C, 207)), att(B * NH * T * T), ao(N * C);
  be->attention_forward(view(ao, {B, T, C}), view(att, {B, NH, T, T}), view(qkv, {B, T, 3 * C}),
                        NH);
  r["attention"] = back(ao);
  std::vector<Scalar> dqkv(N * 3 * C, 0), scratch(B * NH * T * T);
  be->attention_backward(view(dqkv, {B, T, 3 * C}), view(scratch, {B, NH, T, T}),
                         view(dy, {B, T, C}), view(qkv, {B, T, 3 * C}), view(ao, {B, T, C}),
                         view(att, {B, NH, T, T}), NH);
  r["attention dqkv"] = back(dqkv);

  std::vector<Scalar> g(N * OC), dg(N * OC, 0);
  be->gelu_forward(view(g, {N * OC}), view(h, {N * OC}));
  be->gelu_backward(view(dg, {N * OC}), view(h, {N * OC}), view(dh, {N * OC}));
  r["gelu"] = back(g);
  r["gelu dinp"] = back(dg);

  std::vector<Scalar> logits = cast(randn(N * Vp, 208, 2.0)), losses(N);
  std::vector<int32_t> targets(N);
  for (int64_t n = 0; n < N; n++) targets[n] = static_cast<int32_t>((5 * n + 1) % V);
  be->classifier_forward(view(losses, {N}), view(logits, {N, Vp}), view(targets, {N}), V, 0.1f);
  r["classifier losses"] = back(losses);
  r["classifier dlogits"] = back(logits);
  return r;
}

}  // namespace

TEST_CASE("the f32 backend agrees with the f64 backend") {
  const auto f64 = run_every_op<double>();
  const auto f32 = run_every_op<float>();
  for (const auto& [name, reference] : f64) {
    // 1e-5: float's 6e-8 unit roundoff grown through sums of ~C terms and a softmax or two (the
    // largest seen is 1.2e-6, matmul dweight)
    const double error = max_error(f32.at(name), reference);
    INFO(name << ": f32 vs f64 error " << error);
    CHECK(error < 1e-5);
    CHECK(error > 0.0);  // it really ran in float
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("shape, dtype and device mistakes throw llm::Error naming the op and the tensor") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t N = 4;
  std::vector<double> x(N * C, 1.0), y(N * C), mean(N), rstd(N), short_mean(N - 1), g(C, 1.0),
      b(C, 0.0);
  CHECK_THROWS_WITH_AS(
      be->layernorm_forward(view(y, {N, C}), view(short_mean, {N - 1}), view(rstd, {N}),
                            view(x, {N, C}), view(g, {C}), view(b, {C})),
      doctest::Contains("layernorm_forward: mean"), Error);
  std::vector<float> x32(N * C, 1.0f);
  CHECK_THROWS_WITH_AS(be->layernorm_forward(view(y, {N, C}), view(mean, {N}), view(rstd, {N}),
                                             view(x32, {N, C}), view(g, {C}), view(b, {C})),
                       doctest::Contains("inp is f32, expected f64"), Error);
  Tensor on_gpu = view(x, {N, C});
  on_gpu.device = Device::cuda;
  CHECK_THROWS_WITH_AS(be->gelu_forward(view(y, {N, C}), on_gpu), doctest::Contains("cuda"), Error);
  std::vector<double> w(5 * 11), o(N * 5);
  CHECK_THROWS_WITH_AS(
      be->matmul_forward(view(o, {N, 5}), view(x, {N, C}), view(w, {5, 11}), Tensor{}),
      doctest::Contains("matmul_forward: weight"), Error);
  std::vector<double> qkv(2 * 3 * 3 * C), ao(2 * 3 * C), att(2 * 5 * 9);
  CHECK_THROWS_WITH_AS(be->attention_forward(view(ao, {2, 3, C}), view(att, {2, 5, 3, 3}),
                                             view(qkv, {2, 3, 3 * C}), 5),
                       doctest::Contains("not divisible"), Error);
  std::vector<int32_t> tokens = {0, 9};
  std::vector<double> wte(4 * C), wpe(4 * C), enc(2 * C);
  CHECK_THROWS_WITH_AS(be->encoder_forward(view(enc, {1, 2, C}), view(tokens, {1, 2}),
                                           view(wte, {4, C}), view(wpe, {4, C}), 0),
                       doctest::Contains("token 9"), Error);
}

TEST_CASE("factories, allocation and dtype conversion") {
  CHECK(make_cpu_backend(DType::f32)->dtype() == DType::f32);
  CHECK(make_cpu_backend(DType::f32)->master_dtype() == DType::f32);
  CHECK(make_cpu_backend(DType::f64)->master_dtype() == DType::f64);
  CHECK_THROWS_AS(make_cpu_backend(DType::bf16), Error);
  CHECK_THROWS_AS(make_cpu_backend(DType::i32), Error);
  auto cpu = make_backend("cpu");
  CHECK(cpu->device() == Device::cpu);
  CHECK(cpu->dtype() == DType::f32);
  // Without a usable GPU (or without the CUDA backend in this build), "cuda" is a one-line error.
  std::string why;
  if (!cuda_available(&why)) {
    CHECK(!why.empty());
    CHECK_THROWS_WITH_AS(make_backend("cuda"), doctest::Contains(why.c_str()), Error);
  }
  CHECK_THROWS_WITH_AS(make_backend("tpu"), doctest::Contains("tpu"), Error);

  for (size_t bytes : {size_t(1), size_t(100), size_t(4096), size_t(1000003)}) {
    void* p = cpu->allocate(bytes);
    CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    cpu->release(p);
  }

  // f32 -> f64 -> bf16 -> f32: bf16 keeps 8 bits of mantissa, rounding to nearest even
  std::vector<float> src = {1.0f, -2.5f, 1.0f + 1.0f / 256, 1.0f + 3.0f / 256, 3.14159265f};
  std::vector<double> wide(src.size());
  std::vector<uint16_t> narrow(src.size());
  std::vector<float> again(src.size());
  Tensor narrow_t;
  narrow_t.data = narrow.data();
  narrow_t.dtype = DType::bf16;
  narrow_t.shape = Shape{static_cast<int64_t>(src.size())};
  const int64_t n = static_cast<int64_t>(src.size());
  cpu->convert(view(wide, {n}), view(src, {n}));
  cpu->convert(narrow_t, view(wide, {n}));
  cpu->convert(view(again, {n}), narrow_t);
  CHECK(wide[1] == -2.5);
  CHECK(again[0] == 1.0f);
  CHECK(again[1] == -2.5f);
  CHECK(again[2] == 1.0f);               // halfway between 1 and 1 + 1/128: ties to even
  CHECK(again[3] == 1.0f + 2.0f / 128);  // halfway the other side: rounds up to even
  CHECK(std::abs(again[4] - 3.14159265f) < 3.14159265f / 128);
}

// ---- the Llama-style ops: rmsnorm, rope, swiglu, grouped-query attention ----

// ---------------------------------------------------------------------------------------------
TEST_CASE("rmsnorm: forward against the formula; backward by finite differences") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t N = B * T;
  const double eps = 1e-6;
  std::vector<double> inp = randn(N * C, 120, 1.5, 0.5), weight = randn(C, 121, 1.0, 1.0);
  std::vector<double> out(N * C), rstd(N), w = randn(N * C, 122);
  be->rmsnorm_forward(view(out, {B, T, C}), view(rstd, {B, T}), view(inp, {B, T, C}),
                      view(weight, {C}), eps);
  std::vector<double> expected(N * C), expected_rstd(N);
  for (int64_t n = 0; n < N; n++) {
    double ms = 0;
    for (int64_t c = 0; c < C; c++) ms += inp[n * C + c] * inp[n * C + c] / C;
    expected_rstd[n] = 1.0 / std::sqrt(ms + eps);
    for (int64_t c = 0; c < C; c++)
      expected[n * C + c] = inp[n * C + c] / std::sqrt(ms + eps) * weight[c];
  }
  CHECK(max_error(out, expected) < 1e-12);
  CHECK(max_error(rstd, expected_rstd) < 1e-12);

  auto loss = [&](std::vector<double> x, std::vector<double> g) {
    std::vector<double> y(N * C), r(N);
    be->rmsnorm_forward(view(y, {N, C}), view(r, {N}), view(x, {N, C}), view(g, {C}), eps);
    return dot(w, y);
  };
  const std::vector<double> dinp0 = randn(N * C, 123), dw0 = randn(C, 124);
  std::vector<double> dinp = dinp0, dw = dw0;
  be->rmsnorm_backward(view(dinp, {N, C}), view(dw, {C}), view(w, {N, C}), view(inp, {N, C}),
                       view(weight, {C}), view(rstd, {N}));
  expect_gradient(
      "dinp", [&](const std::vector<double>& x) { return loss(x, weight); }, inp,
      minus(dinp, dinp0));
  expect_gradient(
      "dweight", [&](const std::vector<double>& x) { return loss(inp, x); }, weight,
      minus(dw, dw0));
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("qk_norm: per-head RMSNorm of q and k, v copied; backward by finite differences") {
  auto be = make_cpu_backend(DType::f64);
  // qkv of grouped-query attention: NH = 3 query heads, NKV = 1 key and 1 value head of hs = 4
  const int64_t NKV = 1, W = (NH + 2 * NKV) * hs, heads = NH + NKV, N = B * T;
  const double eps = 1e-6;
  std::vector<double> inp = randn(N * W, 150, 1.5, 0.3), q_weight = randn(hs, 151, 1.0, 1.0),
                      k_weight = randn(hs, 152, 1.0, 1.0);
  std::vector<double> out(N * W), rstd(N * heads), w = randn(N * W, 153);
  be->qk_norm_forward(view(out, {B, T, W}), view(rstd, {B, T, heads}), view(inp, {B, T, W}),
                      view(q_weight, {hs}), view(k_weight, {hs}), int(NH), eps);
  std::vector<double> expected = inp, expected_rstd(N * heads);  // the value head is copied
  for (int64_t n = 0; n < N; n++)
    for (int64_t h = 0; h < heads; h++) {
      double ms = 0;
      for (int64_t i = 0; i < hs; i++) ms += inp[n * W + h * hs + i] * inp[n * W + h * hs + i] / hs;
      expected_rstd[n * heads + h] = 1.0 / std::sqrt(ms + eps);
      const std::vector<double>& gain = h < NH ? q_weight : k_weight;
      for (int64_t i = 0; i < hs; i++)
        expected[n * W + h * hs + i] = inp[n * W + h * hs + i] / std::sqrt(ms + eps) * gain[i];
    }
  CHECK(max_error(out, expected) < 1e-12);
  CHECK(max_error(rstd, expected_rstd) < 1e-12);

  // the bound QK-norm gives: every normalised head with unit gains has mean square ~1, so a q.k
  // logit is at most hs in size, however large the raw q and k
  std::vector<double> big = inp, unit(hs, 1.0), normed(N * W), r(N * heads);
  for (double& x : big) x *= 1e3;
  be->qk_norm_forward(view(normed, {N, W}), view(r, {N, heads}), view(big, {N, W}),
                      view(unit, {hs}), view(unit, {hs}), int(NH), eps);
  double q_dot_k = 0;
  for (int64_t i = 0; i < hs; i++) q_dot_k += normed[i] * normed[NH * hs + i];
  CHECK(std::abs(q_dot_k) <= double(hs) + 1e-9);

  auto loss = [&](std::vector<double> x, std::vector<double> qw, std::vector<double> kw) {
    std::vector<double> y(N * W), s(N * heads);
    be->qk_norm_forward(view(y, {N, W}), view(s, {N, heads}), view(x, {N, W}), view(qw, {hs}),
                        view(kw, {hs}), int(NH), eps);
    return dot(w, y);
  };
  const std::vector<double> dinp0 = randn(N * W, 154), dq0 = randn(hs, 155), dk0 = randn(hs, 156);
  std::vector<double> dinp = dinp0, dq = dq0, dk = dk0;
  be->qk_norm_backward(view(dinp, {B, T, W}), view(dq, {hs}), view(dk, {hs}), view(w, {B, T, W}),
                       view(inp, {B, T, W}), view(q_weight, {hs}), view(k_weight, {hs}),
                       view(rstd, {B, T, heads}), int(NH));
  expect_gradient(
      "dinp", [&](const std::vector<double>& x) { return loss(x, q_weight, k_weight); }, inp,
      minus(dinp, dinp0));
  expect_gradient(
      "dq_weight", [&](const std::vector<double>& x) { return loss(inp, x, k_weight); }, q_weight,
      minus(dq, dq0));
  expect_gradient(
      "dk_weight", [&](const std::vector<double>& x) { return loss(inp, q_weight, x); }, k_weight,
      minus(dk, dk0));

  // out must not be inp: the backward reads the input the forward normalised
  std::vector<double> in_place = inp;
  CHECK_THROWS_WITH(be->qk_norm_forward(view(in_place, {B, T, W}), view(rstd, {B, T, heads}),
                                        view(in_place, {B, T, W}), view(q_weight, {hs}),
                                        view(k_weight, {hs}), int(NH), eps),
                    "qk_norm_forward: out is inp (the backward needs inp unchanged)");
}

// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "rope: rotate-half forward, relative positions, in place; backward by finite "
    "differences") {
  auto be = make_cpu_backend(DType::f64);
  // qkv of grouped-query attention: NH = 3 query heads, 1 key and 1 value head of hs = 4
  const int64_t NKV = 1, W = (NH + 2 * NKV) * hs, rotated = NH + NKV, pos0 = 2;
  const double theta = 100.0;
  const RopeFrequencies frequencies{theta};
  std::vector<double> inp = randn(B * T * W, 130), out(B * T * W);
  be->rope_forward(view(out, {B, T, W}), view(inp, {B, T, W}), int(hs), int(rotated), int(pos0),
                   frequencies);
  std::vector<double> expected = inp;  // the value head is copied
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t head = 0; head < rotated; head++)
        for (int64_t i = 0; i < hs / 2; i++) {
          const double angle = double(pos0 + t) / std::pow(theta, 2.0 * double(i) / double(hs));
          const int64_t a = (b * T + t) * W + head * hs + i, z = a + hs / 2;
          expected[a] = inp[a] * std::cos(angle) - inp[z] * std::sin(angle);
          expected[z] = inp[z] * std::cos(angle) + inp[a] * std::sin(angle);
        }
  CHECK(max_error(out, expected) < 1e-12);

  // in place gives the same result
  std::vector<double> in_place = inp;
  be->rope_forward(view(in_place, {B, T, W}), view(in_place, {B, T, W}), int(hs), int(rotated),
                   int(pos0), frequencies);
  CHECK(max_error(in_place, out) < 1e-15);

  // a query head and a key head, both moved on by the same number of positions, keep their dot
  // product: attention sees only the distance between positions
  auto rotated_dot = [&](int64_t q_pos, int64_t k_pos) {
    std::vector<double> q(hs), k(hs), rq(hs), rk(hs);
    for (int64_t c = 0; c < hs; c++) q[c] = inp[c], k[c] = inp[NH * hs + c];
    be->rope_forward(view(rq, {1, 1, hs}), view(q, {1, 1, hs}), int(hs), 1, int(q_pos),
                     frequencies);
    be->rope_forward(view(rk, {1, 1, hs}), view(k, {1, 1, hs}), int(hs), 1, int(k_pos),
                     frequencies);
    return dot(rq, rk);
  };
  CHECK(std::abs(rotated_dot(7, 3) - rotated_dot(11, 7)) < 1e-12);
  CHECK(std::abs(rotated_dot(7, 3) - rotated_dot(7, 4)) > 1e-3);

  std::vector<double> w = randn(B * T * W, 131);
  auto loss = [&](std::vector<double> x) {
    std::vector<double> y(B * T * W);
    be->rope_forward(view(y, {B, T, W}), view(x, {B, T, W}), int(hs), int(rotated), int(pos0),
                     frequencies);
    return dot(w, y);
  };
  const std::vector<double> dinp0 = randn(B * T * W, 132);
  std::vector<double> dinp = dinp0;
  be->rope_backward(view(dinp, {B, T, W}), view(w, {B, T, W}), int(hs), int(rotated), int(pos0),
                    frequencies);
  expect_gradient("dinp", loss, inp, minus(dinp, dinp0));
}

TEST_CASE("rope frequencies: llama3 scaling keeps the fast pairs, slows the slow, blends between") {
  // theta 10000, hs 16: f_i = 10^(-i/2), wavelengths 2 pi / f_i = 6.3, 19.9, 62.8, 199, ...
  // Against an original context of 64: below 64/4 kept, above 64/1 slowed 8 times.
  RopeFrequencies plain{10000.0};
  RopeFrequencies scaled = plain;
  scaled.llama3 = true, scaled.factor = 8.0, scaled.low_freq_factor = 1.0;
  scaled.high_freq_factor = 4.0, scaled.original_max_position_embeddings = 64;
  const int64_t hs = 16;
  for (int64_t i = 0; i < hs / 2; i++)
    CHECK(plain.inverse_frequency(i, hs) == doctest::Approx(std::pow(10.0, -0.5 * double(i))));
  CHECK(scaled.inverse_frequency(0, hs) == plain.inverse_frequency(0, hs));
  for (int64_t i = 3; i < hs / 2; i++)
    CHECK(scaled.inverse_frequency(i, hs) == doctest::Approx(plain.inverse_frequency(i, hs) / 8));
  // pairs 1 and 2 lie in the band: 64 / wavelength = 3.22 and 1.02 turns over the original
  // context, so s = (turns - 1) / 3 of the original frequency and 1 - s of the slowed one
  for (int64_t i : {1, 2}) {
    const double f = plain.inverse_frequency(i, hs);
    const double turns = 64.0 * f / (2.0 * 3.14159265358979323846);
    const double s = (turns - 1.0) / 3.0;
    CHECK(s > 0.0);
    CHECK(s < 1.0);
    CHECK(scaled.inverse_frequency(i, hs) == doctest::Approx(s * f + (1.0 - s) * f / 8));
  }
  // continuous at both edges of the band: a head size that puts a wavelength just inside and just
  // outside each threshold gives nearly the same frequency on both sides
  for (const double edge_wavelength : {64.0 / 4.0, 64.0 / 1.0}) {
    RopeFrequencies at_edge = scaled;
    // pair 1 of hs 4: f_1 = theta^(-1/2), so theta = (wavelength / (2 pi))^2 puts it on the edge
    const double theta = std::pow(edge_wavelength / (2.0 * 3.14159265358979323846), 2.0);
    at_edge.theta = theta * (1.0 + 1e-9);
    const double above = at_edge.inverse_frequency(1, 4);
    at_edge.theta = theta * (1.0 - 1e-9);
    const double below = at_edge.inverse_frequency(1, 4);
    CHECK(above == doctest::Approx(below).epsilon(1e-6));
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("swiglu: forward silu(gate) * up; backward by finite differences") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t N = B * T, H = 7;
  std::vector<double> inp = randn(N * 2 * H, 140, 2.0), out(N * H), w = randn(N * H, 141);
  be->swiglu_forward(view(out, {B, T, H}), view(inp, {B, T, 2 * H}));
  std::vector<double> expected(N * H);
  for (int64_t n = 0; n < N; n++)
    for (int64_t h = 0; h < H; h++) {
      const double g = inp[n * 2 * H + h], u = inp[n * 2 * H + H + h];
      expected[n * H + h] = g / (1.0 + std::exp(-g)) * u;
    }
  CHECK(max_error(out, expected) < 1e-12);

  auto loss = [&](std::vector<double> x) {
    std::vector<double> y(N * H);
    be->swiglu_forward(view(y, {N, H}), view(x, {N, 2 * H}));
    return dot(w, y);
  };
  const std::vector<double> dinp0 = randn(N * 2 * H, 142);
  std::vector<double> dinp = dinp0;
  be->swiglu_backward(view(dinp, {N, 2 * H}), view(inp, {N, 2 * H}), view(w, {N, H}));
  expect_gradient("dinp", loss, inp, minus(dinp, dinp0));
}

// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "grouped-query attention: equals multi-head attention on repeated key/value heads; "
    "backward by finite differences; cached decoding") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t NH6 = 6, hs2 = C / NH6, maxT = 6;  // 6 query heads of 2 channels
  for (int64_t NKV : {int64_t(1), int64_t(2), int64_t(3)}) {
    CAPTURE(NKV);
    const int64_t QKV = C + 2 * NKV * hs2, group = NH6 / NKV;
    std::vector<double> qkv = randn(B * T * QKV, 150 + NKV);
    std::vector<double> out(B * T * C), att(B * NH6 * T * T);
    be->attention_forward(view(out, {B, T, C}), view(att, {B, NH6, T, T}), view(qkv, {B, T, QKV}),
                          int(NH6));
    // The same attention with each key/value head copied to every query head of its group.
    std::vector<double> repeated(B * T * 3 * C), mha_out(B * T * C), mha_att(B * NH6 * T * T);
    for (int64_t bt = 0; bt < B * T; bt++)
      for (int64_t h = 0; h < NH6; h++)
        for (int64_t c = 0; c < hs2; c++) {
          const int64_t kvh = h / group;
          repeated[bt * 3 * C + h * hs2 + c] = qkv[bt * QKV + h * hs2 + c];
          repeated[bt * 3 * C + C + h * hs2 + c] = qkv[bt * QKV + C + kvh * hs2 + c];
          repeated[bt * 3 * C + 2 * C + h * hs2 + c] =
              qkv[bt * QKV + C + NKV * hs2 + kvh * hs2 + c];
        }
    be->attention_forward(view(mha_out, {B, T, C}), view(mha_att, {B, NH6, T, T}),
                          view(repeated, {B, T, 3 * C}), int(NH6));
    CHECK(max_error(out, mha_out) < 1e-12);

    std::vector<double> w = randn(B * T * C, 160 + NKV);
    auto loss = [&](std::vector<double> x) {
      std::vector<double> y(B * T * C), a(B * NH6 * T * T);
      be->attention_forward(view(y, {B, T, C}), view(a, {B, NH6, T, T}), view(x, {B, T, QKV}),
                            int(NH6));
      return dot(w, y);
    };
    const std::vector<double> dqkv0 = randn(B * T * QKV, 170 + NKV);
    std::vector<double> dqkv = dqkv0, scratch(B * NH6 * T * T);
    be->attention_backward(view(dqkv, {B, T, QKV}), view(scratch, {B, NH6, T, T}),
                           view(w, {B, T, C}), view(qkv, {B, T, QKV}), view(out, {B, T, C}),
                           view(att, {B, NH6, T, T}), int(NH6));
    expect_gradient("dqkv", loss, qkv, minus(dqkv, dqkv0));

    // decoding: a prefill of 2 positions, then one at a time, into caches of NKV heads
    std::vector<double> k_cache(B * NKV * maxT * hs2), v_cache(B * NKV * maxT * hs2);
    std::vector<double> cached(B * T * C);
    auto step = [&](int64_t t0, int64_t Tn) {
      std::vector<double> chunk(B * Tn * QKV), y(B * Tn * C);
      for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < Tn; t++)
          for (int64_t c = 0; c < QKV; c++)
            chunk[(b * Tn + t) * QKV + c] = qkv[(b * T + t0 + t) * QKV + c];
      be->attention_forward_cached(view(y, {B, Tn, C}), view(k_cache, {B, NKV, maxT, hs2}),
                                   view(v_cache, {B, NKV, maxT, hs2}), view(chunk, {B, Tn, QKV}),
                                   int(NH6), int(t0));
      for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < Tn; t++)
          for (int64_t c = 0; c < C; c++)
            cached[(b * T + t0 + t) * C + c] = y[(b * Tn + t) * C + c];
    };
    step(0, 2);
    for (int64_t t = 2; t < T; t++) step(t, 1);
    CHECK(max_error(cached, out) < 1e-12);
  }
  // a qkv whose key/value part does not split into whole heads of a divisor of NH is an error
  std::vector<double> bad(B * T * (C + 2 * 4 * hs2)), out(B * T * C), att(B * NH6 * T * T);
  CHECK_THROWS_WITH_AS(be->attention_forward(view(out, {B, T, C}), view(att, {B, NH6, T, T}),
                                             view(bad, {B, T, C + 8 * hs2}), int(NH6)),
                       doctest::Contains("attention_forward: qkv has shape"), Error);
}
