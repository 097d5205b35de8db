#include "llm/cli/train_options.hpp"

#include <string>
#include <type_traits>

#include "llm/core/error.hpp"
#include "llm/core/printable.hpp"
#include "llm/io/toml_file.hpp"

namespace llm::cli {

namespace {

// Registers "--name-with-dashes,--name_with_underscores" bound to `value`.
template <typename T>
CLI::Option* add(CLI::App* cmd, const std::string& dashed, T& value, const std::string& help) {
  std::string underscored = dashed;
  for (char& ch : underscored)
    if (ch == '-') ch = '_';
  const std::string names =
      underscored == dashed ? "--" + dashed : "--" + dashed + ",--" + underscored;
  CLI::Option* option = cmd->add_option(names, value, help)->capture_default_str();
  // CLI11 reads "-1" into an unsigned field as 2^64 - 1; a seed (the one unsigned setting) must not
  // wrap.
  if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool>) {
    option->check(CLI::Validator(
        [](std::string& text) {
          return text.find('-') == std::string::npos ? "" : "expected a non-negative integer";
        },
        "UINT"));
  }
  return option;
}

CLI::App* find_subcommand(CLI::App& app, const std::string& name) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    if (sub->get_name() == name) return sub;
  return nullptr;
}

void add_model_options(CLI::App* cmd, TrainConfig& c) {
  const char* model = "Model";
  add(cmd, "model", c.model,
      "Preset: gpt2, gpt2-medium, gpt2-large, gpt2-xl, smollm2-135m, llama-3.2-1b, llama-3-8b "
      "(empty: the shape and switches below)")
      ->group(model);
  add(cmd, "n-layer", c.n_layer, "Transformer blocks L")->group(model);
  add(cmd, "n-head", c.n_head, "Attention heads NH")->group(model);
  add(cmd, "n-embd", c.n_embd, "Channels C")->group(model);
  add(cmd, "block-size", c.block_size, "Tokens per training sequence T")->group(model);
  add(cmd, "max-seq-len", c.max_seq_len, "Longest context (0: block-size; presets: their own)")
      ->group(model);
  add(cmd, "init-from", c.init_from, "Start from this checkpoint's weights")->group(model);
  add(cmd, "bias", c.bias,
      "false: no biases in the linear layers; a layernorm's bias stays 0 and is not trained "
      "(nanoGPT's bias=False)")
      ->group(model);
  add(cmd, "norm", c.norm, "layernorm (GPT-2) or rmsnorm (Llama)")->group(model);
  add(cmd, "norm-eps", c.norm_eps, "rmsnorm's epsilon (layernorm's is 1e-5)")->group(model);
  add(cmd, "position", c.position, "learned positions (GPT-2) or rope (Llama)")->group(model);
  add(cmd, "rope-theta", c.rope_theta, "RoPE base")->group(model);
  add(cmd, "rope-scaling", c.rope_scaling,
      "none, or llama3: Llama 3.1's slower low RoPE frequencies (the four settings below)")
      ->group(model);
  add(cmd, "rope-scaling-factor", c.rope_scaling_factor,
      "llama3: how much slower the slow pairs turn")
      ->group(model);
  add(cmd, "rope-low-freq-factor", c.rope_low_freq_factor,
      "llama3: wavelengths beyond original / this are slowed fully")
      ->group(model);
  add(cmd, "rope-high-freq-factor", c.rope_high_freq_factor,
      "llama3: wavelengths below original / this are kept")
      ->group(model);
  add(cmd, "rope-original-max-position", c.rope_original_max_position,
      "llama3: the context length N the scaling is relative to")
      ->group(model);
  add(cmd, "mlp", c.mlp, "gelu (GPT-2), swiglu (Llama) or relu2 (max(x, 0)^2: nanochat)")
      ->group(model);
  add(cmd, "mlp-hidden", c.mlp_hidden, "MLP inner width (0: 4 n_embd; required by swiglu)")
      ->group(model);
  add(cmd, "n-kv-head", c.n_kv_head, "Key/value heads (0: n_head; fewer: grouped-query attention)")
      ->group(model);
  add(cmd, "tie-embeddings", c.tie_embeddings, "The output head is the token embedding wte")
      ->group(model);
  add(cmd, "qk-norm", c.qk_norm,
      "RMSNorm on each query and key head before rope, gains shared by the heads (OLMo 2, Qwen3)")
      ->group(model);
}

