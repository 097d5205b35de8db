#include "llm/train/train_config.hpp"

#include <cmath>

#include "llm/core/error.hpp"

namespace llm {

GPTConfig TrainConfig::model_config(int vocab_size) const {
  GPTConfig c;
  if (!model.empty()) {
    c = model_preset(model);  // its shape and architecture switches
  } else {
    c.n_layer = n_layer;
    c.n_head = n_head;
    c.n_embd = n_embd;
    c.bias = bias;
    c.norm = norm;
    c.norm_eps = norm_eps;
    c.position = position;
    c.rope_frequencies.theta = rope_theta;
    c.rope_frequencies.llama3 = rope_scaling == "llama3";
    c.rope_frequencies.factor = rope_scaling_factor;
    c.rope_frequencies.low_freq_factor = rope_low_freq_factor;
    c.rope_frequencies.high_freq_factor = rope_high_freq_factor;
    c.rope_frequencies.original_max_position_embeddings = rope_original_max_position;
    c.mlp = mlp;
    c.mlp_hidden = mlp_hidden;
    c.n_kv_head = n_kv_head;
    c.tie_embeddings = tie_embeddings;
    c.qk_norm = qk_norm;
  }
  c.max_seq_len = max_seq_len > 0 ? max_seq_len : (model.empty() ? block_size : c.max_seq_len);
  c.vocab_size = vocab_size;
  c.validate();
  check(block_size <= c.max_seq_len, "--block-size " + std::to_string(block_size) +
                                         " exceeds the model's max_seq_len " +
                                         std::to_string(c.max_seq_len));
  return c;
}

void TrainConfig::validate() const {
  check(!train_data.empty(), "--train-data is required (token shards made by `glassbox tokenize`)");
  check(!val_data.empty(), "--val-data is required (token shards made by `glassbox tokenize`)");
  check_ranges();
}

void TrainConfig::check_ranges() const {
  check(data_sampling == "sequential" || data_sampling == "random",
        "--data-sampling must be sequential or random (got '" + data_sampling + "')");
  check(rope_scaling == "none" || rope_scaling == "llama3",
        "--rope-scaling must be none or llama3 (got '" + rope_scaling + "')");
  check(batch_size >= 1, "--batch-size must be at least 1");
  check(grad_accum >= 1, "--grad-accum must be at least 1");
  check(block_size >= 1, "--block-size must be at least 1");
  check(max_steps >= 1, "--max-steps must be at least 1");
  check(max_seq_len >= 0, "--max-seq-len must not be negative (0: --block-size)");
  // NaN fails every comparison, so each of these checks refuses it too.
  check(learning_rate > 0 && std::isfinite(learning_rate),
        "--learning-rate must be a positive number");
  check(min_lr >= 0 && min_lr <= learning_rate, "--min-lr must lie in [0, learning-rate]");
  check(warmup_steps >= 0, "--warmup-steps must not be negative");
  check(lr_decay_steps >= 0, "--lr-decay-steps must not be negative (0: --max-steps)");
  check(beta1 >= 0 && beta1 < 1, "--beta1 must lie in [0, 1)");
  check(beta2 >= 0 && beta2 < 1, "--beta2 must lie in [0, 1)");
  check(eps > 0 && std::isfinite(eps), "--eps must be a positive number");
  check(weight_decay >= 0 && std::isfinite(weight_decay), "--weight-decay must not be negative");
  check(grad_clip >= 0 && std::isfinite(grad_clip), "--grad-clip must not be negative");
  check(optimizer == "adamw" || optimizer == "muon",
        "--optimizer must be adamw or muon (got '" + optimizer + "')");
  check(muon_learning_rate > 0 && std::isfinite(muon_learning_rate),
        "--muon-learning-rate must be a positive number");
  check(muon_momentum >= 0 && muon_momentum < 1, "--muon-momentum must lie in [0, 1)");
  check(muon_ns_steps >= 1 && muon_ns_steps <= 100, "--muon-ns-steps must lie in [1, 100]");
  check(embedding_learning_rate >= 0 && std::isfinite(embedding_learning_rate) &&
            gain_bias_learning_rate >= 0 && std::isfinite(gain_bias_learning_rate),
        "--embedding-learning-rate and --gain-bias-learning-rate must not be negative (0: "
        "--learning-rate)");
  check(zero_stage == 0 || zero_stage == 1,
        "--zero-stage must be 0 or 1 (got " + std::to_string(zero_stage) + ")");
  check(comm_timeout > 0, "--comm-timeout must be positive (seconds)");
  check(comm == "auto" || comm == "nccl" || comm == "mpi",
        "--comm must be auto, nccl or mpi (got '" + comm + "')");
  check(overlap_comm == "auto" || overlap_comm == "true" || overlap_comm == "false",
        "--overlap-comm must be auto, true or false (got '" + overlap_comm + "')");
  check(eval_interval >= 1 && log_interval >= 1 && checkpoint_interval >= 1,
        "--eval-interval, --log-interval and --checkpoint-interval must be at least 1");
  check(eval_batches >= 0, "--eval-batches must not be negative");
  check(layer_stats_interval >= 0 && snapshot_interval >= 0,
        "--layer-stats-interval and --snapshot-interval must not be negative (0: off)");
  check(hellaswag_interval >= 0, "--hellaswag-interval must not be negative");
  check(hellaswag_interval == 0 || !hellaswag_data.empty(),
        "--hellaswag-interval needs --hellaswag-data (a JSONL file)");
  check(!out_dir.empty(), "--out-dir must not be empty");
}

bool TrainConfig::overlaps_comm(bool on_gpu) const {
  return overlap_comm == "true" || (overlap_comm == "auto" && on_gpu);
}

}  // namespace llm
