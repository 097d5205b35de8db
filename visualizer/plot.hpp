#pragma once
// defines: viz::draw_chart (line charts of metric series) and viz::draw_heat_strip (layers x
// steps), drawn with ImDrawList since Debian has no ImPlot.
//
// A chart with more points than pixel columns is drawn per column: the raw minimum..maximum as a
// translucent band (the "envelope", so spikes stay visible) and the smoothed value as the line.
#include <span>
#include <string>

#include <imgui.h>

#include "visualizer/metrics.hpp"

namespace viz {

struct Curve {
  const char* label;
  const Series* series;
  ImU32 color;
  bool markers = false;  // dots on every point (sparse series such as the validation loss)
  bool smooth = true;    // apply the chart's EMA smoothing (off for the validation loss)
};

struct ChartOptions {
  bool log_y = false;
  float smoothing = 0.6f;  // EMA weight in [0, 1): s = w s + (1 - w) y, debiased as in TensorBoard
  bool envelope = true;    // min/max band per pixel column when points > pixels
  const char* report_name = nullptr;  // records the plot rectangle in the test report
  double marker_x = -1;  // >= 0: a vertical marker at this step (the timeline's checkpoint)
};

// A chart filling `size` (pass 0 for "the rest of the line" / a default height).
void draw_chart(const char* title, ImVec2 size, std::span<const Curve> curves,
                const ChartOptions& options);

// Per-layer values over steps as a heat map: one row per layer (layer 0 on top), one column per
// sample (bucketed to pixel columns when there are more), colour = log10(value) on the current
// colour map between the data's minimum and maximum, with a colour bar.
void draw_heat_strip(const char* title, ImVec2 size, const LayerSeries& data,
                     const char* report_name = nullptr);

// "Nice" tick positions (1, 2, 5 x 10^k steps) covering [lo, hi], at most about max_ticks of them.
std::vector<double> nice_ticks(double lo, double hi, int max_ticks);

}  // namespace viz
