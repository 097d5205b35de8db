// Lesson 07 tests: your sampling distribution against llm::sampling_distribution, your draws
// against llm::sample_token fed the same random numbers, your cached attention against
// llm::cpu::attention_forward_cached over a prefill and several decode steps.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "common/check.hpp"
#include "lesson.hpp"
#include "llm/backend/cpu/attention.hpp"
#include "llm/sample/sampling.hpp"

using namespace lesson07;
using lesson::expect_close;

namespace {

std::vector<float> random_logits(int V, uint64_t seed) {
  const auto r = lesson::randn(V, seed, 2.0);
  std::vector<float> logits(r.begin(), r.end());
  logits[3] = logits[7];           // ties: order by id
  logits[11] = logits[12] = 9.0f;  // a tie at the top
  return logits;
}

std::vector<double> wide(const std::vector<float>& v) {
  return std::vector<double>(v.begin(), v.end());
}

}  // namespace

TEST_CASE("sampling_distribution: temperature, top-k, top-p as llm::sampling_distribution") {
  const int V = 40;
  const std::vector<float> logits = random_logits(V, 1);
  struct S {
    float temperature;
    int top_k;
    float top_p;
  };
  for (S s : {S{1.0f, 0, 1.0f}, S{0.7f, 10, 1.0f}, S{1.3f, 0, 0.9f}, S{0.5f, 5, 0.5f},
              S{2.0f, 45 /* > V */, 0.97f}, S{1.0f, 0, 0.01f} /* one token */,
              S{0.0f, 0, 1.0f} /* greedy, tie at the top: lowest id */}) {
    const std::vector<float> got =
        sampling_distribution(logits.data(), V, s.temperature, s.top_k, s.top_p);
    const std::vector<float> want = llm::sampling_distribution(
        logits.data(), V, llm::SamplingSettings{s.temperature, s.top_k, s.top_p});
    expect_close("sampling_distribution(temperature " + lesson::num(s.temperature) + ", top_k " +
                     std::to_string(s.top_k) + ", top_p " + lesson::num(s.top_p) + ")",
                 wide(got), wide(want), {{"V", V}}, 1e-5, 1e-7);
  }
}

TEST_CASE("sample_from: the same tokens as llm::sample_token for the same random numbers") {
  const int V = 30;
  const std::vector<float> logits = random_logits(V, 2);
  const llm::SamplingSettings settings{0.9f, 12,
                                       0.95f};  // zeros in the distribution: they are never drawn
  const std::vector<float> probs = llm::sampling_distribution(logits.data(), V, settings);
  std::mt19937_64 draws(3), library(3);
  std::vector<int32_t> got, want;
  for (int i = 0; i < 300; i++) {
    const double u = double(draws() >> 11) * 0x1.0p-53;  // the uniform number sample_token makes
    got.push_back(sample_from(probs, u));
    want.push_back(llm::sample_token(logits.data(), V, settings, library));
  }
  lesson::expect_equal("300 draws", got, want);
  // edge cases: u = 0 gives the first token with nonzero probability; u just below 1, past the
  // float total, gives the last one
  std::vector<float> p = {0.0f, 0.25f, 0.0f, 0.5f, 0.25f, 0.0f};
  lesson::expect_equal("sample_from({0, .25, 0, .5, .25, 0}, u = 0) and (u = 0.9999999)",
                       {sample_from(p, 0.0), sample_from(p, 0.9999999)},
                       std::vector<int32_t>{1, 4});
}

TEST_CASE("attention_forward_cached: a prefill, then decode steps, as the library's") {
  const int64_t B = 2, C = 12, NH = 3, hs = C / NH, maxT = 10;
  const auto junk =
      lesson::randn(B * NH * maxT * hs, 4);  // rows not yet written hold junk on both sides
  std::vector<double> k = junk, v = junk, rk = junk, rv = junk;
  int64_t pos = 0;
  for (int64_t Tn : {4, 1, 3, 1}) {  // positions 0..3 (the prompt), 4, 5..7, 8
    const auto qkv = lesson::randn(B * Tn * 3 * C, 5 + pos);
    std::vector<double> out = lesson::randn(B * Tn * C, 6 + pos), rout(B * Tn * C);
    attention_forward_cached(out.data(), k.data(), v.data(), qkv.data(), B, Tn, C, NH, maxT, pos);
    llm::cpu::attention_forward_cached<double>(rout.data(), rk.data(), rv.data(), qkv.data(), B, Tn,
                                               C, NH, maxT, pos);
    const std::string at = " (Tn " + std::to_string(Tn) + " at pos0 " + std::to_string(pos) + ")";
    const lesson::Dims cache = {{"B", B}, {"NH", NH}, {"maxT", maxT}, {"hs", hs}};
    expect_close("k_cache" + at, k, rk, cache);
    expect_close("v_cache" + at, v, rv, cache);
    expect_close("out" + at, out, rout, {{"B", B}, {"Tn", Tn}, {"C", C}});
    pos += Tn;
  }
}
