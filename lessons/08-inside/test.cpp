// Lesson 08 tests: your logit lens against the model's own prediction at the last layer and against
// the library's layernorm + head at every layer; your entropy and rollout against the definitions,
// on a GPT (f64 CPU backend) with random parameters and random tokens.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "common/check.hpp"
#include "lesson.hpp"
#include "llm/backend/cpu/layernorm.hpp"
#include "llm/backend/cpu/matmul.hpp"

using namespace lesson08;
using lesson::expect_close;

namespace {

constexpr int kV = 50, kB = 2, kT = 6;

struct Model {
  std::unique_ptr<llm::Backend> backend = llm::make_cpu_backend(llm::DType::f64);
  std::unique_ptr<llm::GPT> gpt;
  explicit Model(uint64_t seed) {
    llm::GPTConfig config;
    config.max_seq_len = 8;
    config.vocab_size = kV;
    config.n_layer = 3;
    config.n_head = 2;
    config.n_embd = 16;
    gpt = std::make_unique<llm::GPT>(config, *backend);
    gpt->init_weights(seed);
    uint64_t s = seed;
    gpt->params.visit([&](const char* name, llm::Tensor& t, llm::Shape) {
      const std::string n = name;
      const bool gain = n == "ln1w" || n == "ln2w" || n == "lnfw";
      std::vector<double> v = lesson::randn(t.numel(), ++s, 0.3, gain ? 1.0 : 0.0);
      backend->copy_from_host(t, v.data());
    });
    const auto tokens = lesson::randint(kB * kT, 0, kV, seed + 100);
    gpt->forward(tokens.data(), nullptr, kB, kT);
  }
};

const double* f64(const llm::Tensor& t) { return static_cast<const double*>(t.data); }

std::vector<double> softmax_rows(const double* logits, int64_t N, int64_t V, int64_t stride) {
  std::vector<double> p(N * V);
  for (int64_t n = 0; n < N; n++) {
    double m = logits[n * stride], sum = 0;
    for (int64_t v = 1; v < V; v++) m = std::max(m, logits[n * stride + v]);
    for (int64_t v = 0; v < V; v++) sum += p[n * V + v] = std::exp(logits[n * stride + v] - m);
    for (int64_t v = 0; v < V; v++) p[n * V + v] /= sum;
  }
  return p;
}

}  // namespace

TEST_CASE(
    "logit_lens: the last layer's lens is the model's own prediction; earlier layers use the same "
    "head") {
  Model m(1);
  const lesson::Dims btv = {{"B", kB}, {"T", kT}, {"V", kV}};
  const std::vector<double> own = softmax_rows(f64(m.gpt->acts.logits), kB * kT, kV, 128);
  expect_close("logit_lens(layer 2 = L-1) vs softmax of the model's logits", logit_lens(*m.gpt, 2),
               own, btv);
  for (int layer : {0, 1}) {
    std::vector<double> ln(kB * kT * 16), mean(kB * kT), rstd(kB * kT), logits(kB * kT * 128);
    llm::cpu::layernorm_forward<double>(
        ln.data(), mean.data(), rstd.data(), f64(m.gpt->acts.residual3.slice(layer)),
        f64(m.gpt->params.lnfw), f64(m.gpt->params.lnfb), kB * kT, 16);
    llm::cpu::matmul_forward<double>(logits.data(), ln.data(), f64(m.gpt->params.wte), nullptr,
                                     kB * kT, 16, 128);
    expect_close("logit_lens(layer " + std::to_string(layer) + ")", logit_lens(*m.gpt, layer),
                 softmax_rows(logits.data(), kB * kT, kV, 128), btv);
  }
}

TEST_CASE("entropy: -sum p ln p per row") {
  const int64_t N = 5, V = 7;
  std::vector<double> p = lesson::randn(N * V, 2);
  for (int64_t n = 0; n < N; n++) {
    double sum = 0;
    for (int64_t v = 0; v < V; v++) sum += p[n * V + v] = std::exp(p[n * V + v]);
    for (int64_t v = 0; v < V; v++) p[n * V + v] /= sum;
  }
  // edge cases: row 3 certain (one-hot: 0, and 0 ln 0 must count as 0), row 4 uniform (ln 7)
  for (int64_t v = 0; v < V; v++) p[3 * V + v] = v == 2 ? 1.0 : 0.0;
  for (int64_t v = 0; v < V; v++) p[4 * V + v] = 1.0 / V;
  std::vector<double> want(N, 0.0);
  for (int64_t n = 0; n < N; n++)
    for (int64_t v = 0; v < V; v++)
      if (p[n * V + v] > 0) want[n] -= p[n * V + v] * std::log(p[n * V + v]);
  expect_close("entropy", entropy(p, N, V), want, {{"N", N}});
  CHECK_MESSAGE(std::abs(want[4] - std::log(7.0)) < 1e-12, "the uniform row's entropy is ln 7");
}

TEST_CASE("attention_rollout: (mean over heads + I) / 2, multiplied through the layers") {
  Model m(3);
  const int64_t T = kT, NH = 2, L = 3;
  for (int b : {0, 1}) {
    std::vector<double> R(T * T, 0.0);
    for (int64_t i = 0; i < T; i++) R[i * T + i] = 1.0;
    for (int64_t l = 0; l < L; l++) {
      const double* att = f64(m.gpt->acts.att.slice(l).slice(b));
      std::vector<double> next(T * T, 0.0);
      for (int64_t i = 0; i < T; i++)
        for (int64_t j = 0; j < T; j++)
          for (int64_t k = 0; k < T; k++) {
            const double a = 0.5 * ((att[(0 * T + i) * T + k] + att[(1 * T + i) * T + k]) / NH +
                                    (i == k ? 1.0 : 0.0));
            next[i * T + j] += a * R[k * T + j];
          }
      R = next;
    }
    const std::vector<double> got = attention_rollout(*m.gpt, b);
    expect_close("attention_rollout(b = " + std::to_string(b) + ")", got, R, {{"i", T}, {"j", T}});
    // and what it means: rows are distributions, and nothing flows from the future
    if (got.size() == size_t(T * T)) {
      double worst_sum = 0, future = 0;
      for (int64_t i = 0; i < T; i++) {
        double s = 0;
        for (int64_t j = 0; j < T; j++)
          s += got[i * T + j], future += j > i ? std::abs(got[i * T + j]) : 0.0;
        worst_sum = std::max(worst_sum, std::abs(s - 1));
      }
      CHECK_MESSAGE(worst_sum < 1e-12,
                    "rollout rows must sum to 1 (worst |sum - 1| = " << worst_sum << ")");
      CHECK_MESSAGE(future == 0.0,
                    "rollout must be lower-triangular (causal), but the future holds " << future);
    }
  }
}
