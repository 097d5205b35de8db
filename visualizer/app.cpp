// The app shell: window and ImGui set-up, HiDPI, the frame loop, the header, the banners and the
// panel tabs, and the --screenshot path.
//
// [SECTION] Session: what PATH is
// [SECTION] Look: fonts, theme, scale
// [SECTION] Frame: header, banners, tabs
// [SECTION] run_app: the loop
#include "visualizer/app.hpp"

#include <algorithm>
#include <cctype>
#include <cfloat>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <system_error>

#include <GLFW/glfw3.h>
#include <imgui.h>
#include <nlohmann/json.hpp>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>
#include <imgui_stdlib.h>

#include "llm/core/error.hpp"
#include "visualizer/panels.hpp"
#include "visualizer/screenshot.hpp"
#include "visualizer/scripted_input.hpp"
#include "visualizer/ui.hpp"

namespace fs = std::filesystem;

namespace viz {

// ---------------------------------------------------------------------------------------------
// [SECTION] Session: what PATH is
// ---------------------------------------------------------------------------------------------

bool is_checkpoint_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "config.json", ec) &&
         fs::is_regular_file(dir / "model.safetensors", ec);
}

namespace {

// The last run of digits in a name ("step_000500" -> 500), for ordering checkpoints. A name without
// one (the trainer's RUN/checkpoint, overwritten as it goes) counts as the newest.
long long trailing_number(const std::string& name) {
  size_t end = name.size();
  while (end > 0 && !std::isdigit(static_cast<unsigned char>(name[end - 1]))) end--;
  size_t begin = end;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(name[begin - 1]))) begin--;
  if (begin == end) return std::numeric_limits<long long>::max();
  return std::stoll(name.substr(begin, std::min<size_t>(end - begin, 18)));
}

// Checkpoint directories up to two levels below `run`: the trainer writes RUN/checkpoint and
// periodic snapshots RUN/snapshots/step_000500.
std::vector<fs::path> find_checkpoints(const fs::path& run) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (auto it =
           fs::recursive_directory_iterator(run, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 1) {
      it.disable_recursion_pending();
      continue;
    }
    const fs::path::string_type ext = it->path().extension().native();
    if (ext == ".tmp" || ext == ".old") {  // a checkpoint being written (see save_model_checkpoint)
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory(ec) && is_checkpoint_dir(it->path())) {
      found.push_back(it->path());
      it.disable_recursion_pending();
    }
  }
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    const long long na = trailing_number(a.filename().string()),
                    nb = trailing_number(b.filename().string());
    return na != nb ? na < nb : a < b;
  });
  return found;
}

// The step a checkpoint was taken at: train_state.json's "step" when present (the trainer's
// RUN/checkpoint), else the number in the name (RUN/snapshots/step_000500), else -1.
long long checkpoint_step(const fs::path& dir) {
  std::ifstream in(dir / "train_state.json");
  if (in) {
    const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_object() && j.contains("step") && j["step"].is_number_integer())
      return j["step"].get<long long>();
  }
  const long long n = trailing_number(dir.filename().string());
  return n == std::numeric_limits<long long>::max() ? -1 : n;
}

}  // namespace

std::vector<fs::path> find_sweep_runs(const fs::path& dir) {
  std::vector<fs::path> runs;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec))
    if (e.is_directory(ec) && fs::is_regular_file(e.path() / "metrics.jsonl", ec))
      runs.push_back(e.path());
  std::sort(runs.begin(), runs.end());
  return runs;
}

