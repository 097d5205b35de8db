// Framebuffer -> PNG with glReadPixels and stb_image_write (the implementation is in libstb).
#include "visualizer/screenshot.hpp"

#include <algorithm>
#include <vector>

#include <GLFW/glfw3.h>  // brings <GL/gl.h>: glReadPixels is OpenGL 1.0
#include <stb_image_write.h>

namespace viz {

std::string write_screenshot(const std::string& path, int width, int height) {
  if (width <= 0 || height <= 0) return "empty framebuffer";
  std::vector<unsigned char> pixels(static_cast<size_t>(width) * height * 3);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);  // rows of width*3 bytes, no padding
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE, pixels.data());
  if (glGetError() != GL_NO_ERROR) return "glReadPixels failed";
  // OpenGL's rows run bottom-up, PNG's top-down.
  const size_t row = static_cast<size_t>(width) * 3;
  std::vector<unsigned char> flipped(pixels.size());
  for (int y = 0; y < height; y++)
    std::copy_n(&pixels[(height - 1 - y) * row], row, &flipped[y * row]);
  if (!stbi_write_png(path.c_str(), width, height, 3, flipped.data(), static_cast<int>(row)))
    return "cannot write " + path;
  return "";
}

}  // namespace viz
