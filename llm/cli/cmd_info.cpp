// glassbox info: parameter count, training FLOPs per token and a memory estimate for a model shape.
//
//   glassbox info --model gpt2 --batch-size 4 --block-size 1024
#include <cstdio>
#include <memory>
#include <string>

#include "llm/cli/commands.hpp"
#include "llm/cli/train_options.hpp"
#include "llm/model/memory.hpp"

namespace llm::cli {

namespace {

struct InfoOptions {
  TrainConfig train;
  int vocab_size = 50257;
};

void print_info(const InfoOptions& o) {
  const GPTConfig c = o.train.model_config(o.vocab_size);
  const int B = o.train.batch_size, T = o.train.block_size;
  std::unique_ptr<Backend> backend = make_backend(o.train.device);
  const MemoryEstimate m = estimate_memory(c, B, T, *backend);
  const double flops = training_flops_per_token(c, T);
  auto mib = [](int64_t bytes) { return double(bytes) / (1024.0 * 1024.0); };
  std::printf("model          %d layers, %d heads, %d channels, max_seq_len %d, vocab %d (padded %d)\n",
              c.n_layer, c.n_head, c.n_embd, c.max_seq_len, c.vocab_size, c.padded_vocab_size);
  std::printf("parameters     %lld (%.2fM; the tied head counted once)\n",
              (long long)count_parameters(c), double(count_parameters(c)) / 1e6);
  std::printf("FLOPs/token    %.3g for training at T=%d (6N + 12*L*C*T; forward alone is a third)\n", flops, T);
  std::printf("FLOPs/step     %.3g for B=%d, T=%d, grad_accum=%d\n",
              flops * B * T * o.train.grad_accum, B, T, o.train.grad_accum);
  std::printf("memory on %s (%s weights, %s optimizer state), B=%d, T=%d:\n", backend->name(),
              dtype_name(backend->dtype()), dtype_name(backend->master_dtype()), B, T);
  std::printf("  parameters   %10.1f MiB\n", mib(m.parameters));
  std::printf("  gradients    %10.1f MiB\n", mib(m.gradients));
  std::printf("  AdamW m, v   %10.1f MiB\n", mib(m.optimizer));
  std::printf("  activations  %10.1f MiB (saved for the backward, and their gradients)\n", mib(m.activations));
  std::printf("  total        %10.1f MiB\n", mib(m.total()));
}

}  // namespace

void register_info(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Parameters, FLOPs per token and memory for a model and batch");
  add_config_file_option(cmd);
  add_train_options(cmd, o->train);
  cmd->add_option("--vocab-size", o->vocab_size, "Vocabulary size V")->capture_default_str();
  cmd->callback([o] { print_info(*o); });
}

}  // namespace llm::cli
