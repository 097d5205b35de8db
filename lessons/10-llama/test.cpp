// Lesson 10 tests: your RMSNorm, RoPE and SwiGLU against the library's kernels
// (llm/backend/cpu/rmsnorm.cpp, rope.cpp, swiglu.cpp) on random inputs, plus the properties that
// make each worth having: RMSNorm ignores the scale of its input, RoPE's scores depend only on the
// distance between positions, SwiGLU's gate closes for very negative inputs.
#include <doctest/doctest.h>

#include <cmath>

#include "common/check.hpp"
#include "lesson.hpp"
#include "llm/backend/cpu/rmsnorm.hpp"
#include "llm/backend/cpu/rope.hpp"
#include "llm/backend/cpu/swiglu.hpp"

using namespace lesson10;
using lesson::expect_close;
using lesson::randn;

namespace {
double dot(const double* a, const double* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}
}  // namespace

TEST_CASE("rmsnorm_forward: out and rstd as the library's; blind to the input's scale") {
  const int64_t N = 6, C = 10;
  const double eps = 1e-6;
  const auto inp = randn(N * C, 1, 2.0, 0.5), weight = randn(C, 2, 0.5, 1.0);
  std::vector<double> out = randn(N * C, 3), rstd = randn(N, 4);
  std::vector<double> want(N * C), want_rstd(N);
  rmsnorm_forward(out.data(), rstd.data(), inp.data(), weight.data(), N, C, eps);
  llm::cpu::rmsnorm_forward(want.data(), want_rstd.data(), inp.data(), weight.data(), N, C, eps);
  expect_close("rmsnorm out", out, want, {{"N", N}, {"C", C}});
  expect_close("rmsnorm rstd", rstd, want_rstd, {{"N", N}});
  // x and 100 x normalise to the same row (up to eps): what lets a deep residual stream grow
  std::vector<double> scaled = inp, out_scaled(N * C), r(N);
  for (double& x : scaled) x *= 100;
  rmsnorm_forward(out_scaled.data(), r.data(), scaled.data(), weight.data(), N, C, eps);
  expect_close("rmsnorm of 100 x vs of x", out_scaled, want, {{"N", N}, {"C", C}}, 1e-5, 1e-6);
}

TEST_CASE("rmsnorm_backward: dinp and dweight accumulate as the library's") {
  const int64_t N = 5, C = 8;
  const auto inp = randn(N * C, 10, 1.5), weight = randn(C, 11, 0.5, 1.0), dout = randn(N * C, 12);
  std::vector<double> rstd(N), scratch(N * C);
  llm::cpu::rmsnorm_forward(scratch.data(), rstd.data(), inp.data(), weight.data(), N, C, 1e-6);
  std::vector<double> dinp = randn(N * C, 13), dweight = randn(C, 14);
  std::vector<double> want = dinp, want_dweight = dweight;
  rmsnorm_backward(dinp.data(), dweight.data(), dout.data(), inp.data(), weight.data(), rstd.data(),
                   N, C);
  llm::cpu::rmsnorm_backward(want.data(), want_dweight.data(), dout.data(), inp.data(),
                             weight.data(), rstd.data(), N, C);
  expect_close("rmsnorm dinp", dinp, want, {{"N", N}, {"C", C}});
  expect_close("rmsnorm dweight", dweight, want_dweight, {{"C", C}});
}

TEST_CASE("rope_forward: as the library's; q.k depends only on the distance between positions") {
  // qkv of 2 query heads, 1 key head, 1 value head of hs = 6; pos0 = 3 as in a decoding step
  const int64_t B = 2, T = 4, hs = 6, W = 4 * hs, rotated = 3, pos0 = 3;
  const double theta = 100.0;
  const auto inp = randn(B * T * W, 20);
  std::vector<double> out = randn(B * T * W, 21), want(B * T * W);
  rope_forward(out.data(), inp.data(), B, T, W, hs, rotated, pos0, theta);
  llm::cpu::rope_forward(want.data(), inp.data(), B, T, W, hs, rotated, pos0,
                         llm::RopeFrequencies{theta});
  expect_close("rope out", out, want, {{"B", B}, {"T", T}, {"W", W}});
  // one query and one key head, moved by the same number of positions: the same score
  const auto q = randn(hs, 22), k = randn(hs, 23);
  auto score = [&](int64_t q_pos, int64_t k_pos) {
    std::vector<double> rq(hs), rk(hs);
    rope_forward(rq.data(), q.data(), 1, 1, hs, hs, 1, q_pos, theta);
    rope_forward(rk.data(), k.data(), 1, 1, hs, hs, 1, k_pos, theta);
    return dot(rq.data(), rk.data(), hs);
  };
  expect_close("score(9, 4) vs score(5, 0)", score(9, 4), score(5, 0), 1e-9, 1e-12);
  CHECK_MESSAGE(std::abs(score(9, 4) - score(9, 5)) > 1e-3,
                "score(9, 4) and score(9, 5) must differ: RoPE must see the distance");
}

TEST_CASE("rope_backward: the gradient turned back by -angle, accumulated") {
  const int64_t B = 1, T = 5, hs = 4, W = 3 * hs, rotated = 2, pos0 = 0;
  const double theta = 10000.0;
  const auto dout = randn(B * T * W, 30);
  std::vector<double> dinp = randn(B * T * W, 31), want = dinp;
  rope_backward(dinp.data(), dout.data(), B, T, W, hs, rotated, pos0, theta);
  llm::cpu::rope_backward(want.data(), dout.data(), B, T, W, hs, rotated, pos0,
                          llm::RopeFrequencies{theta});
  expect_close("rope dinp", dinp, want, {{"B", B}, {"T", T}, {"W", W}});
}

TEST_CASE("swiglu_forward: silu(gate) * up as the library's; a closed gate passes nothing") {
  const int64_t N = 4, H = 7;
  auto inp = randn(N * 2 * H, 40, 2.0);
  inp[0] = -40.0;  // a very negative gate: silu(-40) ~ -2e-16, the channel is shut
  std::vector<double> out = randn(N * H, 41), want(N * H);
  swiglu_forward(out.data(), inp.data(), N, H);
  llm::cpu::swiglu_forward(want.data(), inp.data(), N, H);
  expect_close("swiglu out", out, want, {{"N", N}, {"H", H}});
  CHECK_MESSAGE(std::abs(out[0]) < 1e-12, "a gate of -40 must close its channel");
}

TEST_CASE("swiglu_backward: dgate and dup accumulate as the library's") {
  const int64_t N = 3, H = 5;
  const auto inp = randn(N * 2 * H, 50, 2.0), dout = randn(N * H, 51);
  std::vector<double> dinp = randn(N * 2 * H, 52), want = dinp;
  swiglu_backward(dinp.data(), inp.data(), dout.data(), N, H);
  llm::cpu::swiglu_backward(want.data(), inp.data(), dout.data(), N, H);
  expect_close("swiglu dinp", dinp, want, {{"N", N}, {"2H", 2 * H}});
}
