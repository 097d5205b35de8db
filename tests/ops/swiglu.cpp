// Tests of SwiGLU: the CPU reference (llm/backend/cpu/swiglu.cpp, suite "cpu") against its
// formula and finite differences, and the CUDA kernels (kernels/swiglu.cu, suite "cuda") against
// it. The method and the tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

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

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda swiglu: forward and backward vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype();
  // N rows of H outputs; H = 3 and 37: one element per thread; 24: packs of 8 within a row.
  struct Case {
    int N, H;
  };
  const std::vector<Case> cases =
      cases_for<Case>({{1, 1}, {7, 3}, {14, 24}, {5, 37}}, {{4 * 129, 14336}});
  uint32_t seed = 550;
  for (const Case& k : cases) {
    const int64_t N = k.N, H = k.H;
    const std::string label = shape_label({{"N", N}, {"H", H}});
    // std 2: the gates reach where sigmoid saturates (silu(g) -> 0 or g)
    Twin inp(*gpu, bf16, {N, 2 * H}, randn(N * 2 * H, seed++, 2.0)), out(*gpu, bf16, {N, H});
    cpu->swiglu_forward(out.cpu(), inp.cpu());
    gpu->swiglu_forward(out.gpu(), inp.gpu());
    expect_close("swiglu out " + label, out.gpu_values(), out.cpu_values(),
                 rounded_formula(rms(out.cpu_values())));

    Twin dout(*gpu, bf16, {N, H}, randn(N * H, seed++));
    Twin dinp(*gpu, bf16, {N, 2 * H}, randn(N * 2 * H, seed++));
    cpu->swiglu_backward(dinp.cpu(), inp.cpu(), dout.cpu());
    gpu->swiglu_backward(dinp.gpu(), inp.gpu(), dout.gpu());
    expect_close("swiglu dinp " + label, dinp.gpu_values(), dinp.cpu_values(),
                 rounded_formula(rms(dinp.cpu_values())));
  }
}

TEST_SUITE_END();