void Session::open(const fs::path& p) {
  std::shared_ptr<ModelProbe> keep_probe = std::move(probe);
  const std::string keep_prompt = prompt;
  *this = Session{};
  probe = std::move(keep_probe);
  prompt = keep_prompt;
  path = p;
  if (p.empty()) return;
  std::error_code ec;
  const auto status = fs::status(p, ec);
  if (ec || !fs::exists(status)) {
    errors.push_back("cannot open " + p.string() + ": no such file or directory");
    return;
  }
  if (fs::is_regular_file(status)) {
    if (p.extension() == ".jsonl") {
      kind = Kind::metrics_file;
      metrics_path = p;
    } else if (p.filename() == "config.json" || p.filename() == "model.safetensors") {
      kind = Kind::checkpoint;
      path = p.parent_path();
      checkpoints = {path};
    } else {
      errors.push_back(p.string() +
                       " is not a run directory, a checkpoint directory or a .jsonl file");
      return;
    }
  } else if (is_checkpoint_dir(p)) {
    kind = Kind::checkpoint;
    checkpoints = {p};
  } else if (fs::is_directory(status) && !fs::exists(p / "metrics.jsonl", ec) &&
             !find_sweep_runs(p).empty()) {
    kind = Kind::sweep;
    for (const fs::path& run : find_sweep_runs(p)) {
      sweep_names.push_back(run.filename().string());
      sweep_metrics.emplace_back(run / "metrics.jsonl");
      sweep_metrics.back().poll();
    }
    return;
  } else if (fs::is_directory(status)) {
    kind = Kind::run;
    metrics_path = p / "metrics.jsonl";
    checkpoints = find_checkpoints(p);
    if (!fs::exists(metrics_path, ec) && checkpoints.empty())
      errors.push_back(
          p.string() +
          " has no metrics.jsonl and no checkpoint directories: is it a run directory?");
  } else {
    errors.push_back(p.string() + " is not a regular file or a directory");
    return;
  }
  active = static_cast<int>(checkpoints.size()) - 1;  // the newest
  for (const fs::path& dir : checkpoints) checkpoint_steps.push_back(checkpoint_step(dir));
  if (!metrics_path.empty()) {
    metrics = MetricsLog(metrics_path);
    metrics.poll();
  }
}

std::vector<std::string> default_presets() {
  return {"ROMEO: But soft, what light", "To be, or not to be, that is the question",
          "Once upon a time, there was a", "The quick brown fox jumps over the lazy"};
}

std::vector<std::string> read_presets(const fs::path& file) {
  std::ifstream in(file);
  llm::check(static_cast<bool>(in), "--presets " + file.string() + ": cannot read the file");
  std::vector<std::string> presets;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] != '#') presets.push_back(line);
  }
  llm::check(!presets.empty(),
             "--presets " + file.string() + ": expected one sentence per line, found none");
  return presets;
}

void Session::request_probe() {
  if (synthetic || active < 0 || active >= static_cast<int>(checkpoints.size())) return;
  const fs::path& checkpoint = checkpoints[active];
  if (probe && checkpoint == requested_checkpoint_ && prompt == requested_prompt_) return;
  if (!probe) probe = std::make_shared<ModelProbe>([] { glfwPostEmptyEvent(); });
  probe->request(checkpoint, prompt);
  requested_checkpoint_ = checkpoint;
  requested_prompt_ = prompt;
}

std::shared_ptr<const ProbeResult> Session::result() const {
  if (synthetic) return synthetic;
  return probe ? probe->result() : nullptr;
}

bool Session::probe_busy() const { return !synthetic && probe && probe->busy(); }

void Session::poll(double now_s) {
  if (kind == Kind::sweep) {
    // Every run's new lines; every 2 s, the points that have started since.
    if (now_s - last_poll_s_ < 0.25) return;
    last_poll_s_ = now_s;
    for (MetricsLog& m : sweep_metrics) m.poll();
    if (now_s - last_scan_s_ < 2.0) return;
    last_scan_s_ = now_s;
    for (const fs::path& run : find_sweep_runs(path)) {
      if (std::find(sweep_names.begin(), sweep_names.end(), run.filename().string()) !=
          sweep_names.end())
        continue;
      sweep_names.push_back(run.filename().string());
      sweep_metrics.emplace_back(run / "metrics.jsonl");
      sweep_metrics.back().poll();
    }
    return;
  }
  if (kind != Kind::run && kind != Kind::metrics_file) return;
  if (now_s - last_poll_s_ < 0.25) return;
  last_poll_s_ = now_s;
  metrics.poll();
  if (metrics.file_exists() || !checkpoints.empty())  // an empty run directory has started to fill
    std::erase_if(errors, [](const std::string& e) {
      return e.find("has no metrics.jsonl") != std::string::npos;
    });

  // New snapshots appear while a run trains: rescan every 2 s. The view stays on the checkpoint it
  // shows, or follows the newest when it showed the newest.
  if (kind != Kind::run || now_s - last_scan_s_ < 2.0) return;
  last_scan_s_ = now_s;
  std::vector<fs::path> found = find_checkpoints(path);
  if (found == checkpoints) return;
  const bool follow = active == static_cast<int>(checkpoints.size()) - 1;
  const fs::path shown = active >= 0 ? checkpoints[active] : fs::path();
  checkpoints = std::move(found);
  checkpoint_steps.clear();
  for (const fs::path& dir : checkpoints) checkpoint_steps.push_back(checkpoint_step(dir));
  active = static_cast<int>(checkpoints.size()) - 1;
  if (!follow)
    for (size_t i = 0; i < checkpoints.size(); i++)
      if (checkpoints[i] == shown) active = static_cast<int>(i);
}

