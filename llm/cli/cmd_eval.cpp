// glassbox eval: the mean loss of any checkpoint on any token shards, printed and written as JSON.
//
//   glassbox eval --ckpt runs/shakespeare_char/checkpoint --data
//   data/cache/shakespeare_char/val_*.bin
// With --task hellaswag, the multiple-choice accuracy on a HellaSwag JSONL file
// (eval_hellaswag.hpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "llm/cli/commands.hpp"
#include "llm/cli/eval_hellaswag.hpp"
#include "llm/core/clock.hpp"
#include "llm/data/dataloader.hpp"
#include "llm/data/shard_tokenizer.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/train/evaluate.hpp"

namespace llm::cli {

namespace {

struct EvalOptions {
  std::string ckpt, data, out, device = "cpu";
  int batch_size = 8;
  int block_size = 0;
  int64_t max_tokens = 0;
  std::string task = "loss";
  HellaSwagEvalOptions hellaswag;  // its own flags; the shared ones are copied in
};

void run_eval(const EvalOptions& o) {
  const GPTConfig config = read_checkpoint_config(o.ckpt);
  const int T = o.block_size > 0 ? o.block_size : std::min(config.max_seq_len, 1024);
  check(T <= config.max_seq_len, "--block-size " + std::to_string(T) +
                                     " exceeds the model's max_seq_len " +
                                     std::to_string(config.max_seq_len));
  std::unique_ptr<Backend> backend = make_backend(o.device);
  GPT model(config, *backend);
  const auto load_start = std::chrono::steady_clock::now();
  load_model_weights(o.ckpt, model);
  const double load_seconds = seconds_since(load_start);
  std::fprintf(stderr, "eval: %s\n", describe_load(o.ckpt, load_seconds).c_str());
  DataLoader loader(o.data, o.batch_size, T);
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer_if_saved(o.ckpt);
  check_shards_tokenizer(loader.shards(), tokenizer.get(), config.vocab_size,
                         "the model's tokenizer (" + o.ckpt + ")");
  const int64_t batches =
      o.max_tokens > 0 ? std::max<int64_t>(1, o.max_tokens / loader.batch_tokens()) : 0;
  const EvalResult r = evaluate_loss(model, loader, batches);
  const nlohmann::json j = {
      {"checkpoint", o.ckpt},           {"data", o.data},     {"loss", r.loss},
      {"perplexity", std::exp(r.loss)}, {"tokens", r.tokens}, {"batches", r.batches},
      {"batch_size", o.batch_size},     {"block_size", T}};
  std::printf("loss %.4f (perplexity %.2f) over %lld tokens\n", r.loss, std::exp(r.loss),
              (long long)r.tokens);
  if (!o.out.empty()) {
    std::ofstream out(o.out);
    out << j.dump(2) << "\n";
    check(bool(out), "--out: cannot write " + o.out);
  }
  std::printf("%s\n", j.dump().c_str());
}

}  // namespace

void register_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Mean loss of a checkpoint on token shards, or its HellaSwag accuracy");
  cmd->add_option("--ckpt", o->ckpt, "Checkpoint directory")->required();
  cmd->add_option("--data", o->data,
                  "Token shards: a directory or a pattern like DIR/val_*.bin (--task hellaswag: a "
                  "JSONL file)")
      ->required();
  cmd->add_option("--task", o->task, "loss (mean loss on token shards) or hellaswag")
      ->check(CLI::IsMember({"loss", "hellaswag"}))
      ->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "Sequences per batch")->capture_default_str();
  cmd->add_option("--block-size", o->block_size,
                  "Tokens per sequence (0: the model's context, at most 1024)")
      ->capture_default_str();
  cmd->add_option("--max-tokens", o->max_tokens, "Token budget (0: one pass over all shards)")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "Also write the result as JSON to this file");
  cmd->add_option("--device", o->device, "cpu or cuda")->capture_default_str();
  HellaSwagEvalOptions& h = o->hellaswag;
  cmd->add_option("--predictions", h.predictions,
                  "hellaswag: write one JSON line of scores per example here");
  cmd->add_option("--limit", h.limit, "hellaswag: score the first N examples (0: all)")
      ->capture_default_str();
  cmd->add_option("--tokenizer", h.tokenizer,
                  "hellaswag: byte or gpt2 instead of the checkpoint's tokenizer")
      ->check(CLI::IsMember({"byte", "gpt2"}));
  cmd->add_option("--encoder", h.encoder, "GPT-2 encoder.json (--tokenizer gpt2)")
      ->capture_default_str();
  cmd->add_option("--vocab-bpe", h.vocab_bpe, "GPT-2 vocab.bpe (--tokenizer gpt2)")
      ->capture_default_str();
  cmd->callback([o] {
    if (o->task == "loss") return run_eval(*o);
    o->hellaswag.ckpt = o->ckpt;
    o->hellaswag.data = o->data;
    o->hellaswag.out = o->out;
    o->hellaswag.device = o->device;
    run_hellaswag_eval(o->hellaswag);
  });
}

}  // namespace llm::cli
