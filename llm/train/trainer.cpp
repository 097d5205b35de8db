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
#include "llm/train/optimizer.hpp"
#include "llm/train/resume.hpp"
#include "llm/train/schedule.hpp"
#include "llm/train/train_checkpoint.hpp"

namespace llm {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

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

TrainResult run_training(const TrainConfig& config, Comm& comm, Backend& backend) {
  TrainConfig cfg = config;  // a resume may adjust grad_accum and the schedule's end
  cfg.validate();
  check(cfg.resume || (!cfg.extend && cfg.resume_override.empty()),
        "--extend and --resume-override only apply with --resume");
  const int rank = comm.rank(), world = comm.world_size();
  const bool root = comm.is_root();  // the only rank that prints and writes into the run directory
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
    resume_plan = reconcile_resume(cfg, read_train_state(checkpoint_dir), world,
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

  // Data first: the tokenizer saved beside the shards decides the vocabulary.
  // One optimizer step reads one global batch of world * grad_accum micro-batches (B, T), in
  // `slots` of the loader: rank r's micro-step k reads slot r * grad_accum + k. So W ranks with
  // grad_accum G read exactly the tokens one process reads with grad_accum W*G.
  const int B = cfg.batch_size, T = cfg.block_size, G = cfg.grad_accum;
  const Sampling sampling =
      cfg.data_sampling == "random" ? Sampling::random_windows : Sampling::sequential;
  DataLoader train_loader(cfg.train_data, B, T, 0, world * G, cfg.seed, sampling);
  // The periodic evaluations estimate the val loss from eval_batches batches drawn the way training
  // draws its own: with random windows that is nanoGPT's estimate_loss (here the same windows at
  // every evaluation, so the curve compares like with like); sequentially, the split's first
  // batches. The final evaluation reads the whole val split in order.
  DataLoader val_loader(cfg.val_data, B, T, 0, 1, 0);
  DataLoader val_estimate_loader(cfg.val_data, B, T, 0, 1, cfg.seed, sampling);
  const fs::path data_dir = train_loader.shards().front().parent_path();
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(data_dir);
  const std::string run_tokenizer = "the run's tokenizer (" + data_dir.string() + ")";
  check_shards_tokenizer(train_loader.shards(), tokenizer.get(), 0, run_tokenizer);
  check_shards_tokenizer(val_loader.shards(), tokenizer.get(), 0, run_tokenizer);
  // Read and encoded up front, so that a bad line stops the run before anything is written.
  const std::vector<HellaSwagTokens> hellaswag =
      cfg.hellaswag_interval > 0
          ? tokenize_hellaswag(read_hellaswag(cfg.hellaswag_data), *tokenizer)
          : std::vector<HellaSwagTokens>{};

  const GPTConfig model_config = cfg.model_config(tokenizer->vocab_size());
  GPT model(model_config, backend);
  // ZeRO-1: this rank keeps moments for, and updates, only its range of the flat parameters.
  const int64_t num_params = parameter_arena_size(model_config);
  const bool zero = cfg.zero_stage == 1;
  const ShardRange shard = zero ? shard_range(num_params, world, rank) : ShardRange{0, num_params};
  AdamW optimizer(model, {cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay}, shard);
  GradientSync gradient_sync(comm, model, cfg.overlaps_comm(backend.device() == Device::cuda));

  int64_t start_step = 0;
  if (cfg.resume) {
    check(read_checkpoint_config(checkpoint_dir).same_shape(model_config),
          "--resume: the model in " + checkpoint_dir.string() +
              " has another shape than this config");
    const TrainState state = load_training_checkpoint(checkpoint_dir, model, optimizer);
    train_loader.set_state(state.train_loader);
    start_step = state.step;
    if (root)
      std::printf("resuming %s at step %lld\n", checkpoint_dir.string().c_str(),
                  (long long)start_step);
  } else if (!cfg.init_from.empty()) {
    check(read_checkpoint_config(cfg.init_from).same_shape(model_config),
          "--init-from: " + cfg.init_from + " has another model shape than this config");
    if (auto saved = load_tokenizer_if_saved(cfg.init_from))
      check_same_tokenizer(*saved, "--init-from's tokenizer", *tokenizer, run_tokenizer);
    load_weights_and_masters(cfg.init_from, model, optimizer);
  } else {
    model.init_weights(cfg.seed);
    optimizer.copy_params_to_master();
  }
  // The replicas are equal already (same seed or same file); rank 0's copy makes it certain.
  comm.broadcast(flat_view(model.params), 0);
  std::optional<MetricsLog> metrics;
  if (root) {
    metrics.emplace(run_dir / "metrics.jsonl", start_step);
    if (resume_plan) append_json_line(run_dir / "resumes.jsonl", resume_plan->record);
  }

  LearningRateSchedule schedule{cfg.learning_rate, cfg.min_lr, cfg.warmup_steps,
                                cfg.lr_decay_end()};
  const int64_t global_batch = int64_t(world) * B * G;  // sequences per optimizer step
  const int64_t tokens_per_step = global_batch * T;
  if (root) {
    std::printf(
        "model: %d layers, %d heads, %d channels, context %d, vocab %d (padded %d): %.2fM "
        "parameters\n",
        model_config.n_layer, model_config.n_head, model_config.n_embd, model_config.max_seq_len,
        model_config.vocab_size, model_config.padded_vocab_size,
        double(count_parameters(model_config)) / 1e6);
    std::printf(
        "training: %lld steps of %lld tokens (B=%d, T=%d, grad_accum=%d, ranks=%d) on %s, %lld "
        "train tokens\n",
        (long long)cfg.max_steps, (long long)tokens_per_step, B, T, G, world, backend.name(),
        (long long)train_loader.total_tokens());
    if (world > 1 || zero) {
      std::printf(
          "data parallel: %d ranks over %s, ZeRO stage %d (AdamW moments of %lld of %lld "
          "parameters per rank), "
          "gradients reduced %s\n",
          world, comm.name(), cfg.zero_stage, (long long)shard.size(), (long long)num_params,
          gradient_sync.overlaps() ? "during the backward, layer by layer" : "after the backward");
    }
    std::fflush(stdout);
  }

  std::vector<int32_t> inputs(size_t(B) * T), targets(size_t(B) * T);
  LayerStats layer_stats(model);
  TrainResult result;
  const Clock::time_point run_start = Clock::now();
  double timed_seconds = 0;
  int64_t timed_steps = 0;

  // Every eval_interval steps on eval_batches batches; after the last step on the whole val split.
  auto evaluate = [&](int64_t step, int64_t batches) {
    const EvalResult val =
        evaluate_loss(model, batches > 0 ? val_estimate_loader : val_loader, batches, comm);
    if (root) {
      std::printf("step %6lld | val loss %.4f (%lld batches)\n", (long long)step, val.loss,
                  (long long)val.batches);
      std::fflush(stdout);
      metrics->write({{"step", step},
                      {"val_loss", val.loss},
                      {"val_batches", val.batches},
                      {"elapsed_s", seconds_since(run_start)}});
    }
    return val.loss;
  };
  // HellaSwag every hellaswag_interval steps and after the last.
  auto evaluate_hellaswag_at = [&](int64_t step) {
    const HellaSwagResult r = evaluate_hellaswag(model, hellaswag, comm);
    if (!root) return;
    std::printf("step %6lld | hellaswag acc %.4f acc_norm %.4f (%lld examples)\n", (long long)step,
                r.acc, r.acc_norm, (long long)r.examples);
    std::fflush(stdout);
    metrics->write({{"step", step},
                    {"hellaswag_acc", r.acc},
                    {"hellaswag_acc_norm", r.acc_norm},
                    {"hellaswag_examples", r.examples},
                    {"elapsed_s", seconds_since(run_start)}});
  };
  auto save_checkpoint = [&](int64_t next_step) {
    TrainState state;
    state.step = next_step;
    state.optimizer_steps = optimizer.steps_taken();
    state.train_loader = train_loader.state();
    state.world_size = world;
    state.global_batch = global_batch;
    state.config = cfg;
    save_training_checkpoint(checkpoint_dir, model, optimizer, tokenizer.get(), state, comm);
  };

  const Tensor flat_params = flat_view(model.params), flat_grads = flat_view(model.grads);
  for (int64_t step = start_step; step < cfg.max_steps; step++) {
    if (step % cfg.eval_interval == 0) evaluate(step, cfg.eval_batches);
    if (cfg.hellaswag_interval > 0 && step % cfg.hellaswag_interval == 0)
      evaluate_hellaswag_at(step);
    const Clock::time_point step_start = Clock::now();

    // Average the gradients over ranks. Without ZeRO every rank gets all of them (all-reduce);
    // with ZeRO-1 each rank gets only its shard (reduce-scatter: half the traffic of an
    // all-reduce), except on layer-stats steps, where the per-layer norms need the whole gradient.
    // With overlap the reductions start inside the last micro-step's backward
    // (llm/train/gradient_sync.hpp).
    const bool want_layer_stats =
        cfg.layer_stats_interval > 0 && step % cfg.layer_stats_interval == 0;
    const bool scatter = zero && !want_layer_stats;
    const GPT::GradientsReady on_ready = gradient_sync.start_step(scatter);

    // forward + backward over this rank's grad_accum micro-batches; gradients add up, each scaled
    // 1/grad_accum
    model.zero_grad();
    double loss = 0;
    for (int micro = 0; micro < G; micro++) {
      train_loader.read_batch(inputs.data(), targets.data(), rank * G + micro);
      const bool last = micro == G - 1;
      loss += model.forward_backward(inputs.data(), targets.data(), B, T, 1.0f / G,
                                     last ? on_ready : GPT::GradientsReady{});
    }
    train_loader.advance();
    gradient_sync.finish_step();
    if (!cfg.bias) {
      // A model without biases, as nanoGPT's bias=False: they keep their initial value (0 for a
      // fresh model) because their gradient is dropped here, so they neither move nor count in
      // the gradient norm.
      model.grads.visit([&](const char* name, Tensor& g, Shape) {
        if (is_bias(name)) backend.zero(g);
      });
    }
    loss = comm.all_reduce(loss / G, ReduceOp::average);  // the mean over the global batch
    if (!std::isfinite(loss)) {
      // Weights and moments were checked finite when loaded, so the blow-up happened in this run.
      const std::string saved =
          fs::is_directory(checkpoint_dir)
              ? "; " + checkpoint_dir.string() + " holds the last checkpoint (step " +
                    std::to_string(read_train_state(checkpoint_dir).step) + ")"
              : "; no checkpoint was written yet";
      throw Error("loss is " + std::to_string(loss) + " at step " + std::to_string(step) +
                  " (try a lower --learning-rate)" + saved);
    }
    double grad_norm = 0;
    if (scatter) {
      const double shard_sum =
          backend.sum_of_squares(flat_range(flat_grads, shard.begin, shard.end));
      grad_norm = std::sqrt(comm.all_reduce(shard_sum, ReduceOp::sum));
    } else {
      grad_norm = global_grad_norm(model);
    }

    // clip the global gradient norm, then one AdamW step at this step's learning rate
    const float grad_scale =
        (cfg.grad_clip > 0 && grad_norm > cfg.grad_clip) ? float(cfg.grad_clip / grad_norm) : 1.0f;
    const float lr = schedule.at(step);
    std::vector<double> layer_grad_norm;
    if (want_layer_stats && root) {
      layer_grad_norm = layer_stats.grad_norms();
      layer_stats.remember_weights();
    }
    optimizer.step(lr, grad_scale);
    if (zero) comm.all_gather(flat_params);  // every rank's updated shard to every rank

    const double step_seconds = seconds_since(step_start);
    if (step > start_step) {  // the first step includes one-time set-up
      timed_seconds += step_seconds;
      timed_steps++;
    }
    const double mean_step = timed_steps ? timed_seconds / timed_steps : step_seconds;
    result.final_train_loss = loss;
    if (root) {
      nlohmann::json line = {{"step", step},
                             {"loss", loss},
                             {"lr", lr},
                             {"grad_norm", grad_norm},
                             {"tokens_per_s", tokens_per_step / step_seconds},
                             {"ms_per_step", step_seconds * 1e3},
                             {"elapsed_s", seconds_since(run_start)}};
      if (want_layer_stats) {
        line["layer_grad_norm"] = layer_grad_norm;
        line["layer_update_ratio"] = layer_stats.update_ratios();
      }
      metrics->write(line);

      if (step % cfg.log_interval == 0 || step + 1 == cfg.max_steps) {
        std::printf(
            "step %6lld/%lld | loss %.4f | lr %.2e | norm %.3f | %.1f ms/step | %.0f tok/s | ETA "
            "%s\n",
            (long long)step, (long long)cfg.max_steps, loss, lr, grad_norm, mean_step * 1e3,
            tokens_per_step / mean_step,
            format_duration(mean_step * double(cfg.max_steps - step - 1)).c_str());
        std::fflush(stdout);
      }
      if (cfg.snapshot_interval > 0 && (step + 1) % cfg.snapshot_interval == 0) {
        char name[32];
        std::snprintf(name, sizeof name, "step_%06lld", (long long)(step + 1));
        save_model_checkpoint(run_dir / "snapshots" / name, model, tokenizer.get());
      }
    }
    if ((step + 1) % cfg.checkpoint_interval == 0 || step + 1 == cfg.max_steps)
      save_checkpoint(step + 1);
  }

  // After the last step: the estimate as at every eval_interval (what nanoGPT reports at its last
  // iteration), then the whole val split.
  if (cfg.max_steps % cfg.eval_interval == 0 && cfg.eval_batches > 0)
    evaluate(cfg.max_steps, cfg.eval_batches);
  result.final_val_loss = evaluate(cfg.max_steps, 0);
  if (cfg.hellaswag_interval > 0) evaluate_hellaswag_at(cfg.max_steps);
  result.ms_per_step = timed_steps ? timed_seconds / timed_steps * 1e3 : 0;
  if (root) {
    std::printf("done: %lld steps in %s, %.1f ms/step; final val loss %.4f; checkpoint %s\n",
                (long long)(cfg.max_steps - start_step),
                format_duration(seconds_since(run_start)).c_str(), result.ms_per_step,
                result.final_val_loss, checkpoint_dir.string().c_str());
  }
  return result;
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
