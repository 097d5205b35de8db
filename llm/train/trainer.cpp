#include "llm/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/backend/backend.hpp"
#include "llm/core/clock.hpp"
#include "llm/core/error.hpp"
#include "llm/data/dataloader.hpp"
#include "llm/data/shard_tokenizer.hpp"
#include "llm/dist/comm.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/model/gpt.hpp"
#include "llm/tokenizer/tokenizer.hpp"
#include "llm/train/evaluate.hpp"
#include "llm/train/gradient_sync.hpp"
#include "llm/train/hellaswag.hpp"
#include "llm/train/metrics_log.hpp"
#include "llm/train/muon.hpp"
#include "llm/train/optimizer.hpp"
#include "llm/train/resume.hpp"
#include "llm/train/schedule.hpp"
#include "llm/train/train_checkpoint.hpp"

namespace llm {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
std::string format_duration(double seconds) {
  char buf[32];
  const int s = int(seconds + 0.5);
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%dh%02dm", s / 3600, s / 60 % 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%dm%02ds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ds", s);
  return buf;
}

// Per-layer training dynamics for the visualizer: the gradient norm of each layer's tensors and the
// ratio |w_after - w_before| / |w_before| of one update (about lr for a healthy run; much larger
// means the layer is being thrown around, much smaller that it has stopped learning).
class LayerStats {
 public:
  explicit LayerStats(GPT& model) : model_(model) {}

  std::vector<double> grad_norms() {
    std::vector<double> sums(model_.config().n_layer, 0.0);
    for_each_layer_tensor(model_.grads,
                          [&](int l, Tensor t) { sums[l] += model_.backend().sum_of_squares(t); });
    for (double& s : sums) s = std::sqrt(s);
    return sums;
  }
  void remember_weights() {
    before_.clear();
    for_each_layer_tensor(model_.params, [&](int, Tensor t) {
      before_.push_back(tensor_to_host_f64(model_.backend(), t));
    });
  }
  std::vector<double> update_ratios() {
    const int L = model_.config().n_layer;
    std::vector<double> update(L, 0.0), weight(L, 0.0);
    size_t i = 0;
    for_each_layer_tensor(model_.params, [&](int l, Tensor t) {
      const std::vector<double> after = tensor_to_host_f64(model_.backend(), t);
      const std::vector<double>& prev = before_[i++];
      for (size_t k = 0; k < after.size(); k++) {
        update[l] += (after[k] - prev[k]) * (after[k] - prev[k]);
        weight[l] += prev[k] * prev[k];
      }
    });
    std::vector<double> ratio(L);
    for (int l = 0; l < L; l++) ratio[l] = std::sqrt(update[l]) / (std::sqrt(weight[l]) + 1e-12);
    return ratio;
  }

 private:
  template <typename Fn> void for_each_layer_tensor(ParameterTensors& tensors, Fn&& fn) {
    tensors.visit([&](const char*, Tensor& t, Shape shape) {
      if (shape.rank < 2 || shape[0] != model_.config().n_layer || &t == &tensors.wpe) return;
      for (int l = 0; l < model_.config().n_layer; l++) fn(l, t.slice(l));
    });
  }
  GPT& model_;
  std::vector<std::vector<double>> before_;
};

// Setting up a run, before anything is loaded: with --resume, the interrupted save is recovered and
// the saved run is reconciled with this command line (the plan's config is the one to train with);
// a fresh run refuses a directory that already holds one. Rank 0 then makes the run directory.
std::optional<ResumePlan> prepare_run_directory(TrainConfig& cfg, Comm& comm) {
  const bool root = comm.is_root();
  const fs::path run_dir = cfg.out_dir;
  const fs::path checkpoint_dir = run_dir / "checkpoint";
  std::optional<ResumePlan> resume_plan;
  if (cfg.resume) {
    if (root) {
      const std::string recovered = recover_interrupted_save(checkpoint_dir);
      if (!recovered.empty()) std::printf("resume: %s\n", recovered.c_str());
    }
    comm.barrier();  // the other ranks read the directory rank 0 may just have renamed
    check(fs::is_directory(checkpoint_dir),
          "--resume: " + checkpoint_dir.string() + " does not exist; nothing to resume");
    resume_plan = reconcile_resume(cfg, read_train_state(checkpoint_dir), comm.world_size(),
                                   (checkpoint_dir / "train_state.json").string());
    cfg = resume_plan->config;
    if (root) {
      for (const std::string& line : resume_plan->messages) std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    }
  } else if (root) {
    check(!fs::exists(run_dir / "metrics.jsonl"),
          run_dir.string() +
              " already holds a run; pass --resume to continue it or choose another --out-dir");
  }
  if (root) fs::create_directories(run_dir);
  return resume_plan;
}

