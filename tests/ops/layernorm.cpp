// Tests of layernorm: the CPU reference (llm/backend/cpu/layernorm.cpp, suite "cpu") against its
// formula and finite differences, and the CUDA kernels (kernels/layernorm.cu, suite "cuda") against
// it. The method and the tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

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

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda layernorm: forward (out, mean, rstd) and backward vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  struct Case {
    int B, T, C;
  };
  // C = 37: not a multiple of any vector width; 1600: GPT-2 XL's width, more than 1024 channels.
  const std::vector<Case> cases = cases_for<Case>(
      {{1, 1, 16}, {2, 7, 48}, {3, 64, 96}, {2, 7, 37}, {1, 5, 1600}}, {{4, 129, 768}});
  uint32_t seed = 200;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, C = k.C, N = B * T;
    const std::string label = shape_label({{"B", B}, {"T", T}, {"C", C}});
    // an offset and a spread, as on the residual stream; gains near 1
    Twin inp(*gpu, bf16, {B, T, C}, randn(N * C, seed++, 2.0, 0.5));
    Twin weight(*gpu, bf16, {C}, randn(C, seed++, 0.2, 1.0)),
        bias(*gpu, bf16, {C}, randn(C, seed++, 0.2));
    Twin out(*gpu, bf16, {B, T, C}), mean(*gpu, f32, {B, T}), rstd(*gpu, f32, {B, T});
    cpu->layernorm_forward(out.cpu(), mean.cpu(), rstd.cpu(), inp.cpu(), weight.cpu(), bias.cpu());
    gpu->layernorm_forward(out.gpu(), mean.gpu(), rstd.gpu(), inp.gpu(), weight.gpu(), bias.gpu());
    expect_close("layernorm out " + label, out.gpu_values(), out.cpu_values(),
                 bf16_result(rms(out.cpu_values())));
    // The statistics are f32 sums of C exact (bf16) inputs in another order: a relative error of at
    // most ~C 2^-24 = 1e-4 at C = 1600 summed one by one, ~1e-6 as summed in practice. The mean is
    // absolute against the inputs' RMS (it may be near 0).
    const Tolerance stat_tol{1e-4, 1e-4 * rms(inp.cpu_values()), "f32 sum of C terms"};
    expect_close("layernorm mean " + label, mean.gpu_values(), mean.cpu_values(), stat_tol);
    expect_close("layernorm rstd " + label, rstd.gpu_values(), rstd.cpu_values(),
                 {1e-4, 0.0, "f32 sum of C terms"});

    // Backward, both sides from the CPU's statistics (so only the backward is measured), into
    // gradients that already hold values of about the size of what is added to them.
    Twin mean_in(*gpu, f32, {B, T}, mean.cpu_values()),
        rstd_in(*gpu, f32, {B, T}, rstd.cpu_values());
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin dinp(*gpu, bf16, {B, T, C}, randn(N * C, seed++, 0.5));
    Twin dweight(*gpu, bf16, {C}, randn(C, seed++, std::sqrt(double(N))));
    Twin dbias(*gpu, bf16, {C}, randn(C, seed++, std::sqrt(double(N))));
    cpu->layernorm_backward(dinp.cpu(), dweight.cpu(), dbias.cpu(), dout.cpu(), inp.cpu(),
                            weight.cpu(), mean_in.cpu(), rstd_in.cpu());
    gpu->layernorm_backward(dinp.gpu(), dweight.gpu(), dbias.gpu(), dout.gpu(), inp.gpu(),
                            weight.gpu(), mean_in.gpu(), rstd_in.gpu());
    expect_close("layernorm dinp " + label, dinp.gpu_values(), dinp.cpu_values(),
                 bf16_result(rms(dinp.cpu_values())));
    expect_close("layernorm dweight " + label, dweight.gpu_values(), dweight.cpu_values(),
                 bf16_result(rms(dweight.cpu_values())));
    expect_close("layernorm dbias " + label, dbias.gpu_values(), dbias.cpu_values(),
                 bf16_result(rms(dbias.cpu_values())));
  }
}

TEST_SUITE_END();
