#pragma once
// defines: one struct per panel, each holding that panel's UI state next to its draw() (as in
// imgui_demo.cpp). The bodies live in panel_<name>.cpp.
#include "visualizer/app.hpp"

namespace viz {

// Training curves from metrics.jsonl (panel_dashboard.cpp).
struct DashboardPanel {
  float smoothing = 0.6f;  // EMA weight for the train curves
  bool log_y = true;       // log axis for loss and gradient norm
  bool envelope = true;    // min/max bands when points outnumber pixels
  void draw(Session& session);
};

// Layer x head attention maps for the prompt (panel_attention.cpp).
struct AttentionPanel {
  void draw(Session& session);
};

// Next-token distribution, sampling and logit lens (panel_predictions.cpp).
struct PredictionsPanel {
  void draw(Session& session);
};

// The prompt across saved checkpoints (panel_timeline.cpp).
struct TimelinePanel {
  void draw(Session& session);
};

// A centred grey hint in the remaining space, for panels with nothing to show yet.
void draw_placeholder(const char* text);

}  // namespace viz
