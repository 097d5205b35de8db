// Tests of residual add: the CPU reference (llm/backend/cpu/residual.cpp, suite "cpu") against its
// formula and finite differences, and the CUDA kernels (kernels/residual.cu, suite "cuda") against
// it. The method and the tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

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

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda residual: forward and backward are one bf16 rounding of the CPU's sums") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype();
  uint32_t seed = 600;
  for (const Shape shape :
       cases_for<Shape>({Shape{1}, Shape{7}, Shape{1001}}, {Shape{4 * 129 * 768 + 3}})) {
    const int64_t n = shape.numel();
    const std::string label = "n=" + std::to_string(n);
    Twin a(*gpu, bf16, shape, randn(n, seed++)), b(*gpu, bf16, shape, randn(n, seed++)),
        out(*gpu, bf16, shape);
    cpu->residual_forward(out.cpu(), a.cpu(), b.cpu());
    gpu->residual_forward(out.gpu(), a.gpu(), b.gpu());
    expect_close("residual out " + label, out.gpu_values(), out.cpu_values(), one_rounding());

    Twin dout(*gpu, bf16, shape, randn(n, seed++));
    Twin da(*gpu, bf16, shape, randn(n, seed++)), db(*gpu, bf16, shape, randn(n, seed++));
    cpu->residual_backward(da.cpu(), db.cpu(), dout.cpu());
    gpu->residual_backward(da.gpu(), db.gpu(), dout.gpu());
    expect_close("residual da " + label, da.gpu_values(), da.cpu_values(), one_rounding());
    expect_close("residual db " + label, db.gpu_values(), db.cpu_values(), one_rounding());
  }
}

TEST_SUITE_END();