// ---------------------------------------------------------------------------------------------
// [SECTION] Look: fonts, theme, scale
// ---------------------------------------------------------------------------------------------

namespace {

// DejaVu Sans when fonts-dejavu-core is installed (it is wherever GLFW's Debian packages are),
// otherwise ImGui's built-in bitmap font.
const char* const kFontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

void apply_look(float scale) {
  set_ui_scale(scale);
  ImGuiIO& io = ImGui::GetIO();
  io.Fonts->Clear();
  std::error_code ec;
  if (fs::exists(kFontPath, ec)) {
    ImFontConfig config;
    config.OversampleH = 2;
    io.Fonts->AddFontFromFileTTF(kFontPath, 15.0f * scale, &config);
  } else {
    ImFontConfig config;
    config.SizePixels = 13.0f * scale;
    io.Fonts->AddFontDefault(&config);
  }

  ImGuiStyle style;
  ImGui::StyleColorsDark(&style);
  style.WindowRounding = 0;
  style.WindowBorderSize = 0;
  style.FrameRounding = 4;
  style.GrabRounding = 4;
  style.TabRounding = 4;
  style.FramePadding = ImVec2(8, 4);
  style.ItemSpacing = ImVec2(10, 8);
  style.WindowPadding = ImVec2(12, 10);
  ImVec4* c = style.Colors;
  c[ImGuiCol_WindowBg] = ImVec4(0.055f, 0.060f, 0.075f, 1.0f);
  c[ImGuiCol_FrameBg] = ImVec4(0.14f, 0.15f, 0.19f, 1.0f);
  c[ImGuiCol_FrameBgHovered] = ImVec4(0.20f, 0.22f, 0.28f, 1.0f);
  c[ImGuiCol_Tab] = ImVec4(0.12f, 0.13f, 0.17f, 1.0f);
  c[ImGuiCol_TabHovered] = ImVec4(0.26f, 0.42f, 0.70f, 1.0f);
  c[ImGuiCol_TabActive] = ImVec4(0.20f, 0.34f, 0.60f, 1.0f);
  c[ImGuiCol_SliderGrab] = ImVec4(0.34f, 0.61f, 1.0f, 1.0f);
  c[ImGuiCol_CheckMark] = ImVec4(0.34f, 0.61f, 1.0f, 1.0f);
  style.ScaleAllSizes(scale);
  ImGui::GetStyle() = style;
}

}  // namespace

void draw_placeholder(const char* text) {
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float wrap = std::min(avail.x, px(520));
  const ImVec2 size = ImGui::CalcTextSize(text, nullptr, false, wrap);
  const ImVec2 cursor = ImGui::GetCursorPos();
  ImGui::SetCursorPos(
      ImVec2(cursor.x + (avail.x - size.x) / 2, cursor.y + std::max(0.0f, avail.y / 2 - size.y)));
  ImGui::PushTextWrapPos(ImGui::GetCursorPos().x + wrap);
  ImGui::TextDisabled("%s", text);
  ImGui::PopTextWrapPos();
}

// ---------------------------------------------------------------------------------------------
// [SECTION] Frame: header, banners, tabs
// ---------------------------------------------------------------------------------------------

