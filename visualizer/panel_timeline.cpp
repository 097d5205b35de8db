// The checkpoint timeline: one prompt seen through each saved checkpoint of a run.
#include <string>

#include <imgui.h>

#include "visualizer/panels.hpp"

namespace viz {

void TimelinePanel::draw(Session& session) {
  if (session.checkpoints.empty()) {
    draw_placeholder("No checkpoints found in this run directory yet.");
    return;
  }
  ImGui::Text("%zu checkpoints", session.checkpoints.size());
  for (const auto& dir : session.checkpoints) ImGui::BulletText("%s", dir.filename().string().c_str());
}

}  // namespace viz
