// Lesson 04 tests: your causal softmax against a direct formula and its backward against the full
// Jacobian; your head reshapes against the library's KV-cache layout; your attention layer against
// llm::cpu::attention_forward / attention_backward, on random inputs.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "common/check.hpp"
#include "lesson.hpp"
#include "llm/backend/cpu/attention.hpp"

using namespace lesson04;
using lesson::expect_close;
using lesson::randn;

TEST_CASE("causal_softmax: rows sum to 1 over the past, 0 in the future") {
  for (int64_t T : {1, 2, 7}) {
    auto S = randn(T * T, 100 + T, 3.0);
    if (T == 7) S[6 * T + 2] = 800.0;  // edge case: a huge score must not overflow exp()
    std::vector<double> P = randn(T * T, 200 + T), want(T * T, 0.0);
    for (int64_t i = 0; i < T; i++) {
      double m = -std::numeric_limits<double>::infinity(), sum = 0;
      for (int64_t j = 0; j <= i; j++) m = std::max(m, S[i * T + j]);
      for (int64_t j = 0; j <= i; j++) sum += std::exp(S[i * T + j] - m);
      for (int64_t j = 0; j <= i; j++) want[i * T + j] = std::exp(S[i * T + j] - m) / sum;
    }
    causal_softmax(P.data(), S.data(), T);
    expect_close("causal_softmax P, T = " + std::to_string(T), P, want, {{"i", T}, {"j", T}});
  }
}

TEST_CASE("causal_softmax_backward: the Jacobian-vector product, accumulated") {
  const int64_t T = 6;
  const auto S = randn(T * T, 1), dP = randn(T * T, 2), dS0 = randn(T * T, 3);
  std::vector<double> P(T * T);
  causal_softmax(P.data(), S.data(), T);  // (tested above; fall back on a reference if it is wrong)
  double row0 = 0;
  for (int64_t j = 0; j < T; j++) row0 += P[j];
  if (!(std::abs(row0 - 1) < 1e-12)) {
    for (int64_t i = 0; i < T; i++) {
      double sum = 0;
      for (int64_t j = 0; j <= i; j++) sum += std::exp(S[i * T + j]);
      for (int64_t j = 0; j < T; j++) P[i * T + j] = j <= i ? std::exp(S[i * T + j]) / sum : 0.0;
    }
  }
  // reference: dS[i, :] += J_i^T dP[i, :] with the explicit Jacobian J_i[j][k] = P_ij ([j == k] -
  // P_ik)
  std::vector<double> want = dS0;
  for (int64_t i = 0; i < T; i++)
    for (int64_t k = 0; k < T; k++)
      for (int64_t j = 0; j < T; j++)
        want[i * T + k] += dP[i * T + j] * P[i * T + j] * ((j == k ? 1.0 : 0.0) - P[i * T + k]);
  std::vector<double> dS = dS0;
  causal_softmax_backward(dS.data(), P.data(), dP.data(), T);
  expect_close("causal_softmax_backward dS", dS, want, {{"i", T}, {"j", T}});
}

TEST_CASE("split_heads and merge_heads: (B, T, 3C) <-> (B, NH, T, hs)") {
  const int64_t B = 2, T = 5, C = 12, NH = 3, hs = C / NH;
  const auto qkv = randn(B * T * 3 * C, 4);
  std::vector<double> q = randn(B * T * C, 5), k = randn(B * T * C, 6), v = randn(B * T * C, 7);
  split_heads(q.data(), k.data(), v.data(), qkv.data(), B, T, C, NH);
  // The library's KV cache stores k and v in exactly this layout (B, NH, maxT, hs): run a prefill
  // with maxT = T and read them back. For q, run it again with q placed in k's channels.
  std::vector<double> out(B * T * C), k_ref(B * T * C), v_ref(B * T * C), q_ref(B * T * C),
      scratch(B * T * C);
  llm::cpu::attention_forward_cached<double>(out.data(), k_ref.data(), v_ref.data(), qkv.data(), B,
                                             T, C, NH, T, 0);
  std::vector<double> swapped = qkv;
  for (int64_t bt = 0; bt < B * T; bt++)
    for (int64_t c = 0; c < C; c++) swapped[bt * 3 * C + C + c] = qkv[bt * 3 * C + c];
  llm::cpu::attention_forward_cached<double>(out.data(), q_ref.data(), scratch.data(),
                                             swapped.data(), B, T, C, NH, T, 0);
  const lesson::Dims heads = {{"B", B}, {"NH", NH}, {"T", T}, {"hs", hs}};
  expect_close("split_heads q", q, q_ref, heads);
  expect_close("split_heads k", k, k_ref, heads);
  expect_close("split_heads v", v, v_ref, heads);
  std::vector<double> merged = randn(B * T * C, 8), want(B * T * C);
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t c = 0; c < C; c++)
        want[(b * T + t) * C + c] = v_ref[((b * NH + c / hs) * T + t) * hs + c % hs];
  merge_heads(merged.data(), v_ref.data(), B, T, C, NH);
  expect_close("merge_heads out", merged, want, {{"B", B}, {"T", T}, {"C", C}});
}

