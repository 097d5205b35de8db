#pragma once
// defines: one struct per panel, each holding that panel's UI state next to its draw() (as in
// imgui_demo.cpp). The bodies live in panel_<name>.cpp.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <imgui.h>

#include "visualizer/app.hpp"
#include "visualizer/heatmap.hpp"
#include "visualizer/ui.hpp"

namespace viz {

// Training curves from metrics.jsonl (panel_dashboard.cpp).
struct DashboardPanel {
  float smoothing = 0.6f;  // EMA weight for the train curves
  bool log_y = true;       // log axis for loss and gradient norm
  bool envelope = true;    // min/max bands when points outnumber pixels
  void draw(Session& session);
  // A sweep directory: every run's train and val loss overlaid, one colour per run.
  void draw_sweep(Session& session);
};

// Layer x head attention maps for the prompt (panel_attention.cpp).
struct AttentionPanel {
  int layer = 0, head = 0;  // the map shown large
  bool rollout = false;     // show attention rollout instead of one head
  int token = -1;           // highlighted key token: who attends to it? (-1: none)
  float gamma = 0.5f;       // colour = heat(p^gamma)
  bool row_max = false;     // scale each query row by its maximum before colouring
  void draw(Session& session);

 private:
  std::vector<HeatmapTexture> thumbnails_;  // L * NH
  HeatmapTexture zoom_;
  uint64_t thumbnails_of_ = 0, zoom_of_ = 0;  // result ids the textures show
  float thumbnails_gamma_ = -1, zoom_gamma_ = -1;
  bool thumbnails_row_max_ = false, zoom_row_max_ = false;
  int zoom_key_ = -1;
  Colormap thumbnails_map_ = Colormap::viridis,
           zoom_map_ = Colormap::viridis;  // the maps they were coloured with
};

// Next-token distribution, sampling and logit lens (panel_predictions.cpp).
struct PredictionsPanel {
  float temperature = 1.0f;
  int top_k = 0;       // 0 = no cut
  float top_p = 1.0f;  // 1 = no cut
  int bars = 16;       // tokens listed
  uint64_t seed = 1;
  void draw(Session& session);
  // The distribution bars alone (also used by the timeline), filling `size`.
  void draw_bars(const ProbeResult& result, ImVec2 size);

 private:
  std::mt19937_64 rng_{1};
  int steps_left_ = 0;        // "sample N": tokens still to append as results arrive
  std::vector<size_t> undo_;  // prompt lengths before each appended token
  // The distributions over the vocabulary, recomputed only when the result or a slider changes
  // (a sort over 50k tokens is too slow to redo every frame).
  struct Cached {
    uint64_t id = ~0ull;
    float temperature = -1, top_p = -1;
    int top_k = -1, bars = -1;
    std::vector<float> dist, model_p;
    std::vector<int32_t> order;  // the `bars` most likely tokens under dist
  } cached_;
};

// The prompt across saved checkpoints (panel_timeline.cpp): moving the slider makes every panel
// show that checkpoint.
struct TimelinePanel {
  bool playing = false;
  void draw(Session& session, AttentionPanel& attention, PredictionsPanel& predictions);

 private:
  double last_advance_ = 0;
};

// Story mode (panel_story.cpp): the forward pass told step by step in plain words, for visitors.
struct StoryPanel {
  int step = 0;           // the step shown (0: the text; see panel_story.cpp for the order)
  int token = -1;         // the token whose attention arcs are drawn (-1: the last)
  int top_k = 10;         // next tokens shown as bars
  bool autoplay = false;  // kiosk's attract loop: the story advances by itself (see play())
  std::vector<std::string> presets;  // example sentences
  int preset = 0;
  // Steps of the story for the model that produced `result`.
  int steps(const ProbeResult& result) const;
  // Starts over on presets[index] (wrapping around), at the first step.
  void restart(Session& session, int index);
  // Starts the attract loop: the next step comes a few seconds from now_s.
  void play(double now_s);
  void draw(Session& session, double now_s);

 private:
  std::mt19937_64 rng_{1};
  uint64_t sampled_for_ = 0;  // the result the drawn token belongs to
  int32_t sampled_ = 0;
  bool sample_next_ = false;  // the attract loop appends the drawn token this frame
  int appended_ = 0;          // tokens appended since the last restart
  double next_advance_s_ = 0;
};

// The model's blocks with their shapes, parameter counts and activation sizes
// (panel_architecture.cpp). A click on a layer's attention block asks for the attention tab at that
// layer (`open_attention_layer`).
struct ArchitecturePanel {
  int open_attention_layer = -1;  // set by a click; the app switches tabs and resets it
  void draw(Session& session);
};

// A centred grey hint in the remaining space, for panels with nothing to show yet.
void draw_placeholder(const char* text);

}  // namespace viz