void add_data_options(CLI::App* cmd, TrainConfig& c) {
  const char* data = "Data";
  add(cmd, "train-data", c.train_data,
      "Training shards: a directory or a pattern like DIR/train_*.bin")
      ->group(data);
  add(cmd, "val-data", c.val_data, "Validation shards")->group(data);
  add(cmd, "data-sampling", c.data_sampling,
      "sequential: consecutive windows (llm.c); random: random windows (nanoGPT)")
      ->group(data);
}

void add_optimisation_options(CLI::App* cmd, TrainConfig& c) {
  const char* optim = "Optimisation";
  add(cmd, "batch-size", c.batch_size, "Sequences per micro-step B")->group(optim);
  add(cmd, "grad-accum", c.grad_accum, "Micro-steps per optimizer step")->group(optim);
  add(cmd, "max-steps", c.max_steps, "Optimizer steps")->group(optim);
  add(cmd, "learning-rate", c.learning_rate, "Peak learning rate")->group(optim);
  add(cmd, "min-lr", c.min_lr, "Learning rate at the end of the cosine decay")->group(optim);
  add(cmd, "warmup-steps", c.warmup_steps, "Linear warm-up steps")->group(optim);
  add(cmd, "lr-decay-steps", c.lr_decay_steps,
      "Step where the cosine reaches min-lr (0: max-steps)")
      ->group(optim);
  add(cmd, "beta1", c.beta1, "AdamW beta1")->group(optim);
  add(cmd, "beta2", c.beta2, "AdamW beta2")->group(optim);
  add(cmd, "eps", c.eps, "AdamW epsilon")->group(optim);
  add(cmd, "optimizer", c.optimizer,
      "adamw; or muon: Muon for the hidden matrices, AdamW for embeddings, gains and biases")
      ->group(optim);
  add(cmd, "muon-learning-rate", c.muon_learning_rate, "Muon: peak learning rate of the matrices")
      ->group(optim);
  add(cmd, "muon-momentum", c.muon_momentum, "Muon: Nesterov momentum")->group(optim);
  add(cmd, "muon-ns-steps", c.muon_ns_steps, "Muon: Newton-Schulz iterations per update")
      ->group(optim);
  add(cmd, "embedding-learning-rate", c.embedding_learning_rate,
      "Muon: AdamW peak learning rate of wte (the tied head) and wpe (0: --learning-rate)")
      ->group(optim);
  add(cmd, "gain-bias-learning-rate", c.gain_bias_learning_rate,
      "Muon: AdamW peak learning rate of the layernorm gains and the biases (0: --learning-rate)")
      ->group(optim);
  add(cmd, "weight-decay", c.weight_decay, "AdamW weight decay (matrices only)")->group(optim);
  add(cmd, "grad-clip", c.grad_clip, "Clip the global gradient norm to this (0: off)")
      ->group(optim);
}

void add_data_parallel_options(CLI::App* cmd, TrainConfig& c) {
  const char* dist = "Data parallel (mpirun -np N glassbox train ...)";
  add(cmd, "zero-stage", c.zero_stage,
      "0: replicated AdamW moments; 1: ZeRO-1, moments sharded over ranks")
      ->group(dist);
  add(cmd, "comm-timeout", c.comm_timeout,
      "Seconds a collective may take before the job is ended (a rank died or hangs)")
      ->group(dist);
  add(cmd, "comm", c.comm,
      "auto: with several ranks NCCL for --device cuda, MPI for cpu; nccl: NCCL even on one GPU; "
      "mpi")
      ->group(dist);
  add(cmd, "overlap-comm", c.overlap_comm,
      "true: reduce each layer's gradients while the backward goes on; false: all after it; auto: "
      "true on GPUs, false on CPUs")
      ->group(dist);
}