// What one optimizer step measured, for the metrics line and the progress line.
struct StepReport {
  double loss = 0;       // the mean over the global batch
  double grad_norm = 0;  // before clipping
  float lr = 0;
  double seconds = 0;
  bool layer_stats = false;  // whether layer_grad_norm and the update ratios were taken
  std::vector<double> layer_grad_norm;
};

// One training run, in three parts: setting it up (the constructor: data, model, optimizer, and the
// weights of a fresh run, of --init-from or of --resume), one optimizer step (optimizer_step), and
// the periodic work around the steps (evaluations, metrics and progress, snapshots, checkpoints).
class Trainer {
 public:
  Trainer(const TrainConfig& cfg, std::optional<ResumePlan> resume_plan, Comm& comm,
          Backend& backend);
  TrainResult run();

 private:
  // setting up
  void load_or_init_weights();
  std::string run_tokenizer_name() const;
  void print_run_summary() const;
  // one optimizer step
  StepReport optimizer_step(int64_t step);
  void drop_bias_gradients();
  void check_loss_finite(double loss, int64_t step) const;
  double gradient_norm(bool scattered);
  // the periodic work
  void evaluate_if_due(int64_t step);
  void record_step(int64_t step, const StepReport& report, double mean_step_seconds);
  void save_if_due(int64_t step);
  double evaluate(int64_t step, int64_t batches);
  void evaluate_hellaswag_at(int64_t step);
  void save_checkpoint(int64_t next_step);
  TrainResult finish(TrainResult result);

  const TrainConfig cfg_;
  Comm& comm_;
  Backend& backend_;
  const int rank_, world_;
  const bool root_;  // the only rank that prints and writes into the run directory
  const fs::path run_dir_, checkpoint_dir_;
  const std::optional<ResumePlan> resume_plan_;
  const int B_, T_, G_;  // micro-batch (B, T), grad_accum micro-steps per optimizer step

  // Data first: the tokenizer saved beside the shards decides the vocabulary.
  // One optimizer step reads one global batch of world * grad_accum micro-batches (B, T), in
  // `slots` of the loader: rank r's micro-step k reads slot r * grad_accum + k. So W ranks with
  // grad_accum G read exactly the tokens one process reads with grad_accum W*G.
  DataLoader train_loader_;
  // The periodic evaluations estimate the val loss from eval_batches batches drawn the way training
  // draws its own: with random windows that is nanoGPT's estimate_loss (here the same windows at
  // every evaluation, so the curve compares like with like); sequentially, the split's first
  // batches. The final evaluation reads the whole val split in order.
  DataLoader val_loader_;
  DataLoader val_estimate_loader_;
  std::unique_ptr<Tokenizer> tokenizer_;
  // Read and encoded up front, so that a bad line stops the run before anything is written.
  const std::vector<HellaSwagTokens> hellaswag_;

  const GPTConfig model_config_;
  GPT model_;
  // ZeRO-1: this rank keeps moments for, and updates, only its range of the flat parameters.
  const int64_t num_params_;
  const bool zero_;
  const ShardRange shard_;
  AdamW optimizer_;
  // --optimizer muon: Muon for the hidden matrices (AdamW then leaves them alone).
  std::optional<Muon> muon_;
  GradientSync gradient_sync_;
  const Tensor flat_params_, flat_grads_;  // the parameter and gradient arenas as one tensor each
  const LearningRateSchedule schedule_;
  const int64_t global_batch_;     // sequences per optimizer step
  const int64_t tokens_per_step_;  // global_batch * T

