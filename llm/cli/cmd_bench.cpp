// glassbox bench: time training steps (forward + backward + AdamW) of a model on random tokens.
//
//   glassbox bench --config experiments/shakespeare_char/config.toml --steps 50
//   glassbox bench --model gpt2 --batch-size 4 --block-size 64 --steps 3
//   glassbox bench --device cuda --model gpt2 --batch-size 16 --block-size 1024 --profile
//
// It prints ms per step, tokens/s, and the model FLOP utilisation (MFU): the FLOPs a step must do,
// 6 N + 12 L C T per token (N: the parameters in matmuls; the second term is attention's q k^T and
// p v over T keys, forward and backward), divided by the time and the device's peak (the data
// sheet's dense bf16 figure on a GPU, --peak-tflops otherwise). --profile adds a per-op table.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "llm/backend/profiling_backend.hpp"
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
  bool profile = false;
  double peak_tflops = 0;  // 0: the backend's own figure (GPUs), else unknown
};

void run_bench(const BenchOptions& o) {
  const int V = o.vocab_size > 0 ? o.vocab_size : (o.train.model.empty() ? 65 : 50257);
  o.train.check_ranges();
  const GPTConfig c = o.train.model_config(V);
  const int B = o.train.batch_size, T = o.train.block_size;
  std::unique_ptr<Backend> device = make_backend(o.train.device);
  // With --profile every op goes through a ProfilingBackend that times it (and waits for it).
  std::optional<ProfilingBackend> profiler;
  if (o.profile) profiler.emplace(*device);
  Backend& backend = profiler ? static_cast<Backend&>(*profiler) : *device;
  GPT model(c, backend);
  model.init_weights(o.train.seed);
  AdamW optimizer(model, {o.train.beta1, o.train.beta2, o.train.eps, o.train.weight_decay});

  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> token(0, V - 1);
  std::vector<int32_t> inputs(size_t(B) * T), targets(size_t(B) * T);
  for (auto& t : inputs) t = token(rng);
  for (auto& t : targets) t = token(rng);

  std::printf(
      "bench: %d layers, %d heads, %d channels, B=%d, T=%d, V=%d on %s (%s), %d steps after %d "
      "warm-up\n",
      c.n_layer, c.n_head, c.n_embd, B, T, V, device->name(), device->description().c_str(),
      o.steps, o.warmup);
  std::fflush(stdout);
  std::vector<double> ms;
  for (int step = 0; step < o.warmup + o.steps; step++) {
    if (profiler && step == o.warmup) profiler->reset();
    const auto t0 = std::chrono::steady_clock::now();
    model.zero_grad();
    model.forward_backward(inputs.data(), targets.data(), B, T);
    const double norm = global_grad_norm(model);
    optimizer.step(1e-4f, norm > 1.0 ? float(1.0 / norm) : 1.0f);
    device->synchronize();
    const double elapsed =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (step >= o.warmup) ms.push_back(elapsed);
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  const double flops_per_token = training_flops_per_token(c, T);
  const double flops = flops_per_token * B * T;
  std::printf("glassbox ms/step: %.2f (median; min %.2f, max %.2f), %.0f tokens/s, %.1f GFLOP/s\n",
              median, ms.front(), ms.back(), B * T / (median / 1e3), flops / (median / 1e3) / 1e9);
  const double peak = o.peak_tflops > 0 ? o.peak_tflops * 1e12 : device->peak_flops();
  if (peak > 0) {
    std::printf(
        "MFU: %.1f%% (%.3g FLOP per token = 6 N + 12 L C T, N = %.1fM; peak %.1f TFLOP/s%s)\n",
        100 * flops / (median / 1e3) / peak, flops_per_token,
        (flops_per_token - 12.0 * c.n_layer * c.n_embd * T) / 6 / 1e6, peak / 1e12,
        o.peak_tflops > 0 ? ", --peak-tflops" : ", dense bf16, data sheet");
  } else {
    std::printf("MFU: pass --peak-tflops (this backend does not know its peak)\n");
  }
  if (profiler) {
    const double copy_gbps = device->device() == Device::cuda ? measure_copy_bandwidth(*device) : 0;
    if (copy_gbps > 0)
      std::printf("device copy bandwidth: %.0f GB/s (read + write, 1 GiB buffers)\n", copy_gbps);
    std::printf(
        "per op (each op waited for, so the total exceeds a step by the launch latencies):\n");
    print_profile(profiler->profile(), o.steps, copy_gbps);
  }
}

}  // namespace

void register_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Time training steps of a model on random tokens");
  add_config_file_option(cmd);
  add_train_options(cmd, o->train);
  cmd->add_option("--vocab-size", o->vocab_size,
                  "Vocabulary size (0: 65 for custom shapes, 50257 for presets)");
  cmd->add_option("--steps", o->steps, "Timed steps")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed steps first")->capture_default_str();
  cmd->add_flag("--profile", o->profile, "Time every op and print a per-op table (GB/s, TFLOP/s)");
  cmd->add_option(
      "--peak-tflops", o->peak_tflops,
      "Peak FLOP/s for MFU, in TFLOP/s (default: the GPU's data-sheet dense bf16 figure)");
  cmd->callback([o] { run_bench(*o); });
}

}  // namespace llm::cli
