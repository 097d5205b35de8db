#pragma once
// defines: llm::TrainConfig, every setting of a training run. Each field is a `glassbox train` flag
// and a key of its TOML config file (llm/cli/cmd_train.cpp binds them), and the whole struct is
// saved in train_state.json so a run can be resumed and reproduced.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "llm/model/config.hpp"

namespace llm {

struct TrainConfig {
  // ---- model ----
  std::string model;  // a preset ("gpt2", "smollm2-135m", ... see model_preset), or empty for
                      // the shape and switches below
  int n_layer = 4;
  int n_head = 4;
  int n_embd = 128;
  int block_size = 64;    // T: tokens per training sequence
  int max_seq_len = 0;    // learned positions; 0 means block_size
  std::string init_from;  // start from this checkpoint's weights instead of a fresh init
  bool bias = true;       // false: no linear biases, a layernorm's stays 0 (nanoGPT's bias=False)
  // The architecture switches of llm/model/config.hpp (GPT-2 by default; a preset sets its own).
  std::string norm = "layernorm";    // "layernorm" | "rmsnorm"
  double norm_eps = 1e-5;            // rmsnorm's epsilon
  std::string position = "learned";  // "learned" | "rope"
  double rope_theta = 10000.0;
  // Llama 3.1's slowing of the low RoPE frequencies (llm/core/rope_frequencies.hpp): "none" or
  // "llama3", with its numbers (the defaults are Llama 3.1's).
  std::string rope_scaling = "none";
  double rope_scaling_factor = 8.0;
  double rope_low_freq_factor = 1.0;
  double rope_high_freq_factor = 4.0;
  int rope_original_max_position = 8192;  // the context length the frequencies are kept for
  std::string mlp = "gelu";               // "gelu" | "swiglu" | "relu2"
  int mlp_hidden = 0;                     // 0: 4 n_embd
  int n_kv_head = 0;                      // 0: n_head
  bool tie_embeddings = true;
  bool qk_norm = false;  // RMSNorm on each query and key head (OLMo 2, Qwen3)

  // ---- data ----
  std::string train_data;  // token shards, e.g. "data/cache/shakespeare_char/train_*.bin"
  std::string val_data;    // the validation shards
  std::string data_sampling = "sequential";  // "sequential" (llm.c) or "random" windows (nanoGPT)

  // ---- optimisation ----
  int batch_size = 12;  // B, sequences per micro-step
  int grad_accum = 1;   // micro-steps per optimizer step
  int64_t max_steps = 2000;
  float learning_rate = 1e-3f;
  float min_lr = 1e-4f;
  int64_t warmup_steps = 100;
  int64_t lr_decay_steps = 0;  // 0 means max_steps
  float beta1 = 0.9f;
  float beta2 = 0.99f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;
  float grad_clip = 1.0f;  // clip the global gradient norm to this; 0 turns clipping off
  // "adamw": AdamW for every parameter. "muon": Muon (llm/train/muon.hpp) for the hidden matrices
  // (qkvw, attprojw, fcw, fcprojw), AdamW for the embeddings (wte, the tied head, and wpe) and the
  // gains and biases, each group at its own peak learning rate; all three follow the same warm-up
  // and cosine shape, learning_rate -> min_lr scaled to each group's peak.
  std::string optimizer = "adamw";
  float muon_learning_rate = 0.02f;      // peak learning rate of the hidden matrices
  float muon_momentum = 0.95f;           // Muon's Nesterov momentum
  int muon_ns_steps = 5;                 // Newton-Schulz iterations per update
  float embedding_learning_rate = 0.0f;  // muon: AdamW peak lr of wte and wpe (0: learning_rate)
  float gain_bias_learning_rate = 0.0f;  // muon: AdamW peak lr of gains, biases (0: learning_rate)
  bool uses_muon() const { return optimizer == "muon"; }

  // ---- data parallel (mpirun -np W glassbox train ...; see llm/train/trainer.hpp) ----
  int zero_stage = 0;         // 0: every rank holds all AdamW moments; 1: ZeRO-1, moments sharded
  double comm_timeout = 300;  // seconds one collective may take before this rank gives up
  std::string comm =
      "auto";  // "auto" (NCCL on cuda, MPI on cpu, with several ranks), "nccl", "mpi"
  // When the gradients are reduced (llm/train/gradient_sync.hpp): "true" each layer's during the
  // backward, "false" all after it, "auto" during on GPUs (NCCL runs beside the compute) and after
  // on CPUs (there the cores that would compute also move the data: measured ~1% slower during).
  std::string overlap_comm = "auto";
  // Whether this config reduces the gradients during the backward, on a GPU or on the CPU.
  bool overlaps_comm(bool on_gpu) const;
  // The step where the cosine decay ends: lr_decay_steps, or max_steps when that is 0.
  int64_t lr_decay_end() const { return lr_decay_steps > 0 ? lr_decay_steps : max_steps; }

  // ---- evaluation, logging, checkpoints ----
  int64_t eval_interval = 250;  // val loss every this many steps (and at the end)
  int eval_batches = 20;        // val batches per evaluation; 0 = the whole val split
  int64_t log_interval = 10;    // progress line every this many steps
  int64_t layer_stats_interval =
      50;  // per-layer grad norm and update/weight ratio in metrics.jsonl
  int64_t checkpoint_interval =
      500;  // RUN/checkpoint is rewritten every this many steps and at the end
  int64_t snapshot_interval = 0;  // model-only snapshots RUN/snapshots/step_N for the timeline
  int64_t hellaswag_interval =
      0;  // HellaSwag accuracy every this many steps and at the end (0: off)
  std::string
      hellaswag_data;  // its JSONL file (llm/train/hellaswag.hpp), e.g. from data/hellaswag.sh
  std::string out_dir = "runs/run";
  uint64_t seed = 1337;
  std::string device = "cpu";
  bool resume = false;  // continue RUN/checkpoint instead of starting afresh
  // How --resume may differ from the checkpoint (llm/train/resume.hpp). Not saved in
  // train_state.json: they concern one resume, not the run.
  bool extend = false;          // train a run past its --max-steps
  std::string resume_override;  // comma-separated settings that may change on --resume

  // The model shape this config asks for, given the tokenizer's vocabulary size.
  GPTConfig model_config(int vocab_size) const;
  // Throws llm::Error naming the offending setting: check_ranges() and the data flags.
  void validate() const;
  // Every number in its range (batch size at least 1, betas in [0, 1), ...), for the commands that
  // only read the shape and the batch (info, bench).
  void check_ranges() const;
};

// to_json / from_json for train_state.json; keys missing from an older file keep their defaults.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(
    TrainConfig, model, n_layer, n_head, n_embd, block_size, max_seq_len, init_from, bias, norm,
    norm_eps, position, rope_theta, rope_scaling, rope_scaling_factor, rope_low_freq_factor,
    rope_high_freq_factor, rope_original_max_position, mlp, mlp_hidden, n_kv_head, tie_embeddings,
    qk_norm, train_data, val_data, data_sampling, batch_size, grad_accum, max_steps, learning_rate,
    min_lr, warmup_steps, lr_decay_steps, beta1, beta2, eps, weight_decay, grad_clip, optimizer,
    muon_learning_rate, muon_momentum, muon_ns_steps, embedding_learning_rate,
    gain_bias_learning_rate, zero_stage, comm_timeout, comm, overlap_comm, eval_interval,
    eval_batches, log_interval, layer_stats_interval, checkpoint_interval, snapshot_interval,
    hellaswag_interval, hellaswag_data, out_dir, seed, device, resume)

}  // namespace llm
