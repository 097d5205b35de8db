// Shared drawing vocabulary: colour map, UI scale, the test report.
#include "visualizer/ui.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace viz {

namespace {

// Each map as evenly spaced stops (t = 0, 1/(n-1), ..., 1), linearly interpolated in sRGB. The
// stops are the published values of matplotlib's maps.
struct Stops {
  const unsigned char (*rgb)[3];
  int n;
};
constexpr unsigned char kViridis[10][3] = {
    {68, 1, 84},    {72, 40, 120},  {62, 73, 137},  {49, 104, 142}, {38, 130, 142},
    {31, 158, 137}, {53, 183, 121}, {110, 206, 88}, {181, 222, 43}, {253, 231, 37}};
constexpr unsigned char kCividis[10][3] = {
    {0, 34, 78},     {18, 53, 112},   {59, 73, 108},   {87, 93, 109},  {112, 113, 115},
    {138, 134, 120}, {165, 156, 116}, {195, 179, 105}, {225, 204, 85}, {254, 232, 56}};
constexpr unsigned char kInferno[11][3] = {
    {0, 0, 4},     {22, 11, 57},   {66, 10, 104},  {106, 23, 110}, {147, 38, 103}, {188, 55, 84},
    {221, 81, 58}, {243, 120, 25}, {252, 165, 10}, {246, 215, 70}, {252, 255, 164}};

Stops stops_of(Colormap map) {
  switch (map) {
    case Colormap::cividis: return {kCividis, 10};
    case Colormap::inferno: return {kInferno, 11};
    case Colormap::viridis: break;
  }
  return {kViridis, 10};
}

Colormap g_colormap = Colormap::viridis;

}  // namespace

Colormap colormap() { return g_colormap; }
void set_colormap(Colormap map) { g_colormap = map; }
ImU32 heat(float t) { return heat(g_colormap, t); }

ImU32 heat(Colormap map, float t) {
  const Stops s = stops_of(map);
  if (!(t >= 0.0f)) t = 0.0f;  // also catches NaN
  if (t > 1.0f) t = 1.0f;
  const float f = t * static_cast<float>(s.n - 1);
  const int i = std::min(static_cast<int>(f), s.n - 2);
  const float a = f - static_cast<float>(i);
  auto mix = [&](int c) {
    return static_cast<int>(std::lround(s.rgb[i][c] + a * (s.rgb[i + 1][c] - s.rgb[i][c])));
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
  if (story_step >= 0) {
    nlohmann::json top = nlohmann::json::array();
    for (const auto& [id, p] : story_top) top.push_back({{"id", id}, {"p", p}});
    j["story"] = {{"step", story_step},       {"steps", story_steps},   {"title", story_title},
                  {"caption", story_caption}, {"prompt", story_prompt}, {"top", top}};
  }
  j["regions"] = nlohmann::json::object();
  for (const Region& r : regions)
    j["regions"][r.name] = {{"x", r.x}, {"y", r.y},       {"w", r.w},
                            {"h", r.h}, {"rows", r.rows}, {"cols", r.cols}};
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

std::string percent(float p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, p >= 0.001f ? "%.1f%%" : "%.2g%%", 100.0 * p);
  return buf;
}

std::string short_number(double v) {
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1e9)
    std::snprintf(buf, sizeof buf, "%.3gG", v / 1e9);
  else if (a >= 1e6)
    std::snprintf(buf, sizeof buf, "%.3gM", v / 1e6);
  else if (a >= 1e3)
    std::snprintf(buf, sizeof buf, "%.3gk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace viz
