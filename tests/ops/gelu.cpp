// Tests of GELU: the CPU reference (llm/backend/cpu/gelu.cpp, suite "cpu") against its
// formula and finite differences, and the CUDA kernels (kernels/gelu.cu, suite "cuda") against it.
// The method and the tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

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

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda gelu: forward and backward vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype();
  uint32_t seed = 500;
  for (const Shape shape :
       cases_for<Shape>({Shape{1}, Shape{7}, Shape{2, 7, 192}}, {Shape{786'437}})) {
    const int64_t n = shape.numel();
    const std::string label = "n=" + std::to_string(n);
    // std 2: reaches the tails where tanh saturates and gelu(x) -> 0 or x
    Twin inp(*gpu, bf16, shape, randn(n, seed++, 2.0)), out(*gpu, bf16, shape);
    cpu->gelu_forward(out.cpu(), inp.cpu());
    gpu->gelu_forward(out.gpu(), inp.gpu());
    expect_close("gelu out " + label, out.gpu_values(), out.cpu_values(),
                 rounded_formula(rms(out.cpu_values())));

    Twin dout(*gpu, bf16, shape, randn(n, seed++)), dinp(*gpu, bf16, shape, randn(n, seed++));
    cpu->gelu_backward(dinp.cpu(), inp.cpu(), dout.cpu());
    gpu->gelu_backward(dinp.gpu(), inp.gpu(), dout.gpu());
    expect_close("gelu dinp " + label, dinp.gpu_values(), dinp.cpu_values(),
                 rounded_formula(rms(dinp.cpu_values())));
  }
}

TEST_SUITE_END();
