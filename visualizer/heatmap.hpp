#pragma once
// defines: viz::HeatmapTexture, a matrix of values in [0, 1] as an OpenGL texture on the current
// colour map, drawn by ImGui::Image / ImDrawList::AddImage.
#include <cstdint>

#include <imgui.h>

namespace viz {

class HeatmapTexture {
 public:
  HeatmapTexture() = default;
  ~HeatmapTexture();
  HeatmapTexture(HeatmapTexture&& other) noexcept;
  HeatmapTexture& operator=(HeatmapTexture&& other) noexcept;
  HeatmapTexture(const HeatmapTexture&) = delete;
  HeatmapTexture& operator=(const HeatmapTexture&) = delete;

  // values: (rows, cols) row-major. Colour = heat(v^gamma): gamma < 1 lifts small probabilities
  // out of the black. With `causal`, cells above the diagonal (j > i, masked by attention) are
  // transparent. A matrix larger than max_size is max-pooled down first, so a one-cell pattern (a
  // previous-token head's diagonal) survives in a thumbnail; each cell then stays a flat colour
  // (nearest-neighbour magnification), so pixels map back to cells.
  // With `row_max`, each row is divided by its own maximum first (every query's strongest key is
  // full brightness: patterns in long sequences, where probabilities are small, become visible).
  void upload(const float* values, int rows, int cols, float gamma, bool causal,
              int max_size = 1 << 14, bool row_max = false);
  ImTextureID id() const { return reinterpret_cast<ImTextureID>(static_cast<intptr_t>(texture_)); }
  bool empty() const { return texture_ == 0; }

 private:
  unsigned texture_ = 0;  // GLuint
};

}  // namespace viz