namespace {

struct Panels {
  DashboardPanel dashboard;
  AttentionPanel attention;
  PredictionsPanel predictions;
  TimelinePanel timeline;
  StoryPanel story;
  ArchitecturePanel architecture;
};

constexpr int kPanels = 6;
constexpr const char* kPanelNames[kPanels] = {"dashboard", "attention", "predictions",
                                              "timeline",  "story",     "architecture"};
constexpr const char* kPanelTitles[kPanels] = {"Training dashboard", "Attention", "Predictions",
                                               "Timeline",           "Story",     "Architecture"};
constexpr int kStoryPanel = 4;

// What the header's controls change between frames.
struct View {
  int selected = 0;    // the tab shown
  bool select = true;  // make `selected` the open tab this frame (--panel, or a click elsewhere)
  float font_zoom = 1.0f;  // the font-size control, times the UI scale
  bool kiosk = false;
};

// A full-width coloured box with wrapped text.
void banner(ImU32 color, const char* label, const std::string& text) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float width = ImGui::GetContentRegionAvail().x;
  const ImVec2 pad(px(10), px(6));
  const std::string full = std::string(label) + "  " + text;
  const ImVec2 size = ImGui::CalcTextSize(full.c_str(), nullptr, false, width - 2 * pad.x);
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const ImVec2 q(p.x + width, p.y + size.y + 2 * pad.y);
  dl->AddRectFilled(p, q, color, px(4));
  dl->AddText(ImGui::GetFont(), ImGui::GetFontSize(), ImVec2(p.x + pad.x, p.y + pad.y),
              IM_COL32(255, 255, 255, 255), full.c_str(), nullptr, width - 2 * pad.x);
  ImGui::Dummy(ImVec2(width, q.y - p.y));
  report().region(std::string("banner.") + (color == colors::error_bg ? "error" : "warning"), p, q);
}

// The researcher's header: what is open, the path box, the colour map and the font size.
void draw_header(Session& session, View& view, std::string& open_text) {
  const char* kind = "";
  switch (session.kind) {
    case Session::Kind::run: kind = "run"; break;
    case Session::Kind::checkpoint: kind = "checkpoint"; break;
    case Session::Kind::metrics_file: kind = "metrics"; break;
    case Session::Kind::sweep: kind = "sweep"; break;
    case Session::Kind::none: kind = "nothing open"; break;
  }
  ImGui::TextDisabled("%s", kind);
  ImGui::SameLine();
  const float open_w = px(70), controls_w = px(250);
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - open_w - controls_w -
                          2 * ImGui::GetStyle().ItemSpacing.x);
  const bool enter =
      ImGui::InputTextWithHint("##path", "run directory, checkpoint directory or metrics.jsonl",
                               &open_text, ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  if (ImGui::Button("Open", ImVec2(open_w, 0)) || enter) {
    const std::string prompt = session.prompt;
    session.open(open_text);
    session.prompt = prompt;
  }
  ImGui::SameLine();
  ImGui::SetNextItemWidth(px(100));
  int map = static_cast<int>(colormap());
  if (ImGui::Combo("##colormap", &map, kColormapNames, 3)) set_colormap(static_cast<Colormap>(map));
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("colour map of the heat maps (all readable with colour blindness)");
  ImGui::SameLine();
  if (ImGui::Button("A-")) view.font_zoom = std::max(0.6f, view.font_zoom / 1.15f);
  ImGui::SameLine();
  if (ImGui::Button("A+")) view.font_zoom = std::min(3.0f, view.font_zoom * 1.15f);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("font size");
}

