// Lesson 06 tests: your AdamW against llm::cpu::adamw_update, your schedule against
// llm::LearningRateSchedule, your norm against llm::global_grad_norm, and three whole training
// steps against the library's (llm::AdamW, as llm/train/trainer.cpp runs it), on random inputs.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "common/check.hpp"
#include "lesson.hpp"
#include "llm/backend/cpu/adamw.hpp"

using namespace lesson06;
using lesson::expect_close;
using lesson::randn;

namespace {

std::unique_ptr<llm::GPT> make_model(llm::Backend& backend, uint64_t seed) {
  llm::GPTConfig config;
  config.max_seq_len = 8;
  config.vocab_size = 50;
  config.n_layer = 1;
  config.n_head = 2;
  config.n_embd = 16;
  auto model = std::make_unique<llm::GPT>(config, backend);
  model->init_weights(seed);
  return model;
}

std::vector<double> all_params(llm::GPT& model) {
  std::vector<double> out;
  model.params.visit([&](const char*, llm::Tensor& t, llm::Shape) {
    const double* p = static_cast<const double*>(t.data);
    out.insert(out.end(), p, p + t.numel());
  });
  return out;
}

}  // namespace

TEST_CASE("adamw_update: param, m and v as llm::cpu::adamw_update") {
  const int64_t N = 40;
  for (auto [step, wd, scale] : {std::tuple<int64_t, double, double>{1, 0.0, 1.0}, {7, 0.1, 0.5}}) {
    const auto param0 = randn(N, 1 + step), grad = randn(N, 2 + step), m0 = randn(N, 3 + step, 0.1);
    auto v0 = randn(N, 4 + step, 0.1);
    for (double& x : v0) x = std::abs(x);  // a second moment is never negative
    auto p = param0, m = m0, v = v0, rp = param0, rm = m0, rv = v0;
    adamw_update(p.data(), grad.data(), m.data(), v.data(), 1e-2, 0.9, 0.95, 1e-8, wd, step, scale,
                 N);
    llm::cpu::adamw_update<double>(rp.data(), grad.data(), rm.data(), rv.data(), 1e-2, 0.9, 0.95,
                                   1e-8, wd, step, scale, N);
    const std::string at = " (step " + std::to_string(step) + ", weight decay " + lesson::num(wd) +
                           ", grad_scale " + lesson::num(scale) + ")";
    expect_close("param" + at, p, rp, {{"N", N}});
    expect_close("m" + at, m, rm, {{"N", N}});
    expect_close("v" + at, v, rv, {{"N", N}});
  }
}

TEST_CASE("lr_at: warm-up, cosine decay, floor, as llm::LearningRateSchedule") {
  llm::LearningRateSchedule a{1e-3f, 1e-4f, 10, 100}, b{6e-4f, 6e-5f, 0, 50}, c{1e-3f, 2e-4f, 5, 5};
  for (const auto* s : {&a, &b, &c}) {
    std::vector<double> got, want;
    for (int64_t step = 0; step < 120; step++) {
      got.push_back(lr_at(step, *s));
      want.push_back(s->at(step));
    }
    expect_close("lr_at(step 0..119, warmup " + std::to_string(s->warmup_steps) + ", decay " +
                     std::to_string(s->decay_steps) + ")",
                 got, want, {{"step", 120}}, 1e-6, 0.0);
  }
}

TEST_CASE("gradient_norm and clip_scale") {
  auto backend = llm::make_cpu_backend(llm::DType::f64);
  auto model = make_model(*backend, 5);
  uint64_t seed = 10;
  model->grads.visit([&](const char*, llm::Tensor& g, llm::Shape) {
    const auto values = randn(g.numel(), ++seed, 0.01);
    backend->copy_from_host(g, values.data());
  });
  expect_close("gradient_norm", gradient_norm(*model), llm::global_grad_norm(*model), 1e-12);
  for (auto [norm, max_norm] :
       {std::pair{3.0, 1.0}, {0.5, 1.0} /* no clipping */, {2.0, 0.0} /* clipping off */}) {
    const double want = (max_norm > 0 && norm > max_norm) ? max_norm / norm : 1.0;
    expect_close("clip_scale(" + lesson::num(norm) + ", " + lesson::num(max_norm) + ")",
                 clip_scale(norm, max_norm), want);
  }
}

TEST_CASE("train_step: three steps give the same parameters as the library's trainer") {
  auto backend = llm::make_cpu_backend(llm::DType::f64);
  auto mine = make_model(*backend, 20), ref = make_model(*backend, 20);
  const int B = 2, T = 8;
  const auto tokens = lesson::randint(B * T, 0, 50, 21),
             targets = lesson::randint(B * T, 0, 50, 22);
  llm::AdamWConfig cfg;     // beta2 0.99, weight decay 0.1 on matrices
  const double clip = 0.5;  // small enough that the steps clip
  Moments opt(*mine);
  llm::AdamW adamw(*ref, cfg);
  for (int step = 0; step < 3; step++) {
    const float lr = 1e-2f * float(step + 1);
    const double got = train_step(*mine, opt, tokens.data(), targets.data(), B, T, lr, clip, cfg);
    ref->zero_grad();
    const double want = ref->forward_backward(tokens.data(), targets.data(), B, T);
    const double norm = llm::global_grad_norm(*ref);
    adamw.step(lr, (norm > clip) ? float(clip / norm) : 1.0f);
    expect_close("loss of step " + std::to_string(step), got, want);
    expect_close(
        "parameters after step " + std::to_string(step) + " (all tensors, in params.visit order)",
        all_params(*mine), all_params(*ref));
  }
}
