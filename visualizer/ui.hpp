#pragma once
// defines: the visualizer's shared drawing vocabulary: the colour map, the theme colours, the UI
// scale, and the Report that tests read (what was drawn where, and which errors were shown).
#include <string>
#include <utility>
#include <vector>

#include <imgui.h>

namespace viz {

// ---- colours ----
// The heat maps' colour scale, chosen with --colormap or in the header. All three are perceptually
// uniform and their lightness rises monotonically, so "brighter" always means "larger" (tests rely
// on this) and they stay readable in greyscale and for the common colour-vision deficiencies:
//   viridis   dark purple -> blue -> green -> yellow (the default)
//   cividis   dark blue -> grey -> yellow, made for deuteranopia and protanopia (red-green
//   blindness) inferno   black -> purple -> orange -> pale yellow
enum class Colormap { viridis, cividis, inferno };
constexpr const char* kColormapNames[] = {"viridis", "cividis", "inferno"};
Colormap colormap();
void set_colormap(Colormap map);
// The current map at t in [0, 1] (clamped; NaN counts as 0).
ImU32 heat(float t);
// One named map at t, whatever the current one is.
ImU32 heat(Colormap map, float t);
// Lightness of a colour as the eye sees it (Rec. 709 luma), 0..255; the inverse question to the
// above.
float luma(unsigned char r, unsigned char g, unsigned char b);

// Curve colours, chosen to be distinct on the dark background.
namespace colors {
constexpr ImU32 train = IM_COL32(86, 156, 255, 255);           // blue
constexpr ImU32 val = IM_COL32(255, 140, 60, 255);             // orange
constexpr ImU32 lr = IM_COL32(120, 210, 140, 255);             // green
constexpr ImU32 grad = IM_COL32(230, 110, 200, 255);           // pink
constexpr ImU32 speed = IM_COL32(240, 210, 90, 255);           // yellow
constexpr ImU32 hellaswag = IM_COL32(180, 140, 255, 255);      // violet: acc
constexpr ImU32 hellaswag_norm = IM_COL32(90, 215, 225, 255);  // cyan: acc_norm
constexpr ImU32 error_bg = IM_COL32(120, 28, 32, 255);         // the error banner
constexpr ImU32 warning_bg = IM_COL32(110, 84, 20, 255);
constexpr ImU32 frame_bg = IM_COL32(22, 24, 30, 255);  // chart backgrounds
constexpr ImU32 grid = IM_COL32(255, 255, 255, 22);
constexpr ImU32 axis_text = IM_COL32(170, 175, 185, 255);
}  // namespace colors

// The UI scale: the window's content scale (HiDPI), times the user's zoom. Sizes in pixels at
// scale 1 are multiplied by it, e.g. px(8).
float ui_scale();
void set_ui_scale(float scale);
inline float px(float pixels_at_scale_1) { return pixels_at_scale_1 * ui_scale(); }

// ---- the report: what the last frame showed, for --report FILE.json and the tests ----
struct Region {
  std::string name;                  // e.g. "dashboard.heat.layer_grad_norm"
  float x = 0, y = 0, w = 0, h = 0;  // framebuffer pixels, origin top-left
  int rows = 0, cols = 0;            // for grids: the cells the rectangle is divided into
};
struct Report {
  std::string panel;
  std::vector<std::string> errors;    // shown in the red banner
  std::vector<std::string> warnings;  // shown in the yellow banner
  std::vector<Region> regions;
  std::string bench;  // --bench: one line of timings
  // Story mode: the step shown and the next-token probabilities on screen (tests compare them with
  // `glassbox sample --top-probs`).
  int story_step = -1, story_steps = 0;
  std::string story_title, story_caption, story_prompt;
  std::vector<std::pair<int, float>> story_top;  // (token id, probability), most likely first
  void begin_frame() { regions.clear(); }
  // Records a rectangle drawn this frame (ImGui coordinates, converted to framebuffer pixels).
  void region(const std::string& name, ImVec2 min, ImVec2 max, int rows = 0, int cols = 0);
  std::string json() const;
};
Report& report();

// "L3", "H11", "#42": a short prefix and an integer. (Also sidesteps GCC 12's false -Wrestrict
// warning on "L" + std::to_string(n).)
std::string label(const char* prefix, long long n);

// A probability as a percentage: 13.2%, 0.42%, 0.0021% (small ones keep two significant digits).
std::string percent(float p);

// A short number: 3 significant digits, k/M/G suffixes from 1000 on, e.g. 1.5k, 51.2k.
std::string short_number(double v);

}  // namespace viz
