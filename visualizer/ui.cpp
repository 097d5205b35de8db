// Shared drawing vocabulary: colour map, UI scale, the test report.
#include "visualizer/ui.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace viz {

ImU32 inferno(float t) {
  // Matplotlib's inferno sampled at t = 0, 0.1, ..., 1 (its standard 11-stop hex table).
  static const unsigned char stops[11][3] = {
      {0, 0, 4},      {22, 11, 57},   {66, 10, 104},  {106, 23, 110}, {147, 38, 103}, {188, 55, 84},
      {221, 81, 58},  {243, 120, 25}, {252, 165, 10}, {246, 215, 70}, {252, 255, 164}};
  if (!(t >= 0.0f)) t = 0.0f;  // also catches NaN
  if (t > 1.0f) t = 1.0f;
  const float f = t * 10.0f;
  const int i = std::min(static_cast<int>(f), 9);
  const float a = f - static_cast<float>(i);
  auto mix = [&](int c) {
    return static_cast<int>(std::lround(stops[i][c] + a * (stops[i + 1][c] - stops[i][c])));
  };
  return IM_COL32(mix(0), mix(1), mix(2), 255);
}

float luma(unsigned char r, unsigned char g, unsigned char b) {
  return 0.2126f * r + 0.7152f * g + 0.0722f * b;
}

namespace {
float g_ui_scale = 1.0f;
}
float ui_scale() { return g_ui_scale; }
void set_ui_scale(float scale) { g_ui_scale = scale; }

void Report::region(const std::string& name, ImVec2 min, ImVec2 max, int rows, int cols) {
  // ImGui works in window coordinates; the framebuffer may be larger on HiDPI displays.
  const ImVec2 s = ImGui::GetIO().DisplayFramebufferScale;
  regions.push_back(
      {name, min.x * s.x, min.y * s.y, (max.x - min.x) * s.x, (max.y - min.y) * s.y, rows, cols});
}

std::string Report::json() const {
  nlohmann::json j;
  j["panel"] = panel;
  j["errors"] = errors;
  j["warnings"] = warnings;
  if (!bench.empty()) j["bench"] = bench;
  j["regions"] = nlohmann::json::object();
  for (const Region& r : regions)
    j["regions"][r.name] = {{"x", r.x}, {"y", r.y}, {"w", r.w}, {"h", r.h},
                            {"rows", r.rows}, {"cols", r.cols}};
  return j.dump(2);
}

Report& report() {
  static Report r;
  return r;
}

std::string label(const char* prefix, long long n) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%lld", prefix, n);
  return buf;
}

std::string short_number(double v) {
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1e9) std::snprintf(buf, sizeof buf, "%.3gG", v / 1e9);
  else if (a >= 1e6) std::snprintf(buf, sizeof buf, "%.3gM", v / 1e6);
  else if (a >= 1e3) std::snprintf(buf, sizeof buf, "%.3gk", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace viz