  int64_t start_step_ = 0;
  std::optional<MetricsLog> metrics_;  // on rank 0 only
  LayerStats layer_stats_;
  std::vector<int32_t> inputs_, targets_;  // (B, T) each
  Clock::time_point run_start_;
};

// AdamW's learning rate per tensor, as a multiple of the schedule's: 1 for every tensor, or with
// --optimizer muon each AdamW group's peak over learning_rate (0 for Muon's hidden matrices), so
// every group follows the schedule's warm-up and cosine from its own peak.
LearningRateScale adamw_learning_rates(const TrainConfig& cfg) {
  if (!cfg.uses_muon()) return {};
  const auto relative = [&](float peak) {
    return peak > 0 ? double(peak) / cfg.learning_rate : 1.0;
  };
  return adamw_groups_beside_muon(relative(cfg.embedding_learning_rate),
                                  relative(cfg.gain_bias_learning_rate));
}

Sampling sampling_of(const TrainConfig& cfg) {
  return cfg.data_sampling == "random" ? Sampling::random_windows : Sampling::sequential;
}

Trainer::Trainer(const TrainConfig& cfg, std::optional<ResumePlan> resume_plan, Comm& comm,
                 Backend& backend)
    : cfg_(cfg),
      comm_(comm),
      backend_(backend),
      rank_(comm.rank()),
      world_(comm.world_size()),
      root_(comm.is_root()),
      run_dir_(cfg.out_dir),
      checkpoint_dir_(run_dir_ / "checkpoint"),
      resume_plan_(std::move(resume_plan)),
      B_(cfg.batch_size),
      T_(cfg.block_size),
      G_(cfg.grad_accum),
      train_loader_(cfg.train_data, B_, T_, 0, world_ * G_, cfg.seed, sampling_of(cfg)),
      val_loader_(cfg.val_data, B_, T_, 0, 1, 0),
      val_estimate_loader_(cfg.val_data, B_, T_, 0, 1, cfg.seed, sampling_of(cfg)),
      tokenizer_(load_tokenizer(train_loader_.shards().front().parent_path())),
      hellaswag_(cfg.hellaswag_interval > 0
                     ? tokenize_hellaswag(read_hellaswag(cfg.hellaswag_data), *tokenizer_)
                     : std::vector<HellaSwagTokens>{}),
      model_config_(cfg.model_config(tokenizer_->vocab_size())),
      model_(model_config_, backend),
      num_params_(parameter_arena_size(model_config_)),
      zero_(cfg.zero_stage == 1),
      shard_(zero_ ? shard_range(num_params_, world_, rank_) : ShardRange{0, num_params_}),
      optimizer_(model_, {cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay}, shard_,
                 adamw_learning_rates(cfg)),
      gradient_sync_(comm, model_, cfg.overlaps_comm(backend.device() == Device::cuda)),
      flat_params_(flat_view(model_.params)),
      flat_grads_(flat_view(model_.grads)),
      schedule_{cfg.learning_rate, cfg.min_lr, cfg.warmup_steps, cfg.lr_decay_end()},
      global_batch_(int64_t(world_) * B_ * G_),
      tokens_per_step_(global_batch_ * T_),
      layer_stats_(model_),
      inputs_(size_t(B_) * T_),
      targets_(size_t(B_) * T_) {
  // The shards must come from the run's tokenizer, the one saved beside the training shards.
  check_shards_tokenizer(train_loader_.shards(), tokenizer_.get(), 0, run_tokenizer_name());
  check_shards_tokenizer(val_loader_.shards(), tokenizer_.get(), 0, run_tokenizer_name());
  if (cfg.uses_muon())
    muon_.emplace(model_, MuonConfig{cfg.muon_momentum, cfg.muon_ns_steps}, rank_, world_);
  load_or_init_weights();
  // The replicas are equal already (same seed or same file); rank 0's copy makes it certain.
  comm_.broadcast(flat_params_, 0);
  if (root_) {
    metrics_.emplace(run_dir_ / "metrics.jsonl", start_step_);
    if (resume_plan_) append_json_line(run_dir_ / "resumes.jsonl", resume_plan_->record);
    print_run_summary();
  }
}

