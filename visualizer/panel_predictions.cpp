// Next-token predictions: the model's distribution after the prompt, sampling, logit lens.
#include <imgui.h>

#include "visualizer/panels.hpp"

namespace viz {

void PredictionsPanel::draw(Session& session) {
  (void)session;
  draw_placeholder("Next-token predictions arrive with the CPU model: open a checkpoint directory.");
}

}  // namespace viz
