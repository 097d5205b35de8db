// Tests of RMSNorm: the CPU reference (llm/backend/cpu/rmsnorm.cpp, suite "cpu") against its
// formula and finite differences, and the CUDA kernels (kernels/rmsnorm.cu, suite "cuda") against
// it. The method and the tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

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

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda rmsnorm: forward (out, rstd) and backward vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  // std: the spread of the inputs; at 0.003 the mean square (~1e-5) is of the size of eps, so an
  // eps the kernel ignores or fixes at another value moves rstd by 5-50%: each of Llama's
  // eps, 1e-5 and 1e-6, at that size.
  struct Case {
    int B, T, C;
    double std, eps;
  };
  const std::vector<Case> cases = cases_for<Case>({{1, 1, 16, 2.0, 1e-5},
                                                   {2, 7, 48, 1.0, 1e-6},
                                                   {3, 64, 96, 2.0, 1e-5},
                                                   {2, 7, 37, 0.003, 1e-5},
                                                   {3, 5, 24, 0.003, 1e-6},
                                                   {1, 5, 1600, 1.0, 1e-6}},
                                                  {{4, 129, 4096, 1.0, 1e-5}});
  uint32_t seed = 250;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, C = k.C, N = B * T;
    const std::string label = shape_label({{"B", B}, {"T", T}, {"C", C}});
    Twin inp(*gpu, bf16, {B, T, C}, randn(N * C, seed++, k.std, 0.3 * k.std));
    Twin weight(*gpu, bf16, {C}, randn(C, seed++, 0.2, 1.0));
    Twin out(*gpu, bf16, {B, T, C}), rstd(*gpu, f32, {B, T});
    cpu->rmsnorm_forward(out.cpu(), rstd.cpu(), inp.cpu(), weight.cpu(), k.eps);
    gpu->rmsnorm_forward(out.gpu(), rstd.gpu(), inp.gpu(), weight.gpu(), k.eps);
    expect_close("rmsnorm out " + label, out.gpu_values(), out.cpu_values(),
                 bf16_result(rms(out.cpu_values())));
    // rstd: an f32 sum of C exact (bf16) squares in another order, as layernorm's statistics.
    expect_close("rmsnorm rstd " + label, rstd.gpu_values(), rstd.cpu_values(),
                 {1e-4, 0.0, "f32 sum of C terms"});

    // Backward, both sides from the CPU's rstd, into gradients that already hold values.
    Twin rstd_in(*gpu, f32, {B, T}, rstd.cpu_values());
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin dinp(*gpu, bf16, {B, T, C}, randn(N * C, seed++, 0.5 / k.std));
    Twin dweight(*gpu, bf16, {C}, randn(C, seed++, std::sqrt(double(N))));
    cpu->rmsnorm_backward(dinp.cpu(), dweight.cpu(), dout.cpu(), inp.cpu(), weight.cpu(),
                          rstd_in.cpu());
    gpu->rmsnorm_backward(dinp.gpu(), dweight.gpu(), dout.gpu(), inp.gpu(), weight.gpu(),
                          rstd_in.gpu());
    expect_close("rmsnorm dinp " + label, dinp.gpu_values(), dinp.cpu_values(),
                 bf16_result(rms(dinp.cpu_values())));
    expect_close("rmsnorm dweight " + label, dweight.gpu_values(), dweight.cpu_values(),
                 bf16_result(rms(dweight.cpu_values())));
  }
}

TEST_SUITE_END();