void draw_frame(Session& session, Panels& panels, View& view, std::string& open_text,
                double now_s) {
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(vp->WorkPos);
  ImGui::SetNextWindowSize(vp->WorkSize);
  ImGui::Begin("glassbox-viz", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                   ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus);

  // Header: name, what is open, a path box to open something else, the colour map and the font
  // size. Kiosk mode has none of it: only a line saying what the visitor is looking at.
  ImGui::TextColored(ImVec4(0.45f, 0.68f, 1.0f, 1.0f), "glassbox-viz");
  ImGui::SameLine();
  if (view.kiosk) {
    ImGui::TextDisabled(
        "how a language model picks the next word: press Next, or type your own sentence");
  } else {
    draw_header(session, view, open_text);
  }

  // Banners: errors (input that could not be used) and warnings (input partly used).
  Report& rep = report();
  rep.errors = session.errors;
  rep.warnings.clear();
  const MetricsLog& m = session.metrics;
  if (m.bad_lines > 0)
    rep.warnings.push_back(std::to_string(m.bad_lines) + " malformed line" +
                           (m.bad_lines > 1 ? "s" : "") + " in " + m.path().string() +
                           " skipped (first: " + m.first_bad_line + ")");
  if (session.kind == Session::Kind::run && !m.file_exists() && session.errors.empty())
    rep.warnings.push_back("waiting for " + session.metrics_path.string());
  if (auto r = session.result(); r && !r->error.empty() && !session.probe_busy())
    rep.errors.push_back(r->error);
  for (const std::string& e : rep.errors) banner(colors::error_bg, "Error:", e);
  for (const std::string& w : rep.warnings) banner(colors::warning_bg, "Warning:", w);

  // Kiosk: the story alone.
  if (view.kiosk) {
    rep.panel = "story";
    ImGui::BeginChild("story", ImVec2(0, 0), false);
    panels.story.draw(session, now_s);
    ImGui::EndChild();
    ImGui::End();
    return;
  }
  // The panels, one tab each.
  if (ImGui::BeginTabBar("panels")) {
    const int requested =
        view.select ? view.selected : -1;  // --panel, or the architecture view's click
    view.select = false;
    for (int i = 0; i < kPanels; i++) {
      const ImGuiTabItemFlags flags = i == requested ? ImGuiTabItemFlags_SetSelected : 0;
      if (ImGui::BeginTabItem(kPanelTitles[i], nullptr, flags)) {
        view.selected = i;
        rep.panel = kPanelNames[i];
        ImGui::BeginChild(kPanelNames[i], ImVec2(0, 0), false);
        switch (i) {
          case 0: panels.dashboard.draw(session); break;
          case 1: panels.attention.draw(session); break;
          case 2: panels.predictions.draw(session); break;
          case 3: panels.timeline.draw(session, panels.attention, panels.predictions); break;
          case 4: panels.story.draw(session, now_s); break;
          case 5: panels.architecture.draw(session); break;
        }
        ImGui::EndChild();
        ImGui::EndTabItem();
      }
    }
    ImGui::EndTabBar();
  }
  ImGui::End();
  if (panels.architecture.open_attention_layer >= 0) {  // a click on a layer's attention block
    panels.attention.layer = panels.architecture.open_attention_layer;
    panels.attention.rollout = false;
    panels.architecture.open_attention_layer = -1;
    view.selected = 1;
    view.select = true;
  }
}

// One line of the app's state on stdout, with the seconds since the loop started: what the kiosk
// does (a log at the booth) and what --press and --seconds tests read.
double loop_start_s = 0;
void say(double now_s, const std::string& what) {
  std::printf("glassbox-viz: %.2f s: %s\n", now_s - loop_start_s, what.c_str());
  std::fflush(stdout);
}

// The scripted presses (--press) of this frame as keyboard input to ImGui: their keys down for
// this frame, the previous frame's released. (The GLFW backend of ImGui 1.86 keeps io.KeysDown
// by GLFW key code and sets the modifiers from it.)
void feed_keys(const std::vector<ScriptedPress>& now, std::vector<int>& held) {
  ImGuiIO& io = ImGui::GetIO();
  for (int key : held) io.KeysDown[key] = false;
  held.clear();
  for (const ScriptedPress& p : now)
    for (int key : p.keys) {
      io.KeysDown[key] = true;
      held.push_back(key);
    }
  io.KeyCtrl = io.KeysDown[GLFW_KEY_LEFT_CONTROL] || io.KeysDown[GLFW_KEY_RIGHT_CONTROL];
  io.KeyShift = io.KeysDown[GLFW_KEY_LEFT_SHIFT] || io.KeysDown[GLFW_KEY_RIGHT_SHIFT];
  io.KeyAlt = io.KeysDown[GLFW_KEY_LEFT_ALT] || io.KeysDown[GLFW_KEY_RIGHT_ALT];
  io.KeySuper = io.KeysDown[GLFW_KEY_LEFT_SUPER] || io.KeysDown[GLFW_KEY_RIGHT_SUPER];
}

// Kiosk's attract loop: after idle_seconds without a touch the story plays by itself (restarted on
// the next preset when a visitor has used it since it last played); any input hands it back.
struct AttractLoop {
  double idle_seconds;
  double last_input_s;
  bool touched = false;  // input since the loop last started playing
  void update(StoryPanel& story, Session& session, double now_s) {
    const ImGuiIO& io = ImGui::GetIO();  // the previous frame's input
    bool input = io.MouseDelta.x != 0 || io.MouseDelta.y != 0 || io.MouseWheel != 0 ||
                 !io.InputQueueCharacters.empty();
    for (bool down : io.MouseDown) input = input || down;
    for (bool down : io.KeysDown) input = input || down;
    if (input) {
      last_input_s = now_s;
      touched = true;
      if (story.autoplay) say(now_s, "kiosk: attract loop stops (input)");
      story.autoplay = false;
    } else if (!story.autoplay && now_s - last_input_s >= idle_seconds) {
      if (touched) story.restart(session, story.preset + 1);
      touched = false;
      story.play(now_s);
      say(now_s, "kiosk: attract loop plays (idle)");
    }
  }
};

