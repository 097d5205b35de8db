#include "llm/train/resume.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "llm/core/error.hpp"

namespace llm {

namespace {

// Settings that do not change what the run computes: where and how fast it runs, and what it
// reports. (batch_size and grad_accum are checked together below: only their product with the
// number of ranks, the global batch, matters.)
const std::set<std::string> kTrajectoryPreserving = {"device",
                                                     "zero_stage",
                                                     "comm",
                                                     "comm_timeout",
                                                     "overlap_comm",
                                                     "eval_interval",
                                                     "eval_batches",
                                                     "log_interval",
                                                     "layer_stats_interval",
                                                     "checkpoint_interval",
                                                     "snapshot_interval",
                                                     "hellaswag_interval",
                                                     "hellaswag_data",
                                                     "out_dir",
                                                     "init_from",
                                                     "batch_size",
                                                     "grad_accum"};

// "learning-rate" and "learning_rate" name the same setting.
std::string underscored(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}
std::string dashed(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  return "--" + name;
}

std::set<std::string> parse_overrides(const std::string& list, const nlohmann::json& known) {
  std::set<std::string> names;
  std::stringstream in(list);
  std::string name;
  while (std::getline(in, name, ',')) {
    if (name.empty()) continue;
    name = underscored(name);
    check(known.contains(name) && name != "resume",
          "--resume-override: '" + name +
              "' is not a train setting (expected names like learning_rate,seed)");
    names.insert(name);
  }
  return names;
}

// A setting's value for a message: floats with the 7 digits a float holds (1e-4f prints as 0.0001,
// not 9.999999747378752e-05), everything else as JSON.
std::string show(const nlohmann::json& value) {
  if (!value.is_number_float()) return value.dump();
  char text[32];
  std::snprintf(text, sizeof text, "%.7g", value.get<double>());
  return text;
}

// A resumed run keeps the checkpoint's global batch (sequences per optimizer step over all ranks),
// because the data position and the schedule count steps of that size. With another number of
// ranks or another micro-batch B, grad_accum is recomputed:
//   grad_accum = global_batch / (world * batch_size), which must come out whole.
// Returns whether it changed grad_accum (and said so).
bool keep_global_batch(TrainConfig& cfg, const TrainState& saved, int world, ResumePlan& plan) {
  const int64_t global = saved.global_batch;
  const int64_t per_micro_step = int64_t(world) * cfg.batch_size;
  if (per_micro_step * cfg.grad_accum == global) return false;
  check(global % per_micro_step == 0,
        "--resume: the checkpoint was trained with a global batch of " + std::to_string(global) +
            " sequences (" + std::to_string(saved.world_size) + " ranks x batch_size " +
            std::to_string(saved.config.batch_size) + " x grad_accum " +
            std::to_string(saved.config.grad_accum) + "), which " + std::to_string(world) +
            " ranks x --batch-size " + std::to_string(cfg.batch_size) + " cannot keep (" +
            std::to_string(global) + " is not a multiple of " + std::to_string(per_micro_step) +
            "); pick ranks x --batch-size that divides " + std::to_string(global));
  const int grad_accum = int(global / per_micro_step);
  plan.messages.push_back("resume: grad_accum " + std::to_string(cfg.grad_accum) + " -> " +
                          std::to_string(grad_accum) + " keeps the checkpoint's global batch of " +
                          std::to_string(global) + " sequences (" + std::to_string(world) +
                          " ranks x batch_size " + std::to_string(cfg.batch_size) +
                          " x grad_accum " + std::to_string(grad_accum) + ")");
  cfg.grad_accum = grad_accum;
  return true;
}

}  // namespace

ResumePlan reconcile_resume(const TrainConfig& requested, const TrainState& saved, int world,
                            const std::string& state_file) {
  ResumePlan plan;
  plan.config = requested;
  TrainConfig& cfg = plan.config;
  const TrainConfig& old = saved.config;
  plan.record = {{"step", saved.step}, {"world_size", world}, {"changes", nlohmann::json::array()}};
  const bool grad_accum_recomputed = keep_global_batch(cfg, saved, world, plan);
  auto note = [&](const std::string& key, const nlohmann::json& from, const nlohmann::json& to,
                  const std::string& why) {
    plan.messages.push_back("resume: " + key + " " + show(from) + " -> " + show(to) + " (" + why +
                            ")");
    plan.record["changes"].push_back({{"key", key}, {"from", from}, {"to", to}, {"why", why}});
  };

  // An extension keeps the saved schedule: the decay ends where it ended, and the steps after it
  // run at min_lr. The same holds for every later resume of the extended run (whose command line
  // still says "--lr-decay-steps 0", i.e. "end at --max-steps"), so the saved end is kept then too.
  if (cfg.lr_decay_steps == 0 && old.lr_decay_steps > 0 && cfg.max_steps >= old.max_steps &&
      old.lr_decay_steps <= old.max_steps) {
    cfg.lr_decay_steps = old.lr_decay_steps;
    plan.messages.push_back("resume: the learning-rate decay ends at the checkpoint's step " +
                            std::to_string(old.lr_decay_steps) +
                            " (its --lr-decay-steps), then stays at min_lr");
  }
  if (cfg.extend) {
    check(cfg.max_steps > old.max_steps, "--extend: --max-steps " + std::to_string(cfg.max_steps) +
                                             " must exceed the saved run's " +
                                             std::to_string(old.max_steps) + " (" + state_file +
                                             ")");
    if (cfg.lr_decay_steps == 0) cfg.lr_decay_steps = old.lr_decay_end();
    note("max_steps", old.max_steps, cfg.max_steps,
         "--extend: the learning rate follows the saved schedule, whose decay ends at step " +
             std::to_string(old.lr_decay_end()) + ", and stays at min_lr " + show(cfg.min_lr) +
             " after it");
  } else if (saved.step == old.max_steps && cfg.max_steps == old.max_steps) {
    // A run stopped after its last checkpoint, e.g. during its final evaluation: that is all left.
    plan.messages.push_back(
        "resume: the run already trained its " + std::to_string(old.max_steps) +
        " steps, so only its final evaluation runs (to train further, pass --extend "
        "with a larger --max-steps)");
  }

  const nlohmann::json now = cfg, before = old;
  const std::set<std::string> overrides = parse_overrides(cfg.resume_override, now);
  for (const auto& [key, value] : now.items()) {
    if (key == "resume" || !before.contains(key) || before[key] == value) continue;
    if (key == "max_steps" && cfg.extend) continue;              // noted above
    if (key == "grad_accum" && grad_accum_recomputed) continue;  // noted above
    if (key == "lr_decay_steps" && cfg.lr_decay_end() == old.lr_decay_end())
      continue;  // the same schedule
    if (kTrajectoryPreserving.count(key)) {
      note(key, before[key], value, "does not change the trajectory");
    } else if (overrides.count(key)) {
      note(key, before[key], value, "--resume-override");
    } else {
      throw Error("--resume: " + dashed(key) + " is " + show(value) +
                  " but the checkpoint was trained with " + show(before[key]) + " (" + state_file +
                  "); this changes the training trajectory: " +
                  "restore it, or accept it with --resume-override " + key +
                  (key == "max_steps" ? " (or continue a finished run with --extend)" : ""));
    }
  }
  if (world != saved.world_size)
    note("world_size", saved.world_size, world, "does not change the trajectory");
  return plan;
}

}  // namespace llm
