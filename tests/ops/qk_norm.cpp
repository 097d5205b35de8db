// Tests of QK-norm: the CPU reference (llm/backend/cpu/qk_norm.cpp, suite "cpu") against its
// formula and finite differences, and the CUDA kernels (kernels/qk_norm.cu, suite "cuda") against
// it. The method and the tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

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

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "cuda qk_norm: forward (out, rstd) and backward (dinp, dq_weight, dk_weight) vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  const double eps = 1e-6;
  struct Case {
    int64_t B, T, NH, NKV, hs;
  };
  uint32_t seed = 550;
  for (const Case& k :
       cases_for<Case>({{2, 5, 3, 1, 8}, {1, 3, 4, 2, 64}}, {{4, 64, 12, 4, 128}})) {
    const int64_t W = (k.NH + 2 * k.NKV) * k.hs, heads = k.NH + k.NKV, n = k.B * k.T * W;
    const std::string label =
        shape_label({{"B", k.B}, {"T", k.T}, {"NH", k.NH}, {"NKV", k.NKV}, {"hs", k.hs}});
    const Shape shape{k.B, k.T, W}, gain{k.hs};
    // std 1.5 around 0.3: heads of uneven scale, so the normalisation does something
    Twin inp(*gpu, bf16, shape, randn(n, seed++, 1.5, 0.3)), out(*gpu, bf16, shape),
        rstd(*gpu, f32, Shape{k.B, k.T, heads});
    Twin q_weight(*gpu, bf16, gain, randn(k.hs, seed++, 0.5, 1.0)),
        k_weight(*gpu, bf16, gain, randn(k.hs, seed++, 0.5, 1.0));
    cpu->qk_norm_forward(out.cpu(), rstd.cpu(), inp.cpu(), q_weight.cpu(), k_weight.cpu(),
                         int(k.NH), eps);
    gpu->qk_norm_forward(out.gpu(), rstd.gpu(), inp.gpu(), q_weight.gpu(), k_weight.gpu(),
                         int(k.NH), eps);
    expect_close("qk_norm out " + label, out.gpu_values(), out.cpu_values(),
                 bf16_result(rms(out.cpu_values())));
    // rstd: the same f32 formula over hs terms summed in the same order
    expect_close("qk_norm rstd " + label, rstd.gpu_values(), rstd.cpu_values(),
                 {1e-5, 0.0, "f32 sum over hs terms"});

    Twin dout(*gpu, bf16, shape, randn(n, seed++)), dinp(*gpu, bf16, shape, randn(n, seed++));
    Twin dq(*gpu, bf16, gain, randn(k.hs, seed++)), dk(*gpu, bf16, gain, randn(k.hs, seed++));
    cpu->qk_norm_backward(dinp.cpu(), dq.cpu(), dk.cpu(), dout.cpu(), inp.cpu(), q_weight.cpu(),
                          k_weight.cpu(), rstd.cpu(), int(k.NH));
    gpu->qk_norm_backward(dinp.gpu(), dq.gpu(), dk.gpu(), dout.gpu(), inp.gpu(), q_weight.gpu(),
                          k_weight.gpu(), rstd.gpu(), int(k.NH));
    expect_close("qk_norm dinp " + label, dinp.gpu_values(), dinp.cpu_values(),
                 bf16_result(rms(dinp.cpu_values())));
    expect_close("qk_norm dq_weight " + label, dq.gpu_values(), dq.cpu_values(),
                 bf16_result(rms(dq.cpu_values())));
    expect_close("qk_norm dk_weight " + label, dk.gpu_values(), dk.cpu_values(),
                 bf16_result(rms(dk.cpu_values())));
  }
}

TEST_SUITE_END();
