// Heatmap textures: colour-mapped on the CPU (a 256-entry table of the current colour map),
// uploaded as RGBA8.
#include "visualizer/heatmap.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <GLFW/glfw3.h>  // <GL/gl.h>: textures are OpenGL 1.1

#include "visualizer/ui.hpp"

namespace viz {

HeatmapTexture::~HeatmapTexture() {
  if (texture_) glDeleteTextures(1, &texture_);
}

HeatmapTexture::HeatmapTexture(HeatmapTexture&& other) noexcept
    : texture_(std::exchange(other.texture_, 0)) {}

HeatmapTexture& HeatmapTexture::operator=(HeatmapTexture&& other) noexcept {
  if (this != &other) {
    if (texture_) glDeleteTextures(1, &texture_);
    texture_ = std::exchange(other.texture_, 0);
  }
  return *this;
}

void HeatmapTexture::upload(const float* values, int rows, int cols, float gamma, bool causal,
                            int max_size, bool row_max) {
  std::vector<float> scaled;
  if (row_max) {
    scaled.assign(values, values + static_cast<size_t>(rows) * cols);
    for (int i = 0; i < rows; i++) {
      float* row = &scaled[static_cast<size_t>(i) * cols];
      const float m = *std::max_element(row, row + cols);
      if (m > 0)
        for (int j = 0; j < cols; j++) row[j] /= m;
    }
    values = scaled.data();
  }
  // Max-pool to at most max_size per side: output cell (r, c) covers input rows [r*rows/R, ...).
  const int R = std::min(rows, max_size), C = std::min(cols, max_size);
  static ImU32 table[256];
  static int table_map = -1;  // the Colormap the table holds
  if (table_map != static_cast<int>(colormap())) {
    for (int k = 0; k < 256; k++) table[k] = heat(k / 255.0f);
    table_map = static_cast<int>(colormap());
  }
  std::vector<ImU32> rgba(static_cast<size_t>(R) * C);
  for (int r = 0; r < R; r++) {
    const int i0 = static_cast<int>(static_cast<int64_t>(r) * rows / R);
    const int i1 = std::max(i0 + 1, static_cast<int>(static_cast<int64_t>(r + 1) * rows / R));
    for (int c = 0; c < C; c++) {
      const int j0 = static_cast<int>(static_cast<int64_t>(c) * cols / C);
      const int j1 = std::max(j0 + 1, static_cast<int>(static_cast<int64_t>(c + 1) * cols / C));
      float v = -1.0f;  // stays negative when every covered cell is masked
      for (int i = i0; i < i1; i++)
        for (int j = j0; j < std::min(j1, causal ? i + 1 : j1); j++)
          v = std::max(v, values[static_cast<size_t>(i) * cols + j]);
      if (v < 0.0f) {
        rgba[static_cast<size_t>(r) * C + c] = 0;  // transparent: masked
      } else {
        const float t = std::pow(std::clamp(v, 0.0f, 1.0f), gamma);
        rgba[static_cast<size_t>(r) * C + c] = table[static_cast<int>(std::lround(t * 255.0f))];
      }
    }
  }
  if (!texture_) glGenTextures(1, &texture_);
  glBindTexture(GL_TEXTURE_2D, texture_);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  // ImU32 is 0xAABBGGRR: on a little-endian machine its bytes are R, G, B, A.
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, C, R, 0, GL_RGBA, GL_UNSIGNED_BYTE, rgba.data());
}

}  // namespace viz