// The three ways a run starts: --resume (weights, moments, data position and step from the
// checkpoint), --init-from (weights and master weights from a checkpoint, fresh moments, step 0),
// or fresh weights from the seed.
void Trainer::load_or_init_weights() {
  if (cfg_.resume) {
    check(read_checkpoint_config(checkpoint_dir_).same_shape(model_config_),
          "--resume: the model in " + checkpoint_dir_.string() +
              " has another shape than this config");
    const TrainState state =
        load_training_checkpoint(checkpoint_dir_, model_, optimizer_, muon_ ? &*muon_ : nullptr);
    train_loader_.set_state(state.train_loader);
    start_step_ = state.step;
    if (root_)
      std::printf("resuming %s at step %lld\n", checkpoint_dir_.string().c_str(),
                  (long long)start_step_);
  } else if (!cfg_.init_from.empty()) {
    check(read_checkpoint_config(cfg_.init_from).same_shape(model_config_),
          "--init-from: " + cfg_.init_from + " has another model shape than this config");
    if (auto saved = load_tokenizer_if_saved(cfg_.init_from))
      check_same_tokenizer(*saved, "--init-from's tokenizer", *tokenizer_, run_tokenizer_name());
    load_weights_and_masters(cfg_.init_from, model_, optimizer_, muon_ ? &*muon_ : nullptr);
  } else {
    model_.init_weights(cfg_.seed);
    optimizer_.copy_params_to_master();
    if (muon_) muon_->copy_params_to_master();
  }
}

std::string Trainer::run_tokenizer_name() const {
  return "the run's tokenizer (" + train_loader_.shards().front().parent_path().string() + ")";
}

void Trainer::print_run_summary() const {
  const GPTConfig& m = model_config_;
  std::printf(
      "model: %d layers, %d heads, %d channels, context %d, vocab %d (padded %d): %.2fM "
      "parameters\n",
      m.n_layer, m.n_head, m.n_embd, m.max_seq_len, m.vocab_size, m.padded_vocab_size(),
      double(count_parameters(m)) / 1e6);
  std::printf(
      "training: %lld steps of %lld tokens (B=%d, T=%d, grad_accum=%d, ranks=%d) on %s, %lld "
      "train tokens\n",
      (long long)cfg_.max_steps, (long long)tokens_per_step_, B_, T_, G_, world_, backend_.name(),
      (long long)train_loader_.total_tokens());
  if (muon_) {
    const auto peak = [&](float lr) { return lr > 0 ? lr : cfg_.learning_rate; };
    std::printf(
        "optimizer: Muon for the hidden matrices (peak lr %.3g, momentum %.3g, %d Newton-Schulz "
        "steps), AdamW for wte and wpe (peak lr %.3g) and for the gains and biases (%.3g)\n",
        cfg_.muon_learning_rate, cfg_.muon_momentum, cfg_.muon_ns_steps,
        peak(cfg_.embedding_learning_rate), peak(cfg_.gain_bias_learning_rate));
  }
  if (world_ > 1 || zero_) {
    std::printf(
        "data parallel: %d ranks over %s, ZeRO stage %d (AdamW moments of %lld of %lld "
        "parameters per rank), "
        "gradients reduced %s\n",
        world_, comm_.name(), cfg_.zero_stage, (long long)shard_.size(), (long long)num_params_,
        gradient_sync_.overlaps() ? "during the backward, layer by layer" : "after the backward");
  }
  std::fflush(stdout);
}

