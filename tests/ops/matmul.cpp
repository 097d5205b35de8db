// Tests of matmul with bias: the CPU reference (llm/backend/cpu/matmul.cpp, suite "cpu") against
// its formula and finite differences, and the CUDA kernels (kernels/matmul.cu, suite "cuda")
// against it. The method and the tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

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

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "cuda matmul: forward with and without bias, backward with dinp or dbias left out, vs the "
    "CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype();
  // N = B T rows; 37 x 19 x 23 has no size a multiple of anything; the large ones are GPT-2's qkv,
  // its MLP's fc (768 -> 3072) and proj (3072 -> 768).
  struct Case {
    int B, T, C, OC;
  };
  const std::vector<Case> cases =
      cases_for<Case>({{1, 1, 16, 16}, {1, 37, 19, 23}, {2, 7, 48, 144}, {3, 43, 96, 384}},
                      {{4, 64, 768, 2304}, {1, 64, 768, 3072}, {1, 64, 3072, 768}});
  uint32_t seed = 300;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, C = k.C, OC = k.OC, N = B * T;
    const std::string label = shape_label({{"N", N}, {"C", C}, {"OC", OC}});
    // weights N(0, 1/C), as an initialisation would make them: every output is O(1)
    Twin inp(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin weight(*gpu, bf16, {OC, C}, randn(OC * C, seed++, 1.0 / std::sqrt(double(C))));
    Twin bias(*gpu, bf16, {OC}, randn(OC, seed++, 0.5));

    for (bool with_bias : {true, false}) {
      Twin out(*gpu, bf16, {B, T, OC});
      cpu->matmul_forward(out.cpu(), inp.cpu(), weight.cpu(), with_bias ? bias.cpu() : Tensor{});
      gpu->matmul_forward(out.gpu(), inp.gpu(), weight.gpu(), with_bias ? bias.gpu() : Tensor{});
      expect_close(
          std::string("matmul out ") + (with_bias ? "with bias " : "without bias ") + label,
          out.gpu_values(), out.cpu_values(), bf16_result(rms(out.cpu_values())));
    }

    Twin dout(*gpu, bf16, {B, T, OC}, randn(N * OC, seed++));
    // Gradient buffers start at the size of what is added to them: dinp ~ sqrt(OC / C), dweight
    // and dbias ~ sqrt(N).
    const double dinp_scale = std::sqrt(double(OC) / double(C)),
                 dweight_scale = std::sqrt(double(N));
    enum Variant { kAll, kNoDbias, kNoDinp };
    const char* variant_names[] = {"", " (dbias empty)", " (dinp empty)"};
    for (Variant variant : {kAll, kNoDbias, kNoDinp}) {
      const std::string name = variant_names[variant];
      Twin dinp(*gpu, bf16, {B, T, C}, randn(N * C, seed++, dinp_scale));
      Twin dweight(*gpu, bf16, {OC, C}, randn(OC * C, seed++, dweight_scale));
      Twin dbias(*gpu, bf16, {OC}, randn(OC, seed++, dweight_scale));
      const bool has_dinp = variant != kNoDinp, has_dbias = variant != kNoDbias;
      cpu->matmul_backward(has_dinp ? dinp.cpu() : Tensor{}, dweight.cpu(),
                           has_dbias ? dbias.cpu() : Tensor{}, dout.cpu(), inp.cpu(), weight.cpu());
      gpu->matmul_backward(has_dinp ? dinp.gpu() : Tensor{}, dweight.gpu(),
                           has_dbias ? dbias.gpu() : Tensor{}, dout.gpu(), inp.gpu(), weight.gpu());
      if (has_dinp)
        expect_close("matmul dinp" + name + " " + label, dinp.gpu_values(), dinp.cpu_values(),
                     bf16_result(rms(dinp.cpu_values())));
      expect_close("matmul dweight" + name + " " + label, dweight.gpu_values(),
                   dweight.cpu_values(), bf16_result(rms(dweight.cpu_values())));
      if (has_dbias)
        expect_close("matmul dbias" + name + " " + label, dbias.gpu_values(), dbias.cpu_values(),
                     bf16_result(rms(dbias.cpu_values())));
      // a buffer the op was not given stays as it was
      if (!has_dinp) CHECK(dinp.gpu_values() == dinp.cpu_values());
      if (!has_dbias) CHECK(dbias.gpu_values() == dbias.cpu_values());
    }
  }
}

TEST_SUITE_END();