void add_run_options(CLI::App* cmd, TrainConfig& c) {
  const char* run = "Run";
  add(cmd, "eval-interval", c.eval_interval, "Validation loss every N steps")->group(run);
  add(cmd, "eval-batches", c.eval_batches, "Validation batches per evaluation (0: all)")
      ->group(run);
  add(cmd, "log-interval", c.log_interval, "Progress line every N steps")->group(run);
  add(cmd, "layer-stats-interval", c.layer_stats_interval,
      "Per-layer statistics in metrics.jsonl every N steps (0: off)")
      ->group(run);
  add(cmd, "checkpoint-interval", c.checkpoint_interval, "Rewrite OUT_DIR/checkpoint every N steps")
      ->group(run);
  add(cmd, "snapshot-interval", c.snapshot_interval,
      "Keep OUT_DIR/snapshots/step_N every N steps (0: off)")
      ->group(run);
  add(cmd, "hellaswag-interval", c.hellaswag_interval,
      "HellaSwag accuracy every N steps and at the end (0: off)")
      ->group(run);
  add(cmd, "hellaswag-data", c.hellaswag_data, "HellaSwag JSONL file for --hellaswag-interval")
      ->group(run);
  add(cmd, "out-dir", c.out_dir, "Run directory: metrics.jsonl, checkpoint/, snapshots/")
      ->group(run);
  add(cmd, "seed", c.seed, "Seed for the initialisation and the data order")->group(run);
  add(cmd, "device", c.device, "cpu or cuda")->group(run);
  cmd->add_flag("--resume", c.resume, "Continue OUT_DIR/checkpoint exactly where it stopped")
      ->group(run);
  cmd->add_flag(
         "--extend", c.extend,
         "With --resume and a larger --max-steps: train a run past its end (the learning rate "
         "follows the saved schedule, then stays at --min-lr)")
      ->group(run);
  add(cmd, "resume-override", c.resume_override,
      "With --resume: comma-separated settings that may differ from the checkpoint's (e.g. "
      "learning_rate,seed)")
      ->group(run);
}

}  // namespace

void add_train_options(CLI::App* cmd, TrainConfig& c) {
  add_model_options(cmd, c);
  add_data_options(cmd, c);
  add_optimisation_options(cmd, c);
  add_data_parallel_options(cmd, c);
  add_run_options(cmd, c);
}

void add_config_file_option(CLI::App* cmd) {
  // Stored but unused after parsing: expand_config_files has already turned the file into flags.
  static std::string ignored;
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--config", ignored, "TOML config file (keys as the flags, with underscores)");
}

std::vector<std::string> expand_config_files(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> expanded;
  CLI::App* subcommand = nullptr;
  size_t insert_at = 0;  // config flags go right after the subcommand's name
  for (size_t i = 0; i < args.size(); i++) {
    if (!subcommand && find_subcommand(app, args[i])) {
      subcommand = find_subcommand(app, args[i]);
      expanded.push_back(args[i]);
      insert_at = expanded.size();
      continue;
    }
    std::string path;
    if (subcommand && args[i] == "--config" && i + 1 < args.size())
      path = args[++i];
    else if (subcommand && args[i].rfind("--config=", 0) == 0)
      path = args[i].substr(9);
    else {
      expanded.push_back(args[i]);
      continue;
    }
    std::vector<TomlSetting> settings;
    try {
      settings = read_toml_settings(path);
    } catch (const Error& e) { throw Error("--config " + std::string(e.what())); }
    std::vector<std::string> flags;
    for (const TomlSetting& setting : settings) {
      const std::string flag = "--" + setting.key;
      if (subcommand->get_option_no_throw(flag) == nullptr || setting.key == "config")
        throw Error("--config " + printable(path) + ":" + std::to_string(setting.line) +
                    ": unknown key '" + printable(setting.key) + "' for glassbox " +
                    subcommand->get_name());
      if (setting.values.size() == 1) {
        flags.push_back(flag + "=" + setting.values[0]);
      } else {
        flags.push_back(flag);
        flags.insert(flags.end(), setting.values.begin(), setting.values.end());
      }
    }
    expanded.insert(expanded.begin() + long(insert_at), flags.begin(), flags.end());
    insert_at += flags.size();
  }
  return {expanded.rbegin(), expanded.rend()};
}

}  // namespace llm::cli
