// glassbox info: parameter count, training FLOPs per token and a memory estimate for a model shape,
// and for data-parallel training the memory per rank, the communication per step, and the scaling
// to expect on W H100s.
//
//   glassbox info --model gpt2 --batch-size 4 --block-size 1024
//   glassbox info --model gpt2 --batch-size 64 --block-size 1024 --world 8 --zero-stage 1
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "llm/cli/commands.hpp"
#include "llm/cli/train_options.hpp"
#include "llm/dist/overlap_timeline.hpp"
#include "llm/model/memory.hpp"
#include "llm/train/optimizer.hpp"  // defines: parameter_arena_size

namespace llm::cli {

namespace {

struct InfoOptions {
  TrainConfig train;
  int vocab_size = 0;  // 0: the preset's, or GPT-2's 50257
  int world = 1;       // data-parallel ranks
  double bus_bandwidth =
      400;           // GB/s: NCCL's all-reduce bus bandwidth on 8 H100s over NVLink (360-480)
  double mfu = 0.4;  // model FLOP utilisation of the compute
  double peak_tflops = 989;  // H100 SXM, dense bf16, data sheet
};

// Communication per optimizer step of data-parallel training over W ranks, for a gradient (and
// parameter) buffer of S bytes, with ring algorithms (what NCCL uses within a node):
//   all-reduce      each rank sends and receives 2 (W-1)/W * S  (a reduce-scatter, then an
//   all-gather) reduce-scatter  each rank sends and receives   (W-1)/W * S all-gather      each
//   rank sends and receives   (W-1)/W * S
// ZeRO-1 replaces the all-reduce of the gradients by a reduce-scatter of the gradients plus an
// all-gather of the updated parameters: the same traffic, but each rank holds only 1/W of the
// moments. nccl-tests report "bus bandwidth" busbw = (bytes a rank moves) / time, so the time of
// one collective is (bytes moved per rank) / busbw. For 8 H100s on NVLink/NVSwitch, NCCL reaches a
// busbw of about 360-480 GB/s for large messages (small messages are latency-bound).
struct Traffic {
  double all_reduced = 0, reduce_scattered = 0, all_gathered = 0;  // bytes moved per rank and step
  double total() const { return all_reduced + reduce_scattered + all_gathered; }
};
Traffic traffic_per_step(int W, int zero_stage, double gradient_bytes) {
  const double ring = double(W - 1) / W;
  Traffic t;
  if (zero_stage == 1) {
    t.reduce_scattered = ring * gradient_bytes;
    t.all_gathered = ring * gradient_bytes;  // the parameters, in the gradients' dtype
  } else {
    t.all_reduced = 2 * ring * gradient_bytes;
  }
  return t;
}

void print_data_parallel(const InfoOptions& o, const GPTConfig& c, const MemoryEstimate& m,
                         const Backend& backend) {
  const int W = o.world, zero_stage = o.train.zero_stage;
  const int64_t N = parameter_arena_size(c);  // the flat arena, padded vocabulary rows included
  const int64_t shard = (N + W - 1) / W;      // the largest shard_range (llm/dist/comm.hpp)
  const double grad_bytes = double(N) * double(dtype_size(backend.dtype()));
  const Traffic here = traffic_per_step(W, zero_stage, grad_bytes);
  const int64_t optimizer = zero_stage == 1 ? m.optimizer / N * shard : m.optimizer;
  auto mib = [](double bytes) { return bytes / (1024.0 * 1024.0); };
  std::printf("data parallel over %d ranks, ZeRO stage %d; memory per rank:\n", W, zero_stage);
  std::printf("  parameters   %10.1f MiB (replicated)\n", mib(double(m.parameters)));
  std::printf("  gradients    %10.1f MiB (replicated)\n", mib(double(m.gradients)));
  std::printf("  AdamW m, v   %10.1f MiB (%s)\n", mib(double(optimizer)),
              zero_stage == 1 ? "sharded: 1/W of them" : "replicated");
  std::printf("  activations  %10.1f MiB\n", mib(double(m.activations)));
  std::printf("  total        %10.1f MiB\n",
              mib(double(m.parameters + m.gradients + optimizer + m.activations)));
  std::printf(
      "communication per step and rank on %s (ring algorithms; %s gradients of %lld elements):\n",
      backend.name(), dtype_name(backend.dtype()), (long long)N);
  std::printf("  all-reduced      %10.1f MiB  (gradients: 2(W-1)/W x %.1f MiB)\n",
              mib(here.all_reduced), mib(grad_bytes));
  std::printf("  reduce-scattered %10.1f MiB  (gradients: (W-1)/W x %.1f MiB)\n",
              mib(here.reduce_scattered), mib(grad_bytes));
  std::printf("  all-gathered     %10.1f MiB  (parameters: (W-1)/W x %.1f MiB)\n",
              mib(here.all_gathered), mib(grad_bytes));

  // The same step on W H100s (--device cuda: bf16 gradients, as CudaBackend keeps them, over NCCL).
  // Without overlap a step takes compute + communication. With --overlap-comm (auto: on for GPUs)
  // each bucket of gradients is reduced as soon as the backward has finished it
  // (llm/train/gradient_sync.hpp) while the backward goes on: overlap_timeline() says how much of
  // the reduction still shows. It cannot hide the last bucket, wte and wpe (wte's second term comes
  // from the embedding, the very last op: 32% of GPT-2 124M's arena), nor ZeRO-1's all-gather of
  // the parameters after the optimizer step. The scaling efficiency (throughput of W GPUs / W x
  // that of one) is compute / (compute + exposed communication).
  const double gpu_grad_bytes = double(N) * double(dtype_size(DType::bf16));
  const Traffic gpu = traffic_per_step(W, zero_stage, gpu_grad_bytes);
  const int B = o.train.batch_size, T = o.train.block_size;
  const double flops_per_rank = training_flops_per_token(c, T) * B * T * o.train.grad_accum;
  const double ms_per_flop = 1e3 / (o.peak_tflops * 1e12 * o.mfu);
  const double compute_ms = flops_per_rank * ms_per_flop;
  const double to_ms = 1e3 / (o.bus_bandwidth * 1e9);
  const double reduce_ms = (gpu.all_reduced + gpu.reduce_scattered) * to_ms;
  const double gather_ms = gpu.all_gathered * to_ms;

  // The buckets of the last micro-step's backward, in the order it finishes them.
  const GradientBuckets buckets = gpt_gradient_buckets(c, B, T, ms_per_flop, reduce_ms / double(N));
  const double embeddings = buckets.elements.back();  // wte and wpe
  const OverlapTimeline timeline = overlap_timeline(buckets.compute_ms, buckets.comm_ms);
  const bool overlap = o.train.overlaps_comm(/*on_gpu=*/true);
  const double exposed_ms = (overlap ? timeline.exposed_ms() : reduce_ms) + gather_ms;

  std::printf(
      "expected on %d H100s (--device cuda: bf16 gradients over NCCL; B=%d, T=%d, grad_accum=%d "
      "per rank):\n",
      W, B, T, o.train.grad_accum);
  std::printf(
      "  compute        %8.2f ms per step  (%.3g FLOPs per rank at %.0f%% MFU of %.0f TFLOP/s)\n",
      compute_ms, flops_per_rank, 100 * o.mfu, o.peak_tflops);
  std::printf(
      "  communication  %8.2f ms per step  (%.1f MiB at %.0f GB/s bus bandwidth; %.2f-%.2f ms at "
      "NVLink's 480-360)\n",
      reduce_ms + gather_ms, mib(gpu.total()), o.bus_bandwidth, gpu.total() / 480e9 * 1e3,
      gpu.total() / 360e9 * 1e3);
  if (overlap) {
    std::printf(
        "  exposed        %8.2f ms per step  (%.2f ms hidden behind the backward; wte and wpe "
        "(%.0f%%)%s are not)\n",
        exposed_ms, reduce_ms + gather_ms - exposed_ms, 100 * embeddings / double(N),
        zero_stage == 1 ? " and the all-gather" : "");
  }
  std::printf("  efficiency     %8.1f %%           (compute / (compute + %s))\n",
              100 * compute_ms / (compute_ms + exposed_ms),
              overlap ? "exposed communication" : "communication: --overlap-comm false");
}

void print_info(const InfoOptions& o) {
  o.train.check_ranges();
  // The vocabulary: --vocab-size, else the preset's, else GPT-2's.
  const int V = o.vocab_size > 0
                    ? o.vocab_size
                    : (o.train.model.empty() ? 50257 : model_preset(o.train.model).vocab_size);
  const GPTConfig c = o.train.model_config(V);
  const int B = o.train.batch_size, T = o.train.block_size;
  std::unique_ptr<Backend> backend = make_backend(o.train.device);
  const MemoryEstimate m = estimate_memory(c, B, T, *backend);
  const double flops = training_flops_per_token(c, T);
  auto mib = [](int64_t bytes) { return double(bytes) / (1024.0 * 1024.0); };
  std::printf(
      "model          %d layers, %d heads, %d channels, max_seq_len %d, vocab %d (padded %d)\n",
      c.n_layer, c.n_head, c.n_embd, c.max_seq_len, c.vocab_size, c.padded_vocab_size());
  std::printf(
      "architecture   %s (eps %g), %s positions%s, %s MLP of %d, %d key/value heads, %s "
      "head, %s%s\n",
      c.norm.c_str(), c.norm_eps, c.position.c_str(),
      c.rope() ? (" (theta " + std::to_string(int64_t(c.rope_frequencies.theta)) + ")").c_str()
               : "",
      c.mlp.c_str(), c.hidden_size(), c.kv_heads(), c.tie_embeddings ? "tied" : "untied",
      c.bias ? "biases" : "no biases", c.qk_norm ? ", qk-norm" : "");
  std::printf("parameters     %lld (%.2fM; the tied head counted once)\n",
              (long long)count_parameters(c), double(count_parameters(c)) / 1e6);
  std::printf(
      "FLOPs/token    %.3g for training at T=%d (6N + 12*L*C*T; forward alone is a third)\n", flops,
      T);
  std::printf("FLOPs/step     %.3g for B=%d, T=%d, grad_accum=%d\n",
              flops * B * T * o.train.grad_accum, B, T, o.train.grad_accum);
  std::printf("memory on %s (%s weights, %s optimizer state), B=%d, T=%d:\n", backend->name(),
              dtype_name(backend->dtype()), dtype_name(backend->master_dtype()), B, T);
  std::printf("  parameters   %10.1f MiB\n", mib(m.parameters));
  std::printf("  gradients    %10.1f MiB\n", mib(m.gradients));
  std::printf("  AdamW m, v   %10.1f MiB\n", mib(m.optimizer));
  std::printf("  activations  %10.1f MiB (saved for the backward, and their gradients)\n",
              mib(m.activations));
  std::printf("  total        %10.1f MiB\n", mib(m.total()));
  if (o.world > 1 || o.train.zero_stage != 0) print_data_parallel(o, c, m, *backend);
}

}  // namespace

void register_info(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* cmd =
      app.add_subcommand("info", "Parameters, FLOPs per token and memory for a model and batch");
  add_config_file_option(cmd);
  add_train_options(cmd, o->train);
  cmd->add_option("--vocab-size", o->vocab_size,
                  "Vocabulary size V (0: the --model preset's, else GPT-2's 50257)")
      ->capture_default_str();
  cmd->add_option("--world", o->world,
                  "Data-parallel ranks: print memory per rank and communication per step")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--bus-bandwidth", o->bus_bandwidth,
                  "GB/s of NCCL all-reduce bus bandwidth for the --world estimate (8 H100s, "
                  "NVLink: 360-480)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--mfu", o->mfu, "Model FLOP utilisation of the compute for the --world estimate")
      ->check(CLI::Range(0.01, 1.0))
      ->capture_default_str();
  cmd->add_option("--peak-tflops", o->peak_tflops,
                  "Peak dense bf16 TFLOP/s of one GPU (H100 SXM: 989)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->callback([o] { print_info(*o); });
}

}  // namespace llm::cli