TrainResult Trainer::run() {
  TrainResult result;
  run_start_ = Clock::now();
  double timed_seconds = 0;
  int64_t timed_steps = 0;
  for (int64_t step = start_step_; step < cfg_.max_steps; step++) {
    evaluate_if_due(step);
    const StepReport report = optimizer_step(step);
    if (step > start_step_) {  // the first step includes one-time set-up
      timed_seconds += report.seconds;
      timed_steps++;
    }
    result.final_train_loss = report.loss;
    record_step(step, report, timed_steps ? timed_seconds / timed_steps : report.seconds);
    save_if_due(step);
  }
  result.ms_per_step = timed_steps ? timed_seconds / timed_steps * 1e3 : 0;
  return finish(result);
}

// One optimizer step: forward and backward over this rank's grad_accum micro-batches, the
// gradients averaged over ranks, the global gradient norm, clipping, one AdamW update at this
// step's learning rate (and with --optimizer muon one Muon update of the hidden matrices).
StepReport Trainer::optimizer_step(int64_t step) {
  const Clock::time_point step_start = Clock::now();
  StepReport report;
  // Average the gradients over ranks. Without ZeRO every rank gets all of them (all-reduce);
  // with ZeRO-1 each rank gets only its shard (reduce-scatter: half the traffic of an
  // all-reduce), except on layer-stats steps, where the per-layer norms need the whole gradient.
  // With overlap the reductions start inside the last micro-step's backward
  // (llm/train/gradient_sync.hpp).
  report.layer_stats = cfg_.layer_stats_interval > 0 && step % cfg_.layer_stats_interval == 0;
  // Muon orthogonalises each matrix's whole gradient on one rank, so with Muon every rank gets all
  // of the gradient.
  const bool scatter = zero_ && !report.layer_stats && !muon_;
  const GPT::GradientsReady on_ready = gradient_sync_.start_step(scatter);

  // forward + backward over this rank's grad_accum micro-batches; gradients add up, each scaled
  // 1/grad_accum
  model_.zero_grad();
  double loss = 0;
  for (int micro = 0; micro < G_; micro++) {
    train_loader_.read_batch(inputs_.data(), targets_.data(), rank_ * G_ + micro);
    const bool last = micro == G_ - 1;
    loss += model_.forward_backward(inputs_.data(), targets_.data(), B_, T_, 1.0f / G_,
                                    last ? on_ready : GPT::GradientsReady{});
  }
  train_loader_.advance();
  gradient_sync_.finish_step();
  if (!cfg_.bias) drop_bias_gradients();
  report.loss = comm_.all_reduce(loss / G_, ReduceOp::average);  // the mean over the global batch
  check_loss_finite(report.loss, step);
  report.grad_norm = gradient_norm(scatter);

  // clip the global gradient norm, then one AdamW step at this step's learning rate
  const float grad_scale = (cfg_.grad_clip > 0 && report.grad_norm > cfg_.grad_clip)
                               ? float(cfg_.grad_clip / report.grad_norm)
                               : 1.0f;
  report.lr = schedule_.at(step);
  if (report.layer_stats && root_) {
    report.layer_grad_norm = layer_stats_.grad_norms();
    layer_stats_.remember_weights();
  }
  optimizer_.step(report.lr, grad_scale);
  // Muon's peak relates to its schedule as learning_rate does to the AdamW one.
  if (muon_) {
    muon_->step(report.lr * cfg_.muon_learning_rate / cfg_.learning_rate, grad_scale);
    // Each hidden matrix from the rank that orthogonalised it to all, before the all-gather: that
    // copies every shard from the rank holding it, so the shard's copy must already be the new one.
    muon_->share_updates(comm_);
  }
  if (zero_) comm_.all_gather(flat_params_);  // every rank's updated shard to all
  report.seconds = seconds_since(step_start);
  return report;
}

// A model without biases, as nanoGPT's bias=False: they keep their initial value (0 for a fresh
// model) because their gradient is dropped here, so they neither move nor count in the gradient
// norm.
void Trainer::drop_bias_gradients() {
  model_.grads.visit([&](const char* name, Tensor& g, Shape) {
    if (is_bias(name)) backend_.zero(g);
  });
}

