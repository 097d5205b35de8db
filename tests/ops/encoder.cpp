// Tests of token + position embedding: the CPU reference (llm/backend/cpu/encoder.cpp, suite "cpu")
// against its formula and finite differences, and the CUDA kernels (kernels/encoder.cu, suite
// "cuda") against it. The method and the tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

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

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "cuda encoder: forward (pos0 0 and 3) and backward with repeated tokens, with and without "
    "learned positions, vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype();
  // vocab: tokens are drawn from [0, vocab), a few of the Vp rows, so they repeat (vocab 1: every
  // token is the same one, the worst case for a deterministic dwte).
  struct Case {
    int B, T, C, vocab;
  };
  const std::vector<Case> cases = cases_for<Case>(
      {{1, 1, 16, 3}, {2, 7, 48, 5}, {4, 64, 37, 13}, {4, 33, 96, 1}}, {{3, 129, 768, 40}});
  uint32_t seed = 100;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, C = k.C, Vp = 128, maxT = T + 3;
    const std::string label = shape_label({{"B", B}, {"T", T}, {"C", C}, {"vocab", k.vocab}});
    std::vector<int32_t> tokens = random_tokens(B * T, k.vocab, seed++);
    const DeviceTensor tokens_gpu = upload_tokens(*gpu, tokens, {B, T});
    Twin wte(*gpu, bf16, {Vp, C}, randn(Vp * C, seed++)),
        wpe(*gpu, bf16, {maxT, C}, randn(maxT * C, seed++));

    for (int pos0 : {0, 3}) {
      Twin out(*gpu, bf16, {B, T, C});
      cpu->encoder_forward(out.cpu(), view(tokens, {B, T}), wte.cpu(), wpe.cpu(), pos0);
      gpu->encoder_forward(out.gpu(), tokens_gpu, wte.gpu(), wpe.gpu(), pos0);
      expect_close("encoder out pos0=" + std::to_string(pos0) + " " + label, out.gpu_values(),
                   out.cpu_values(), one_rounding());
    }

    Twin dout(*gpu, bf16, {B, T, C}, randn(B * T * C, seed++));
    Twin dwte(*gpu, bf16, {Vp, C}, randn(Vp * C, seed++)),
        dwpe(*gpu, bf16, {maxT, C}, randn(maxT * C, seed++));
    const std::vector<double> dwte0 = dwte.cpu_values(), dwpe0 = dwpe.cpu_values();
    cpu->encoder_backward(dwte.cpu(), dwpe.cpu(), dout.cpu(), view(tokens, {B, T}));
    gpu->encoder_backward(dwte.gpu(), dwpe.gpu(), dout.gpu(), tokens_gpu);
    const std::vector<double> dwte_gpu = dwte.gpu_values(), dwpe_gpu = dwpe.gpu_values();
    expect_close("encoder dwte " + label, dwte_gpu, dwte.cpu_values(),
                 bf16_result(rms(dwte.cpu_values())));
    expect_close("encoder dwpe " + label, dwpe_gpu, dwpe.cpu_values(),
                 bf16_result(rms(dwpe.cpu_values())));
    // Rows no token and no position reached are left exactly as they were.
    const std::set<int32_t> used(tokens.begin(), tokens.end());
    int64_t touched = 0;
    for (int64_t r = 0; r < Vp; r++)
      for (int64_t c = 0; c < C; c++)
        if (!used.count(static_cast<int32_t>(r)) && dwte_gpu[r * C + c] != dwte0[r * C + c])
          touched++;
    for (int64_t r = T; r < maxT; r++)
      for (int64_t c = 0; c < C; c++)
        if (dwpe_gpu[r * C + c] != dwpe0[r * C + c]) touched++;
    INFO("encoder_backward " << label << ": " << touched
                             << " elements of unused dwte/dwpe rows changed");
    CHECK(touched == 0);

    // Without learned positions (rope): wpe and dwpe empty, the token embedding alone, at a pos0
    // past any wpe table.
    Twin out_rope(*gpu, bf16, {B, T, C});
    cpu->encoder_forward(out_rope.cpu(), view(tokens, {B, T}), wte.cpu(), Tensor{}, 5);
    gpu->encoder_forward(out_rope.gpu(), tokens_gpu, wte.gpu(), Tensor{}, 5);
    expect_close("encoder out without wpe " + label, out_rope.gpu_values(), out_rope.cpu_values(),
                 one_rounding());
    Twin dwte_rope(*gpu, bf16, {Vp, C}, randn(Vp * C, seed++));
    cpu->encoder_backward(dwte_rope.cpu(), Tensor{}, dout.cpu(), view(tokens, {B, T}));
    gpu->encoder_backward(dwte_rope.gpu(), Tensor{}, dout.gpu(), tokens_gpu);
    expect_close("encoder dwte without dwpe " + label, dwte_rope.gpu_values(),
                 dwte_rope.cpu_values(), bf16_result(rms(dwte_rope.cpu_values())));
  }
}

TEST_SUITE_END();
