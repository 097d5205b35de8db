// glassbox bench: time training steps (forward + backward + AdamW) of a model on random tokens.
//
//   glassbox bench --config experiments/shakespeare_char/config.toml --steps 50
//   glassbox bench --model gpt2 --batch-size 4 --block-size 64 --steps 3
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "llm/cli/commands.hpp"
#include "llm/cli/train_options.hpp"
#include "llm/train/optimizer.hpp"

namespace llm::cli {

namespace {

struct BenchOptions {
  TrainConfig train;
  int vocab_size = 0;  // 0: 65 (tinyshakespeare's characters) for custom shapes, 50257 for presets
  int steps = 20;
  int warmup = 2;
};

void run_bench(const BenchOptions& o) {
  const int V = o.vocab_size > 0 ? o.vocab_size : (o.train.model.empty() ? 65 : 50257);
  const GPTConfig c = o.train.model_config(V);
  const int B = o.train.batch_size, T = o.train.block_size;
  std::unique_ptr<Backend> backend = make_backend(o.train.device);
  GPT model(c, *backend);
  model.init_weights(o.train.seed);
  AdamW optimizer(model, {o.train.beta1, o.train.beta2, o.train.eps, o.train.weight_decay});

  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> token(0, V - 1);
  std::vector<int32_t> inputs(size_t(B) * T), targets(size_t(B) * T);
  for (auto& t : inputs) t = token(rng);
  for (auto& t : targets) t = token(rng);

  std::printf("bench: %d layers, %d heads, %d channels, B=%d, T=%d, V=%d on %s, %d steps after %d warm-up\n",
              c.n_layer, c.n_head, c.n_embd, B, T, V, backend->name(), o.steps, o.warmup);
  std::vector<double> ms;
  for (int step = 0; step < o.warmup + o.steps; step++) {
    const auto t0 = std::chrono::steady_clock::now();
    model.zero_grad();
    model.forward_backward(inputs.data(), targets.data(), B, T);
    const double norm = global_grad_norm(model);
    optimizer.step(1e-4f, norm > 1.0 ? float(1.0 / norm) : 1.0f);
    const double elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (step >= o.warmup) ms.push_back(elapsed);
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  const double flops = training_flops_per_token(c, T) * B * T;
  std::printf("glassbox ms/step: %.2f (median; min %.2f, max %.2f), %.0f tokens/s, %.1f GFLOP/s\n", median,
              ms.front(), ms.back(), B * T / (median / 1e3), flops / (median / 1e3) / 1e9);
}

}  // namespace

void register_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Time training steps of a model on random tokens");
  add_config_file_option(cmd);
  add_train_options(cmd, o->train);
  cmd->add_option("--vocab-size", o->vocab_size, "Vocabulary size (0: 65 for custom shapes, 50257 for presets)");
  cmd->add_option("--steps", o->steps, "Timed steps")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed steps first")->capture_default_str();
  cmd->callback([o] { run_bench(*o); });
}

}  // namespace llm::cli
