// glassbox-viz: the visualizer's command line. Everything else is in app.cpp and the panels.
//
//   glassbox-viz RUN_DIR                       the training dashboard, live while the run trains
//   glassbox-viz CHECKPOINT_DIR --panel attention --prompt "To be or not to be"
//   glassbox-viz RUN_DIR --screenshot out.png --panel dashboard     one frame to a PNG, then exit
//
// Bad input (a missing directory, a corrupt checkpoint, a malformed metrics line) is drawn as an
// error banner and also printed to stderr; the exit status stays 0 whenever the window (or the
// screenshot) could be made, so a screenshot of the error is possible. The status is 1 only when no
// window can be opened or the PNG cannot be written.
#include <cstdio>
#include <exception>
#include <vector>

#include <CLI/CLI.hpp>

#include "visualizer/app.hpp"

int main(int argc, char** argv) {
  viz::Options options;
  CLI::App cli{"glassbox-viz: attention, predictions and training curves of glassbox runs"};
  std::string path;
  cli.add_option(
      "path", path,
      "Run directory (metrics.jsonl, checkpoints), checkpoint directory, or metrics.jsonl");
  cli.add_option("--panel", options.panel, "Panel shown first")
      ->check(CLI::IsMember(
          {"dashboard", "attention", "predictions", "timeline", "story", "architecture"}));
  cli.add_option("--prompt", options.prompt, "Prompt for the attention and prediction panels");
  cli.add_option("--screenshot", options.screenshot, "Render headless, write this PNG and exit");
  cli.add_option("--report", options.report,
                 "With --screenshot: write what was drawn where as JSON");
  cli.add_option("--width", options.width, "Window width in screen coordinates")
      ->check(CLI::Range(320, 8192));
  cli.add_option("--height", options.height, "Window height in screen coordinates")
      ->check(CLI::Range(240, 8192));
  cli.add_option("--scale", options.scale, "UI scale (default: the monitor's content scale)")
      ->check(CLI::Range(0.5, 4.0));
  cli.add_option("--frames", options.warmup_frames, "With --screenshot: frames rendered first")
      ->check(CLI::Range(1, 10000));
  std::vector<float> hover;
  cli.add_option("--hover", hover,
                 "With --screenshot: put the mouse at X Y (window coordinates) to show tooltips")
      ->expected(2);
  cli.add_flag("--click", options.click,
               "With --screenshot and --hover: click the left button there once the model has run "
               "(tests)")
      ->needs("--hover");
  cli.add_flag(
      "--synthetic-attention", options.synthetic_attention,
      "Show a known synthetic attention pattern (2 layers, 4 heads, one token per prompt word) "
      "instead of running a model: for tests and docs");
  cli.add_option(
         "--bench", options.bench_frames,
         "With --screenshot: after the model has run, time this many frames and print the frame "
         "and probe times")
      ->check(CLI::Range(0, 100000));
  cli.add_option("--story-step", options.story_step,
                 "Story mode: the step shown first (0: the text)")
      ->check(CLI::Range(0, 10000));
  cli.add_flag("--kiosk", options.kiosk,
               "Kiosk mode: fullscreen story mode in large type, no file dialogs, plays by itself "
               "when idle; "
               "quit with Ctrl+Shift+Q");
  cli.add_option("--idle-seconds", options.idle_seconds,
                 "Kiosk mode: seconds without input before the story plays")
      ->check(CLI::Range(0.0, 86400.0));
  std::string presets;
  cli.add_option("--presets", presets,
                 "Story mode's example sentences: a text file, one per line ('#' comments)");
  std::vector<std::string> presses;
  cli.add_option("--press", presses,
                 "Press keys at a time, e.g. ctrl+shift+q@2.5 (seconds after start; repeatable): "
                 "for tests of kiosk mode")
      ->allow_extra_args(false);
  cli.add_option("--seconds", options.seconds,
                 "Exit after this many seconds, printing the app's state (tests)")
      ->check(CLI::Range(0.0, 86400.0));
  cli.add_option("--colormap", options.colormap, "Colour map of the heat maps")
      ->check(CLI::IsMember({"viridis", "cividis", "inferno"}));
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) { return cli.exit(e); }
  options.path = path;
  if (hover.size() == 2) {
    options.hover_x = hover[0];
    options.hover_y = hover[1];
  }
  try {
    if (!presets.empty()) options.presets = viz::read_presets(presets);
    for (const std::string& press : presses) options.presses.push_back(viz::parse_press(press));
    return viz::run_app(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "glassbox-viz: error: %s\n", e.what());
    return 1;
  }
}