// --bench: "panel attention 1280x800: frame mean 4.1 ms, p95 5.0, max 6.2 (300 frames; UI build
// 0.9 ms of it); model
// L=12 NH=12 T=256: load 850 ms, forward 610 ms, probe 700 ms".
std::string bench_line(std::vector<double> ms, const std::vector<double>& build,
                       const Session& session, int width, int height) {
  std::sort(ms.begin(), ms.end());
  double sum = 0, build_sum = 0;
  for (double v : ms) sum += v;
  for (double v : build) build_sum += v;
  char buf[400];
  int n = std::snprintf(
      buf, sizeof buf,
      "panel %s %dx%d: frame mean %.2f ms, p95 %.2f, max %.2f (%zu frames; UI build %.2f ms of it)",
      report().panel.c_str(), width, height, sum / ms.size(), ms[ms.size() * 95 / 100], ms.back(),
      ms.size(), build.empty() ? 0.0 : build_sum / build.size());
  if (auto r = session.result();
      r && r->error.empty() && !r->attention.empty() && !session.synthetic)
    std::snprintf(buf + n, sizeof buf - n,
                  "; model L=%d NH=%d T=%d: load %.0f ms, forward %.0f ms, probe %.0f ms",
                  r->attention.L, r->attention.NH, r->attention.T, r->load_ms, r->forward_ms,
                  r->probe_ms);
  return buf;
}

// --click (headless, with --hover): one press and release of the left button at the hover point.
// The press waits until the model is done and the previous frame drew a reported rectangle under
// the point, so the click lands on the laid-out view however slow the first frames are (a fresh
// Mesa shader cache, a loaded machine); the screenshot waits for a few frames after the release.
struct ScriptedClick {
  static constexpr int kPatienceFrames = 120;
  enum class State { waiting, pressed, released } state = State::waiting;
  int frames_since_release = 0;

  // Called before a frame is built, while `last` still holds the previous frame's rectangles.
  bool button_down(const Options& options, int settled, const Report& last) {
    if (!options.click) return false;
    if (state == State::waiting && settled >= 2 && covers_hover_point(options, last)) {
      state = State::pressed;
      return true;
    }
    if (state == State::waiting && settled >= kPatienceFrames) {  // nothing there: say so, go on
      report().errors.push_back("--click: nothing is drawn under the --hover point");
      state = State::released;
    }
    if (state == State::pressed) state = State::released;
    if (state == State::released) frames_since_release++;
    return false;
  }
  bool finished(const Options& options) const {
    return !options.click || (state == State::released && frames_since_release >= 3);
  }

 private:
  static bool covers_hover_point(const Options& options, const Report& last) {
    const ImVec2 scale = ImGui::GetIO().DisplayFramebufferScale;  // regions are in pixels
    const float x = options.hover_x * scale.x, y = options.hover_y * scale.y;
    for (const Region& r : last.regions)
      if (x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h) return true;
    return false;
  }
};

