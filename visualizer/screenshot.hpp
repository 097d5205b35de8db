#pragma once
// defines: viz::write_screenshot, the current OpenGL framebuffer -> PNG.
#include <string>

namespace viz {

// Reads the back buffer (call after rendering, before swapping) of a width x height framebuffer and
// writes it as an RGB PNG. Returns an empty string on success, else the reason.
std::string write_screenshot(const std::string& path, int width, int height);

}  // namespace viz
