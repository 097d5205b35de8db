// Lesson 06's result: your training step at work. (1) Overfit one batch: a model that can memorise
// 4 x 32 characters drives its loss towards 0: the quickest proof that forward, backward and update
// fit together. (2) Train on tinyshakespeare with warm-up + cosine and clipping, and watch the
// validation loss fall from ln 65 = 4.17 towards the bigram model's 2.5 and below.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "common/char_model.hpp"
#include "common/data.hpp"
#include "lesson.hpp"
#include "llm/tokenizer/char_tokenizer.hpp"

using namespace lesson06;

namespace {
void batch(const std::vector<int32_t>& ids, int B, int T, std::mt19937_64& rng,
           std::vector<int32_t>& x, std::vector<int32_t>& y) {
  for (int b = 0; b < B; b++) {
    const size_t start = rng() % (ids.size() - T - 1);
    for (int t = 0; t < T; t++) {
      x[b * T + t] = ids[start + t];
      y[b * T + t] = ids[start + t + 1];
    }
  }
}
}  // namespace

int main(int argc, char** argv) try {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines appear as they happen, even in a pipe
  const int steps = argc > 1 ? std::atoi(argv[1]) : 600;
  const std::string text = lesson::read_tinyshakespeare();
  const llm::CharTokenizer tokenizer = llm::CharTokenizer::from_corpus(text);
  const std::vector<int32_t> ids = tokenizer.encode(text);
  const size_t split = ids.size() * 9 / 10;
  const std::vector<int32_t> train(ids.begin(), ids.begin() + split),
      val(ids.begin() + split, ids.end());

  // L = 2 blocks, NH = 4 heads, C = 64 channels, 64 positions
  const llm::GPTConfig config = lesson::char_gpt_config(tokenizer.vocab_size(), 2, 4, 64, 64);
  auto backend = llm::make_cpu_backend(llm::DType::f64);
  llm::AdamWConfig cfg;

  std::printf("(1) overfitting one batch of 4 x 32 characters, lr 3e-3:\n");
  {
    llm::GPT model(config, *backend);
    model.init_weights(1);
    Moments opt(model);
    std::mt19937_64 rng(2);
    const int B = 4, T = 32;
    std::vector<int32_t> x(B * T), y(B * T);
    batch(train, B, T, rng, x, y);
    for (int step = 0; step <= 150; step++) {
      const double loss = train_step(model, opt, x.data(), y.data(), B, T, 3e-3f, 1.0, cfg);
      if (step % 25 == 0) std::printf("  step %3d  loss %.4f\n", step, loss);
    }
  }

  std::printf(
      "(2) tinyshakespeare, %d steps of 16 x 64 characters, lr 3e-3 -> 3e-4 (warm-up 30, cosine), "
      "clip 1.0:\n",
      steps);
  llm::GPT model(config, *backend);
  model.init_weights(3);
  Moments opt(model);
  const llm::LearningRateSchedule schedule{3e-3f, 3e-4f, 30, steps};
  std::mt19937_64 rng(4);
  const int B = 16, T = 64;
  std::vector<int32_t> x(B * T), y(B * T);
  auto val_loss = [&] {
    std::mt19937_64 r(5);  // the same 8 validation batches every time
    double sum = 0;
    for (int i = 0; i < 8; i++) {
      batch(val, B, T, r, x, y);
      sum += model.forward(x.data(), y.data(), B, T);
    }
    return sum / 8;
  };
  const auto start = std::chrono::steady_clock::now();
  std::printf("  step %4d  val loss %.4f\n", 0, val_loss());
  for (int step = 0; step < steps; step++) {
    batch(train, B, T, rng, x, y);
    const double loss =
        train_step(model, opt, x.data(), y.data(), B, T, float(lr_at(step, schedule)), 1.0, cfg);
    if ((step + 1) % 100 == 0 || step + 1 == steps)
      std::printf("  step %4d  train loss %.4f  val loss %.4f  lr %.2e\n", step + 1, loss,
                  val_loss(), lr_at(step, schedule));
  }
  std::printf("  %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "lesson 06: %s\n", e.what());
  return 1;
}
