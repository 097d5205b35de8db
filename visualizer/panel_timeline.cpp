// The checkpoint timeline: scrub a run's saved checkpoints (RUN/snapshots/step_*, RUN/checkpoint);
// the attention explorer and the predictions follow, so one prompt can be watched changing over
// training. Results are cached by the probe, so scrubbing back is instant.
#include <algorithm>
#include <cstdio>
#include <string>

#include <imgui.h>

#include "visualizer/panels.hpp"
#include "visualizer/plot.hpp"
#include "visualizer/ui.hpp"

namespace viz {

void TimelinePanel::draw(Session& session, AttentionPanel& attention,
                         PredictionsPanel& predictions) {
  const int n = static_cast<int>(session.checkpoints.size());
  if (n == 0) {
    draw_placeholder(
        session.kind == Session::Kind::run
            ? "No checkpoints in this run yet: train with --snapshot-interval to save some."
            : "Open a run directory with saved checkpoints to scrub through training.");
    return;
  }
  int index = std::clamp(session.active, 0, n - 1);

  // Scrubber: a slider over the checkpoints, previous / next, and play.
  auto label_of = [&](int i) {
    const long long step = session.checkpoint_steps[i];
    return session.checkpoints[i].filename().string() +
           (step >= 0 ? "  (step " + std::to_string(step) + ")" : "");
  };
  if (ImGui::ArrowButton("prev", ImGuiDir_Left) && index > 0) index--;
  ImGui::SameLine();
  if (ImGui::ArrowButton("next", ImGuiDir_Right) && index < n - 1) index++;
  ImGui::SameLine();
  if (ImGui::Button(playing ? "pause" : "play", ImVec2(px(60), 0))) {
    playing = !playing;
    if (playing && index == n - 1) index = 0;
  }
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x);
  const std::string shown = label_of(index);
  ImGui::SliderInt("##checkpoint", &index, 0, n - 1, shown.c_str());
  if (playing && !session.probe_busy() && ImGui::GetTime() - last_advance_ > 0.8) {
    last_advance_ = ImGui::GetTime();
    if (index < n - 1)
      index++;
    else
      playing = false;
  }
  session.active = index;

  // Where this checkpoint sits on the loss curve.
  const MetricsLog& m = session.metrics;
  if (m.loss.size()) {
    ChartOptions options;
    options.log_y = true;
    options.smoothing = 0.6f;
    options.marker_x = static_cast<double>(std::max(0LL, session.checkpoint_steps[index]));
    if (session.checkpoint_steps[index] < 0) options.marker_x = m.loss.x.back();
    const Curve curves[] = {{"train", &m.loss, colors::train},
                            {"val", &m.val_loss, colors::val, true, false}};
    draw_chart("loss over training (marker: this checkpoint)", ImVec2(0, px(150)), curves, options);
  }

  // The same prompt under this checkpoint: attention (left) and the next-token distribution
  // (right).
  const float right_w = std::min(px(380), ImGui::GetContentRegionAvail().x * 0.32f);
  ImGui::BeginChild("timeline_attention",
                    ImVec2(ImGui::GetContentRegionAvail().x - right_w - px(12), 0), false);
  attention.draw(session);
  ImGui::EndChild();
  ImGui::SameLine(0, px(12));
  ImGui::BeginChild("timeline_predictions", ImVec2(0, 0), false);
  const auto r = session.result();
  ImGui::Text("next token");
  if (r && r->error.empty() && !r->last_logits.empty()) {
    ImGui::TextDisabled("temperature %.2f, top-k %d, top-p %.2f", predictions.temperature,
                        predictions.top_k, predictions.top_p);
    predictions.draw_bars(*r, ImVec2(0, ImGui::GetContentRegionAvail().y));
  }
  ImGui::EndChild();
  report().region("timeline.scrubber", ImVec2(0, 0), ImVec2(0, 0), n, 1);
}

}  // namespace viz