void Trainer::check_loss_finite(double loss, int64_t step) const {
  if (std::isfinite(loss)) return;
  // Weights and moments were checked finite when loaded, so the blow-up happened in this run.
  const std::string saved = fs::is_directory(checkpoint_dir_)
                                ? "; " + checkpoint_dir_.string() +
                                      " holds the last checkpoint (step " +
                                      std::to_string(read_train_state(checkpoint_dir_).step) + ")"
                                : "; no checkpoint was written yet";
  throw Error("loss is " + std::to_string(loss) + " at step " + std::to_string(step) +
              " (try a lower --learning-rate)" + saved);
}

// The norm of the whole gradient: with the gradients reduce-scattered each rank sums the squares
// of its shard and the ranks add their sums.
double Trainer::gradient_norm(bool scattered) {
  if (!scattered) return global_grad_norm(model_);
  const Tensor shard_grads = flat_range(flat_grads_, shard_.begin, shard_.end);
  return std::sqrt(comm_.all_reduce(backend_.sum_of_squares(shard_grads), ReduceOp::sum));
}

// Before a step: the val loss every eval_interval steps on eval_batches batches, HellaSwag every
// hellaswag_interval steps.
void Trainer::evaluate_if_due(int64_t step) {
  if (step % cfg_.eval_interval == 0) evaluate(step, cfg_.eval_batches);
  if (cfg_.hellaswag_interval > 0 && step % cfg_.hellaswag_interval == 0)
    evaluate_hellaswag_at(step);
}

// After a step, on rank 0: one metrics.jsonl line, and a progress line every log_interval steps.
void Trainer::record_step(int64_t step, const StepReport& r, double mean_step_seconds) {
  if (!root_) return;
  nlohmann::json line = {{"step", step},
                         {"loss", r.loss},
                         {"lr", r.lr},
                         {"grad_norm", r.grad_norm},
                         {"tokens_per_s", tokens_per_step_ / r.seconds},
                         {"ms_per_step", r.seconds * 1e3},
                         {"elapsed_s", seconds_since(run_start_)}};
  if (r.layer_stats) {
    line["layer_grad_norm"] = r.layer_grad_norm;
    line["layer_update_ratio"] = layer_stats_.update_ratios();
  }
  metrics_->write(line);
  if (step % cfg_.log_interval == 0 || step + 1 == cfg_.max_steps) {
    std::printf(
        "step %6lld/%lld | loss %.4f | lr %.2e | norm %.3f | %.1f ms/step | %.0f tok/s | ETA %s\n",
        (long long)step, (long long)cfg_.max_steps, r.loss, r.lr, r.grad_norm,
        mean_step_seconds * 1e3, tokens_per_step_ / mean_step_seconds,
        format_duration(mean_step_seconds * double(cfg_.max_steps - step - 1)).c_str());
    std::fflush(stdout);
  }
}

// After a step: a weights-only snapshot every snapshot_interval steps (rank 0), the training
// checkpoint every checkpoint_interval steps and after the last (all ranks: ZeRO shards the
// moments).
void Trainer::save_if_due(int64_t step) {
  if (root_ && cfg_.snapshot_interval > 0 && (step + 1) % cfg_.snapshot_interval == 0) {
    char name[32];
    std::snprintf(name, sizeof name, "step_%06lld", (long long)(step + 1));
    save_model_checkpoint(run_dir_ / "snapshots" / name, model_, tokenizer_.get());
  }
  if ((step + 1) % cfg_.checkpoint_interval == 0 || step + 1 == cfg_.max_steps)
    save_checkpoint(step + 1);
}

// The val loss on `batches` batches of the estimate loader, or with batches == 0 on the whole val
// split; rank 0 prints it and writes it to the metrics.
double Trainer::evaluate(int64_t step, int64_t batches) {
  const EvalResult val =
      evaluate_loss(model_, batches > 0 ? val_estimate_loader_ : val_loader_, batches, comm_);
  if (root_) {
    std::printf("step %6lld | val loss %.4f (%lld batches)\n", (long long)step, val.loss,
                (long long)val.batches);
    std::fflush(stdout);
    metrics_->write({{"step", step},
                     {"val_loss", val.loss},
                     {"val_batches", val.batches},
                     {"elapsed_s", seconds_since(run_start_)}});
  }
  return val.loss;
}

