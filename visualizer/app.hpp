#pragma once
// defines: viz::Options (the command line), viz::Session (what is open), viz::run_app.
//
// The app is one full-window ImGui window: a header naming what is open, a red banner for errors
// and a yellow one for warnings, and one tab per panel:
//   dashboard    training curves from metrics.jsonl, live           panel_dashboard.cpp
//   attention    layer x head attention maps for a prompt           panel_attention.cpp
//   predictions  next-token distribution and sampling               panel_predictions.cpp
//   timeline     the same prompt across saved checkpoints           panel_timeline.cpp
//   story        the forward pass step by step, in plain words      panel_story.cpp
//   architecture the model's blocks, shapes, parameters, activations panel_architecture.cpp
// Kiosk mode (--kiosk) shows only the story, fullscreen, in large type, and plays it by itself
// after
// --idle-seconds without input; it quits only on Ctrl+Shift+Q.
// Bad input (a missing directory, a corrupt checkpoint, a malformed metrics line) becomes a message
// in a banner; the app keeps running.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "visualizer/metrics.hpp"
#include "visualizer/probe.hpp"
#include "visualizer/scripted_input.hpp"

namespace viz {

struct Options {
  std::filesystem::path path;  // a run directory, a checkpoint directory, or a metrics.jsonl
  std::string panel = "dashboard";
  std::string prompt = "The quick brown fox jumps over the lazy dog.";
  std::string screenshot;  // render headless frames, write this PNG, exit
  std::string report;      // with --screenshot: what was drawn where, as JSON (for tests)
  int width = 1280, height = 800;
  float scale = 0.0f;     // UI scale; 0 = the monitor's content scale (HiDPI)
  int warmup_frames = 8;  // frames rendered before the screenshot, so the layout settles
  bool synthetic_attention =
      false;  // show synthetic_attention() instead of running a model (tests)
  float hover_x = -1,
        hover_y = -1;        // with --screenshot: the mouse position (shows tooltips); -1: none
  bool click = false;        // with --hover: click there once the model has run
  int bench_frames = 0;      // with --screenshot: time this many frames after the model is done
  int story_step = 0;        // the story mode step shown first
  bool kiosk = false;        // fullscreen story only, large type, attract loop, Ctrl+Shift+Q quits
  double idle_seconds = 60;  // kiosk: seconds without input before the story plays by itself
  std::vector<std::string> presets;    // story mode's example sentences (empty: the built-in ones)
  std::string colormap = "viridis";    // heat maps: viridis, cividis or inferno
  std::vector<ScriptedPress> presses;  // --press: keys pressed on a schedule (tests)
  double seconds = 0;                  // --seconds: exit this long after the loop starts; 0: never
};

// Story mode's example sentences when --presets gives none.
std::vector<std::string> default_presets();
// Reads example sentences from a text file: one per line; blank lines and lines starting with '#'
// are skipped. Throws llm::Error naming the file when it cannot be read or holds no sentence.
std::vector<std::string> read_presets(const std::filesystem::path& file);

// What PATH turned out to be, and what was read from it.
struct Session {
  std::filesystem::path path;
  // sweep: a directory of runs, one per grid point (`glassbox sweep`), overlaid in the dashboard.
  enum class Kind { none, run, checkpoint, metrics_file, sweep } kind = Kind::none;
  std::filesystem::path metrics_path;              // RUN/metrics.jsonl (may not exist yet)
  std::vector<std::filesystem::path> checkpoints;  // checkpoint directories, oldest first
  std::vector<long long> checkpoint_steps;         // their training steps (-1: unknown)
  MetricsLog metrics;
  // A sweep's runs: each subdirectory holding a metrics.jsonl, by name, and its metrics.
  std::vector<std::string> sweep_names;
  std::vector<MetricsLog> sweep_metrics;
  std::vector<std::string> errors;  // shown in the red banner until the input changes
  std::string prompt;               // shared by the attention, predictions and timeline panels

  // The model: checkpoints[active] runs on the probe's worker thread; the timeline moves `active`.
  std::shared_ptr<ModelProbe> probe;  // kept across open(): its thread outlives one input
  int active = -1;                    // index into checkpoints; -1 = none
  std::shared_ptr<const ProbeResult> synthetic;  // --synthetic-attention: shown instead of a model

  // Asks the probe for (active checkpoint, prompt) unless that was the last request. Cheap.
  void request_probe();
  // What the model panels draw: the synthetic maps, or the probe's newest result (null if none
  // yet).
  std::shared_ptr<const ProbeResult> result() const;
  // True while the probe works on the newest request (the panels show a spinner).
  bool probe_busy() const;

  // Classifies `path` and lists what it holds; problems become entries in `errors`.
  void open(const std::filesystem::path& path);
  // Reads new metrics lines (cheap: only appended bytes, at most a few times a second) and, every
  // 2 s, looks for new checkpoints.
  void poll(double now_s);

 private:
  double last_poll_s_ = -1.0, last_scan_s_ = 0.0;
  std::filesystem::path requested_checkpoint_;
  std::string requested_prompt_;
};

// True when `dir` looks like a checkpoint directory (config.json + model.safetensors).
bool is_checkpoint_dir(const std::filesystem::path& dir);
// The runs of a sweep directory: its subdirectories that hold a metrics.jsonl, sorted by name.
std::vector<std::filesystem::path> find_sweep_runs(const std::filesystem::path& dir);

// Runs the window until it is closed (or, with --screenshot, until the PNG is written).
// Returns the process exit status.
int run_app(const Options& options);

}  // namespace viz
