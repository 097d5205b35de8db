// The attention explorer: the prompt's attention probabilities for every layer and head.
#include <imgui.h>

#include "visualizer/panels.hpp"

namespace viz {

void AttentionPanel::draw(Session& session) {
  (void)session;
  draw_placeholder("The attention explorer arrives with the CPU model: open a checkpoint directory.");
}

}  // namespace viz