void glfw_error(int code, const char* description) {
  std::fprintf(stderr, "glassbox-viz: GLFW error %d: %s\n", code, description);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// [SECTION] run_app: the loop
// ---------------------------------------------------------------------------------------------

int run_app(const Options& options) {
  View view;
  for (int i = 0; i < kPanels; i++)
    if (options.panel == kPanelNames[i]) view.selected = i;
  view.kiosk = options.kiosk;
  for (int i = 0; i < 3; i++)
    if (options.colormap == kColormapNames[i]) set_colormap(static_cast<Colormap>(i));

  glfwSetErrorCallback(glfw_error);
  if (!glfwInit()) {
    std::fprintf(stderr,
                 "glassbox-viz: error: cannot open a window (no display? try xvfb-run -a)\n");
    return 1;
  }
  // OpenGL 3.2 core (what the ImGui OpenGL 3 backend needs; forward-compatible for macOS).
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 2);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GL_TRUE);
  glfwWindowHint(GLFW_SCALE_TO_MONITOR, GLFW_TRUE);  // HiDPI on Windows and X11
  const bool headless = !options.screenshot.empty();
  if (headless) glfwWindowHint(GLFW_RESIZABLE, GLFW_FALSE);
  // Kiosk mode covers the primary monitor (except headless, where the screenshot has the given
  // size).
  GLFWmonitor* monitor = options.kiosk && !headless ? glfwGetPrimaryMonitor() : nullptr;
  const GLFWvidmode* mode = monitor ? glfwGetVideoMode(monitor) : nullptr;
  GLFWwindow* window =
      glfwCreateWindow(mode ? mode->width : options.width, mode ? mode->height : options.height,
                       "glassbox-viz", mode ? monitor : nullptr, nullptr);
  if (!window) {
    std::fprintf(stderr, "glassbox-viz: error: cannot create an OpenGL 3.2 window\n");
    glfwTerminate();
    return 1;
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(headless ? 0 : 1);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;  // no imgui.ini: the layout is fixed
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init("#version 150");

  // HiDPI: the monitor's content scale (e.g. 2 on a 4K laptop), unless --scale says otherwise.
  auto content_scale = [&] {
    float xs = 1, ys = 1;
    glfwGetWindowContentScale(window, &xs, &ys);
    return std::clamp(xs, 0.5f, 4.0f);
  };
  // Kiosk type is large enough to read from a step back.
  const float kiosk_zoom = options.kiosk ? 1.6f : 1.0f;
  float scale = options.scale > 0 ? options.scale : content_scale();
  view.font_zoom = kiosk_zoom;
  float applied_zoom = view.font_zoom;
  apply_look(scale * view.font_zoom);

  Session session;
  session.prompt = options.prompt;
  session.open(options.path);
  if (options.synthetic_attention) {
    auto r = std::make_shared<ProbeResult>();
    r->id = ~0ull;
    r->prompt = session.prompt;
    for (size_t b = 0, e; b < r->prompt.size() && r->labels.size() < 64;
         b = e + 1) {  // words as tokens
      e = r->prompt.find(' ', b);
      if (e == std::string::npos) e = r->prompt.size();
      if (e > b) r->labels.push_back(r->prompt.substr(b, e - b));
    }
    if (r->labels.empty()) r->labels = {"<empty>"};
    r->tokens.assign(r->labels.size(), 0);
    r->attention = synthetic_attention(2, 4, static_cast<int>(r->labels.size()));
    session.synthetic = r;
  }
  for (const std::string& e : session.errors)
    std::fprintf(stderr, "glassbox-viz: error: %s\n", e.c_str());
  auto panels = std::make_unique<Panels>();  // holds GL textures: released before the context
  panels->story.presets = options.presets.empty() ? default_presets() : options.presets;
  if (options.kiosk) panels->story.restart(session, 0);
  panels->story.step = options.story_step;
  AttractLoop attract{options.idle_seconds, glfwGetTime()};
  std::string open_text = options.path.string();

  int status = 0;
  int settled = 0;  // frames rendered since the model work finished (screenshots wait for it)
  ScriptedClick click;
  std::vector<double> frame_ms;  // --bench: whole frames (build, render, glFinish), after settling
  std::vector<double> build_ms;  // --bench: building the UI alone (NewFrame .. Render, CPU)
  double frame_start = glfwGetTime();
  const double give_up_s = glfwGetTime() + 300.0;
  ScriptedInput script(options.presses);
  std::vector<int> held_keys;  // the scripted keys down in the last frame
  loop_start_s = glfwGetTime();
  for (int frame = 0; !glfwWindowShouldClose(window); frame++) {
    // Idle politely when interactive: wake on input or every 100 ms to follow metrics.jsonl (every
    // 20 ms while presses are scheduled or an exit is due, so they come on time).
    const bool timed = !options.presses.empty() || options.seconds > 0;
    if (headless)
      glfwPollEvents();
    else
      glfwWaitEventsTimeout(timed ? 0.02 : 0.1);
    const double now_s = glfwGetTime();
    if (options.seconds > 0 && now_s - loop_start_s >= options.seconds) {
      char state[160];
      std::snprintf(
          state, sizeof state, "exit after --seconds %g: %s, story step %d%s", options.seconds,
          options.kiosk ? "kiosk" : kPanelNames[view.selected], panels->story.step,
          options.kiosk
              ? (panels->story.autoplay ? ", attract loop playing" : ", attract loop stopped")
              : "");
      say(now_s, state);
      break;
    }
    const std::vector<ScriptedPress> pressed = script.due(now_s - loop_start_s);
    for (const ScriptedPress& p : pressed) {
      say(now_s, "press " + p.chord);
      // Alt+F4 is the window manager's: it asks the window to close.
      if (p.has(GLFW_KEY_LEFT_ALT) && p.has(GLFW_KEY_F4))
        glfwSetWindowShouldClose(window, GLFW_TRUE);
    }
    // Moved to a monitor of another DPI, or the font size changed: new fonts and sizes.
    if ((options.scale <= 0 && content_scale() != scale) || view.font_zoom != applied_zoom) {
      if (options.scale <= 0) scale = content_scale();
      applied_zoom = view.font_zoom;
      apply_look(scale * view.font_zoom);
      ImGui_ImplOpenGL3_DestroyFontsTexture();
      ImGui_ImplOpenGL3_CreateFontsTexture();
    }
    if (options.kiosk) {
      // Only the chord quits; the window manager's close button and Alt+F4 do not.
      auto down = [&](int key) {
        if (glfwGetKey(window, key)) return true;
        for (const ScriptedPress& p : pressed)
          if (p.has(key)) return true;
        return false;
      };
      const bool chord = (down(GLFW_KEY_LEFT_CONTROL) || down(GLFW_KEY_RIGHT_CONTROL)) &&
                         (down(GLFW_KEY_LEFT_SHIFT) || down(GLFW_KEY_RIGHT_SHIFT)) &&
                         down(GLFW_KEY_Q);
      if (chord) {
        say(now_s, "kiosk: quit (ctrl+shift+q)");
        break;
      }
      if (glfwWindowShouldClose(window)) {
        say(now_s, "kiosk: close request ignored");
        glfwSetWindowShouldClose(window, GLFW_FALSE);
      }
      attract.update(panels->story, session, now_s);
    }
    session.poll(glfwGetTime());

    const double build_start = glfwGetTime();
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    feed_keys(pressed, held_keys);
    if (headless) {  // no stray hover from the X server's pointer; --hover puts the mouse somewhere
      ImGui::GetIO().MousePos = options.hover_x >= 0 ? ImVec2(options.hover_x, options.hover_y)
                                                     : ImVec2(-FLT_MAX, -FLT_MAX);
      ImGui::GetIO().MouseDown[0] = click.button_down(options, settled, report());
    }
    ImGui::NewFrame();
    report().begin_frame();
    draw_frame(session, *panels, view, open_text, glfwGetTime());
    ImGui::Render();
    if (options.bench_frames > 0 && settled >= options.warmup_frames)
      build_ms.push_back((glfwGetTime() - build_start) * 1e3);

    int fb_w = 0, fb_h = 0;
    glfwGetFramebufferSize(window, &fb_w, &fb_h);
    glViewport(0, 0, fb_w, fb_h);
    glClearColor(0.055f, 0.060f, 0.075f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());

    settled = session.probe_busy() ? 0 : settled + 1;
    if (headless && session.probe_busy() && glfwGetTime() < give_up_s)
      glfwWaitEventsTimeout(0.05);  // the worker posts an event when done
    if (options.bench_frames > 0) {
      glFinish();  // count the GPU's (here: Mesa's) work in the frame
      const double now = glfwGetTime();
      if (settled > options.warmup_frames) frame_ms.push_back((now - frame_start) * 1e3);
      frame_start = now;
    }
    const int wanted =
        options.warmup_frames + (options.bench_frames > 0 ? options.bench_frames + 1 : 0);
    if (headless &&
        ((settled >= wanted && click.finished(options)) || glfwGetTime() >= give_up_s)) {
      if (!frame_ms.empty()) report().bench = bench_line(frame_ms, build_ms, session, fb_w, fb_h);
      if (!report().bench.empty()) std::printf("glassbox-viz bench: %s\n", report().bench.c_str());
      const std::string err = write_screenshot(options.screenshot, fb_w, fb_h);
      if (!err.empty()) {
        std::fprintf(stderr, "glassbox-viz: error: %s\n", err.c_str());
        status = 1;
      } else if (!options.report.empty()) {
        std::ofstream(options.report) << report().json() << "\n";
      }
      break;
    }
    glfwSwapBuffers(window);
  }

  panels.reset();         // glDeleteTextures while the context is current
  session.probe.reset();  // finishes a forward pass in flight, joins the worker
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  glfwTerminate();
  return status;
}

}  // namespace viz
