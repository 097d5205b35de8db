// glassbox sweep: one training run per point of a grid of settings (see llm/train/sweep.hpp).
//
//   glassbox sweep --config base.toml --grid "n_embd=64,128 learning_rate=1e-3,3e-3" --out-dir S
//
// Every train flag (and --config) sets the base run; each point overrides the grid's settings and
// trains into S/<point name>/. Running the same command again skips the finished points (those with
// a sweep_result.json), resumes an interrupted one from its checkpoint, and starts afresh a point
// that stopped before its first checkpoint. After every point S/results.csv and S/results.md list
// the finished ones. The points run one after another, in this one process.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "llm/cli/commands.hpp"
#include "llm/cli/train_options.hpp"
#include "llm/core/clock.hpp"
#include "llm/core/error.hpp"
#include "llm/core/printable.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/train/sweep.hpp"
#include "llm/train/train_checkpoint.hpp"
#include "llm/train/trainer.hpp"

namespace llm::cli {

namespace fs = std::filesystem;

namespace {

// Settings a grid may not vary: where the runs go and how they resume belong to the sweep.
bool reserved_for_the_sweep(const std::string& key) {
  for (const char* k :
       {"out_dir", "out-dir", "resume", "extend", "resume_override", "resume-override", "config"})
    if (key == k) return true;
  return false;
}

// The base config with one point's settings applied, parsed by the same flags as `glassbox train`
// (so a value is read, and refused, exactly as that flag would be) and validated.
TrainConfig config_of_point(const TrainConfig& base, const SweepPoint& point,
                            const fs::path& sweep_dir) {
  TrainConfig config = base;
  CLI::App parser;
  add_train_options(&parser, config);
  std::vector<std::string> args;
  for (const auto& [key, value] : point.settings) {
    check(!reserved_for_the_sweep(key),
          "--grid: '" + printable(key) + "' is set by the sweep itself and cannot be varied");
    check(parser.get_option_no_throw("--" + key) != nullptr,
          "--grid: unknown setting '" + printable(key) +
              "' (expected train settings such as n_embd, learning_rate)");
    args.push_back("--" + key);
    args.push_back(value);
  }
  std::reverse(args.begin(), args.end());  // CLI::App::parse(vector&) takes them reversed
  try {
    parser.parse(args);
  } catch (const CLI::ParseError& e) {
    throw Error("--grid point " + printable(point.name) + ": " + printable(e.what()));
  }
  config.out_dir = (sweep_dir / point.name).string();
  try {
    config.validate();
  } catch (const Error& e) {
    throw Error("--grid point " + printable(point.name) + ": " + e.what());
  }
  return config;
}

void run_sweep(const TrainConfig& base, const std::string& grid_text) {
  check(!base.resume && !base.extend,
        "glassbox sweep resumes by itself: run the same command again, without --resume");
  const std::vector<SweepAxis> axes = parse_sweep_grid(grid_text);
  const std::vector<SweepPoint> points = sweep_points(axes);
  const fs::path sweep_dir = base.out_dir;
  // Every point's config first, so a bad value stops the sweep before any training.
  std::vector<TrainConfig> configs;
  for (const SweepPoint& p : points) configs.push_back(config_of_point(base, p, sweep_dir));
  fs::create_directories(sweep_dir);

  std::vector<SweepResult> results;
  for (size_t i = 0; i < points.size(); i++) {
    TrainConfig config = configs[i];
    const fs::path run_dir = config.out_dir;
    const fs::path checkpoint = run_dir / "checkpoint";
    std::printf("sweep: point %zu/%zu %s", i + 1, points.size(), points[i].name.c_str());
    if (has_sweep_result(run_dir)) {
      std::printf(": finished earlier, skipped\n");
      results.push_back(read_sweep_result(run_dir));
      continue;
    }
    if (fs::is_directory(checkpoint) && read_train_state(checkpoint).step < config.max_steps) {
      std::printf(": resuming its checkpoint\n");
      config.resume = true;
    } else if (fs::exists(run_dir)) {
      // Stopped before its first checkpoint, or after its last one but before its result: the run
      // is redone from the start rather than guessed at.
      std::printf(": incomplete and without a checkpoint to resume, starting it again\n");
      fs::remove_all(run_dir);
    } else {
      std::printf("\n");
    }
    std::fflush(stdout);
    const auto start = std::chrono::steady_clock::now();
    TrainResult trained;
    try {
      trained = train(config);
    } catch (const Error& e) { throw Error("sweep point " + points[i].name + ": " + e.what()); }
    SweepResult r;
    r.point = points[i];
    r.seconds = seconds_since(start);
    r.final_train_loss = trained.final_train_loss;
    r.final_val_loss = trained.final_val_loss;
    r.tokens = double(config.max_steps) * config.batch_size * config.grad_accum * config.block_size;
    r.flops =
        r.tokens * training_flops_per_token(read_checkpoint_config(checkpoint), config.block_size);
    write_sweep_result(run_dir, r);
    results.push_back(r);
    write_sweep_results(sweep_dir, axes, results);
  }
  write_sweep_results(sweep_dir, axes, results);
  std::printf("sweep: %zu points; results in %s and %s\n", points.size(),
              (sweep_dir / "results.csv").string().c_str(),
              (sweep_dir / "results.md").string().c_str());
}

}  // namespace

void register_sweep(CLI::App& app) {
  auto config = std::make_shared<TrainConfig>();
  auto grid = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "sweep", "Train one run per point of a grid of settings, into --out-dir/<point>");
  add_config_file_option(cmd);
  add_train_options(cmd, *config);
  cmd->add_option("--grid", *grid,
                  "Settings to vary: \"n_embd=64,128 learning_rate=1e-3,3e-3\", or a TOML file of "
                  "arrays (n_embd = [64, 128])")
      ->required();
  cmd->callback([config, grid] { run_sweep(*config, *grid); });
}

}  // namespace llm::cli