void Trainer::evaluate_hellaswag_at(int64_t step) {
  const HellaSwagResult r = evaluate_hellaswag(model_, hellaswag_, comm_);
  if (!root_) return;
  std::printf("step %6lld | hellaswag acc %.4f acc_norm %.4f (%lld examples)\n", (long long)step,
              r.acc, r.acc_norm, (long long)r.examples);
  std::fflush(stdout);
  metrics_->write({{"step", step},
                   {"hellaswag_acc", r.acc},
                   {"hellaswag_acc_norm", r.acc_norm},
                   {"hellaswag_examples", r.examples},
                   {"elapsed_s", seconds_since(run_start_)}});
}

void Trainer::save_checkpoint(int64_t next_step) {
  TrainState state;
  state.step = next_step;
  state.optimizer_steps = optimizer_.steps_taken();
  state.train_loader = train_loader_.state();
  state.world_size = world_;
  state.global_batch = global_batch_;
  state.config = cfg_;
  save_training_checkpoint(checkpoint_dir_, model_, optimizer_, tokenizer_.get(), state, comm_,
                           muon_ ? &*muon_ : nullptr);
}

// After the last step: the estimate as at every eval_interval (what nanoGPT reports at its last
// iteration), then the whole val split, then HellaSwag.
TrainResult Trainer::finish(TrainResult result) {
  if (cfg_.max_steps % cfg_.eval_interval == 0 && cfg_.eval_batches > 0)
    evaluate(cfg_.max_steps, cfg_.eval_batches);
  result.final_val_loss = evaluate(cfg_.max_steps, 0);
  if (cfg_.hellaswag_interval > 0) evaluate_hellaswag_at(cfg_.max_steps);
  if (root_) {
    std::printf("done: %lld steps in %s, %.1f ms/step; final val loss %.4f; checkpoint %s\n",
                (long long)(cfg_.max_steps - start_step_),
                format_duration(seconds_since(run_start_)).c_str(), result.ms_per_step,
                result.final_val_loss, checkpoint_dir_.string().c_str());
  }
  return result;
}

TrainResult run_training(const TrainConfig& config, Comm& comm, Backend& backend) {
  TrainConfig cfg = config;  // a resume may adjust grad_accum and the schedule's end
  cfg.validate();
  check(cfg.resume || (!cfg.extend && cfg.resume_override.empty()),
        "--extend and --resume-override only apply with --resume");
  std::optional<ResumePlan> resume_plan = prepare_run_directory(cfg, comm);
  Trainer trainer(cfg, std::move(resume_plan), comm, backend);
  return trainer.run();
}

}  // namespace

TrainResult train(const TrainConfig& config) {
  // In this order: each rank takes its own GPU (with several per node), the backend is made on it,
  // and the communicator is made for the backend, so that NCCL's collectives are queued on the
  // backend's stream, in order with the compute.
  if (config.device == "cuda") use_local_gpu();
  std::unique_ptr<Backend> backend = make_backend(config.device);
  std::unique_ptr<Comm> comm = make_comm(config.comm_timeout, *backend, config.comm);
  return train(config, *comm, *backend);
}

TrainResult train(const TrainConfig& config, Comm& comm, Backend& backend) {
  if (comm.world_size() == 1) return run_training(config, comm, backend);
  // With several ranks an error on one (a bad file, a NaN) must end them all: the others would
  // otherwise wait for it in their next collective until --comm-timeout.
  try {
    return run_training(config, comm, backend);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "glassbox: error: rank %d of %d: %s\n", comm.rank(), comm.world_size(),
                 e.what());
    comm.abort(1);
  }
  return {};  // not reached: abort() ends the process (GCC ignores [[noreturn]] on virtual calls)
}

}  // namespace llm
