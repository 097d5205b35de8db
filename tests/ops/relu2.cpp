// Tests of the squared ReLU: the CPU reference (llm/backend/cpu/relu2.cpp, suite "cpu") against its
// formula and finite differences, and the CUDA kernels (kernels/relu2.cu, suite "cuda") against it.
// The method and the tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

// ---------------------------------------------------------------------------------------------
TEST_CASE("relu2: forward max(x, 0)^2; backward by finite differences") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t N = 4 * C * 3 + 1;  // odd, and more than one vector width
  std::vector<double> inp = randn(N, 300, 2.0), out(N), w = randn(N, 301);
  be->relu2_forward(view(out, {N}), view(inp, {N}));
  std::vector<double> expected(N);
  int64_t negatives = 0;
  for (int64_t i = 0; i < N; i++) {
    expected[i] = inp[i] > 0 ? inp[i] * inp[i] : 0.0;
    negatives += inp[i] < 0;
  }
  CHECK(max_error(out, expected) < 1e-15);
  CHECK(negatives > N / 4);  // both branches are exercised

  auto loss = [&](std::vector<double> x) {
    std::vector<double> y(N);
    be->relu2_forward(view(y, {N}), view(x, {N}));
    return dot(w, y);
  };
  const std::vector<double> dinp0 = randn(N, 302);
  std::vector<double> dinp = dinp0;
  be->relu2_backward(view(dinp, {N}), view(inp, {N}), view(w, {N}));
  expect_gradient("dinp", loss, inp, minus(dinp, dinp0));

  // the argument check: out must have inp's elements
  std::vector<double> short_out(N - 1);
  CHECK_THROWS_WITH_AS(be->relu2_forward(view(short_out, {N - 1}), view(inp, {N})),
                       doctest::Contains("relu2_forward: out"), Error);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda relu2: forward and backward vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype();
  uint32_t seed = 520;
  for (const Shape shape :
       cases_for<Shape>({Shape{1}, Shape{7}, Shape{2, 7, 192}}, {Shape{786'437}})) {
    const int64_t n = shape.numel();
    const std::string label = "n=" + std::to_string(n);
    Twin inp(*gpu, bf16, shape, randn(n, seed++, 2.0)), out(*gpu, bf16, shape);
    cpu->relu2_forward(out.cpu(), inp.cpu());
    gpu->relu2_forward(out.gpu(), inp.gpu());
    expect_close("relu2 out " + label, out.gpu_values(), out.cpu_values(),
                 rounded_formula(rms(out.cpu_values())));

    Twin dout(*gpu, bf16, shape, randn(n, seed++)), dinp(*gpu, bf16, shape, randn(n, seed++));
    cpu->relu2_backward(dinp.cpu(), inp.cpu(), dout.cpu());
    gpu->relu2_backward(dinp.gpu(), inp.gpu(), dout.gpu());
    expect_close("relu2 dinp " + label, dinp.gpu_values(), dinp.cpu_values(),
                 rounded_formula(rms(dinp.cpu_values())));
  }
}

TEST_SUITE_END();
