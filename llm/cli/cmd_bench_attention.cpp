// glassbox bench-attention: TFLOP/s of the backend's causal attention, forward and
// forward+backward, over sequence lengths and head sizes, in the layout FlashAttention's papers use
// (16k tokens per batch, 2048 channels, so B = 16384 / T and NH = 2048 / hs), so the figures sit
// beside theirs.
//
//   glassbox bench-attention --device cuda                      T = 1k..8k, head sizes 64 and 128
//   glassbox bench-attention --seq-lens 128,256 --tokens 2048    the CPU reference, small shapes
//
// FLOPs as FlashAttention counts them: the forward's two products q k^T and p v cost 4 T^2 hs per
// head, halved by the causal mask; the backward does 2.5 times the forward's work (five products).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "llm/backend/host_copy.hpp"
#include "llm/cli/commands.hpp"
#include "llm/core/arena.hpp"
#include "llm/core/clock.hpp"
#include "llm/core/tensor_kind.hpp"

namespace llm::cli {

namespace {

struct BenchAttentionOptions {
  std::string device = "cpu";
  std::string seq_lens;  // empty: 1024,2048,4096,8192 on a GPU; 128,256,512 on the CPU
  std::string head_sizes = "64,128";
  int64_t tokens = 0;       // B * T; 0: 16384 on a GPU, 2048 on the CPU
  int64_t channels = 2048;  // NH * hs
  int steps = 10;
};

// The tensors of one attention call and its backward, statistics in the backend's master dtype.
struct AttentionTensors {
  int B = 0, T = 0, NH = 0, C = 0;
  Shape state_shape;
  Tensor qkv, out, state, dout, dqkv, scratch;
  template <typename Fn> void visit(Fn&& fn) {
    using K = TensorKind;
    visit_entry(fn, "qkv", qkv, Shape{B, T, 3 * C}, K::value);
    visit_entry(fn, "out", out, Shape{B, T, C}, K::value);
    visit_entry(fn, "state", state, state_shape, K::statistic);
    visit_entry(fn, "dout", dout, Shape{B, T, C}, K::value);
    visit_entry(fn, "dqkv", dqkv, Shape{B, T, 3 * C}, K::value);
    visit_entry(fn, "scratch", scratch, state_shape, K::statistic);
  }
};

std::vector<int> parse_list(const std::string& text, const char* flag) {
  std::vector<int> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    int value = 0;
    try {
      value = std::stoi(item, &used);
    } catch (const std::exception&) { used = 0; }
    check(used > 0 && used == item.size(),
          std::string(flag) + ": '" + item + "' is not a number (expected e.g. 1024,2048)");
    values.push_back(value);
    check(values.back() > 0, std::string(flag) + ": values must be positive");
  }
  check(!values.empty(), std::string(flag) + " is empty");
  return values;
}

void fill_normal(Backend& backend, Tensor t, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> values(size_t(t.numel()));
  for (double& v : values) v = normal(rng);
  tensor_from_host_f64(backend, t, values);
}

double seconds_per_call(Backend& backend, int steps, const std::function<void()>& call) {
  call();  // warm-up (and first-call set-up such as scratch sizing)
  backend.synchronize();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; i++) call();
  backend.synchronize();
  return seconds_since(start) / steps;
}

void run_bench_attention(const BenchAttentionOptions& o) {
  std::unique_ptr<Backend> backend = make_backend(o.device);
  const bool gpu = backend->device() == Device::cuda;
  const std::vector<int> seq_lens =
      parse_list(o.seq_lens.empty() ? (gpu ? "1024,2048,4096,8192" : "128,256,512") : o.seq_lens,
                 "--seq-lens");
  const std::vector<int> head_sizes = parse_list(o.head_sizes, "--head-sizes");
  const int64_t tokens = o.tokens > 0 ? o.tokens : (gpu ? 16384 : 2048);
  std::printf(
      "bench-attention on %s (%s): causal, %lld tokens per batch, %lld channels, %d timed calls\n",
      backend->name(), backend->description().c_str(), (long long)tokens, (long long)o.channels,
      o.steps);
  std::printf("%6s %4s %4s %4s %12s %14s %12s %14s\n", "T", "hs", "B", "NH", "fwd ms",
              "fwd TFLOP/s", "fwd+bwd ms", "fwd+bwd TFLOP/s");
  for (int hs : head_sizes) {
    for (int T : seq_lens) {
      check(o.channels % hs == 0, "--channels " + std::to_string(o.channels) +
                                      " is not a multiple of head size " + std::to_string(hs));
      AttentionTensors t;
      t.T = T;
      t.B = int(std::max<int64_t>(1, tokens / T));
      t.NH = int(o.channels / hs);
      t.C = int(o.channels);
      t.state_shape = backend->attention_state_shape(t.B, T, t.NH);
      Arena memory;
      const DType values = backend->dtype(), statistics = backend->master_dtype();
      memory.carve(*backend, t, [&](TensorKind kind) {
        return kind == TensorKind::statistic ? statistics : values;
      });
      fill_normal(*backend, t.qkv, 1);
      fill_normal(*backend, t.dout, 2);
      const double forward = seconds_per_call(
          *backend, o.steps, [&] { backend->attention_forward(t.out, t.state, t.qkv, t.NH); });
      const double forward_backward = seconds_per_call(*backend, o.steps, [&] {
        backend->attention_forward(t.out, t.state, t.qkv, t.NH);
        backend->attention_backward(t.dqkv, t.scratch, t.dout, t.qkv, t.out, t.state, t.NH);
      });
      // 4 T^2 hs per head for q k^T and p v, halved by the causal mask; backward = 2.5 x forward.
      const double flops = 4.0 * double(T) * T * hs * t.NH * t.B / 2;
      std::printf("%6d %4d %4d %4d %12.3f %14.1f %12.3f %14.1f\n", T, hs, t.B, t.NH, forward * 1e3,
                  flops / forward / 1e12, forward_backward * 1e3,
                  3.5 * flops / forward_backward / 1e12);
      std::fflush(stdout);
    }
  }
}

}  // namespace

void register_bench_attention(CLI::App& app) {
  auto o = std::make_shared<BenchAttentionOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench-attention",
      "Time causal attention forward and backward (TFLOP/s) over sequence lengths");
  cmd->add_option("--device", o->device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--seq-lens", o->seq_lens,
                  "Comma-separated T (default: 1024,2048,4096,8192 on a GPU)");
  cmd->add_option("--head-sizes", o->head_sizes, "Comma-separated head sizes")
      ->capture_default_str();
  cmd->add_option("--tokens", o->tokens,
                  "B * T per call (default: 16384 on a GPU, 2048 on the CPU)");
  cmd->add_option("--channels", o->channels, "NH * hs")->capture_default_str();
  cmd->add_option("--steps", o->steps, "Timed calls per measurement")->capture_default_str();
  cmd->callback([o] { run_bench_attention(*o); });
}

}  // namespace llm::cli