TEST_CASE("attention_forward: out and att as llm::cpu::attention_forward") {
  struct Shape {
    int64_t B, T, C, NH;
  };
  for (Shape s : {Shape{2, 5, 12, 3}, Shape{1, 1, 8, 2} /* T = 1: out is v */,
                  Shape{1, 6, 4, 1} /* one head */}) {
    const std::string name = "(B=" + std::to_string(s.B) + ", T=" + std::to_string(s.T) +
                             ", C=" + std::to_string(s.C) + ", NH=" + std::to_string(s.NH) + ")";
    const auto qkv = randn(s.B * s.T * 3 * s.C, 9 + s.T);
    std::vector<double> out = randn(s.B * s.T * s.C, 10), att = randn(s.B * s.NH * s.T * s.T, 11);
    std::vector<double> rout(out.size()), ratt(att.size());
    attention_forward(out.data(), att.data(), qkv.data(), s.B, s.T, s.C, s.NH);
    llm::cpu::attention_forward<double>(rout.data(), ratt.data(), qkv.data(), s.B, s.T, s.C, s.NH);
    expect_close("attention_forward out " + name, out, rout, {{"B", s.B}, {"T", s.T}, {"C", s.C}});
    expect_close("attention_forward att " + name, att, ratt,
                 {{"B", s.B}, {"NH", s.NH}, {"i", s.T}, {"j", s.T}});
  }
}

TEST_CASE("attention_backward: dqkv as llm::cpu::attention_backward, accumulated") {
  const int64_t B = 2, T = 5, C = 12, NH = 3;
  const auto qkv = randn(B * T * 3 * C, 12), dout = randn(B * T * C, 13),
             dqkv0 = randn(B * T * 3 * C, 14);
  std::vector<double> out(B * T * C), att(B * NH * T * T);
  llm::cpu::attention_forward<double>(out.data(), att.data(), qkv.data(), B, T, C, NH);
  std::vector<double> dqkv = dqkv0, rdqkv = dqkv0, datt(att.size()), rdatt(att.size());
  attention_backward(dqkv.data(), datt.data(), dout.data(), qkv.data(), att.data(), B, T, C, NH);
  llm::cpu::attention_backward<double>(rdqkv.data(), rdatt.data(), dout.data(), qkv.data(),
                                       att.data(), B, T, C, NH);
  expect_close("attention_backward dqkv", dqkv, rdqkv, {{"B", B}, {"T", T}, {"3C", 3 * C}});
  // causality, seen from the gradient: the first position's output depends on position 0 alone
  std::vector<double> d_first(B * T * C, 0.0), g(B * T * 3 * C, 0.0);
  for (int64_t c = 0; c < C; c++) d_first[c] = 1.0;  // d(sum of out[0, 0, :])
  attention_backward(g.data(), datt.data(), d_first.data(), qkv.data(), att.data(), B, T, C, NH);
  double future = 0, present = 0;
  for (int64_t i = 0; i < 3 * C; i++) present += std::abs(g[i]);
  for (int64_t i = 3 * C; i < B * T * 3 * C; i++) future += std::abs(g[i]);
  CHECK_MESSAGE(
      future == 0.0,
      "out[0, 0, :] must not depend on positions t > 0, but its gradient reaches them (sum |g| = "
          << future << ")");
  CHECK_MESSAGE(present > 0.0, "out[0, 0, :] depends on v[0, 0, :], yet its gradient there is 0");
}
