// The attention explorer: every layer x head attention map of the prompt as a grid of heatmaps; one
// map (or the attention rollout) large with token labels and values on hover; a token strip where
// clicking a token shows who attends to it.
//
// [SECTION] helpers: rotated labels, token chips
// [SECTION] the grid of thumbnails
// [SECTION] the large map
// [SECTION] AttentionPanel::draw
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include <imgui.h>
#include <imgui_stdlib.h>

#include "visualizer/model_layout.hpp"
#include "visualizer/panels.hpp"
#include "visualizer/ui.hpp"

namespace viz {

namespace {

// ---------------------------------------------------------------------------------------------
// [SECTION] helpers: rotated labels, token chips
// ---------------------------------------------------------------------------------------------

// Text rotated 90 degrees counter-clockwise (reading upwards), starting at `pos` and going up:
// ImGui 1.86 has no rotated text, so the glyph vertices are rotated after AddText.
void add_text_up(ImDrawList* dl, ImVec2 pos, ImU32 color, const char* text) {
  const int first = dl->VtxBuffer.Size;
  dl->AddText(pos, color, text);
  const float line = ImGui::GetTextLineHeight();
  for (int i = first; i < dl->VtxBuffer.Size; i++) {
    ImVec2& p = dl->VtxBuffer[i].pos;
    const float dx = p.x - pos.x, dy = p.y - pos.y;
    p = ImVec2(pos.x + dy - line, pos.y - dx);  // (dx, dy) -> (dy, -dx), shifted to sit left of pos
  }
}

// Cut a label to at most `max_width` pixels, with an ellipsis.
std::string fit(const std::string& s, float max_width) {
  if (ImGui::CalcTextSize(s.c_str()).x <= max_width) return s;
  std::string out = s;
  while (!out.empty() && ImGui::CalcTextSize((out + "\xE2\x80\xA6").c_str()).x > max_width) {
    out.pop_back();
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80)
      out.pop_back();  // UTF-8
  }
  return out + "\xE2\x80\xA6";
}

// Black or white text, whichever reads on `background`.
ImU32 text_on(ImU32 background) {
  const float l = luma(background & 0xFF, (background >> 8) & 0xFF, (background >> 16) & 0xFF);
  return l > 140 ? IM_COL32(0, 0, 0, 255) : IM_COL32(255, 255, 255, 255);
}

// The map the large view shows: one head, or the rollout.
const float* shown_map(const AttentionMaps& m, bool rollout, int layer, int head) {
  return rollout ? m.rollout.data() : m.map(layer, head);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// [SECTION] AttentionPanel::draw
// ---------------------------------------------------------------------------------------------

void AttentionPanel::draw(Session& session) {
  if (!session.synthetic && session.checkpoints.empty()) {
    draw_placeholder(session.kind == Session::Kind::run
                         ? "This run has no checkpoints yet: the attention explorer needs a model "
                           "(RUN/checkpoint or RUN/snapshots/step_*)."
                         : "Open a checkpoint directory (config.json + model.safetensors) or a run "
                           "directory to explore attention.");
    return;
  }

  // Prompt: every edit re-runs the model on the worker thread.
  const float status_w = px(330);
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - status_w);
  ImGui::InputTextWithHint("##prompt", "prompt", &session.prompt);
  session.request_probe();
  const std::shared_ptr<const ProbeResult> result = session.result();
  ImGui::SameLine();
  {
    std::string status;
    if (session.probe_busy()) {
      static const char* spin[] = {"|", "/", "-", "\\"};
      status = std::string("running the model ") + spin[static_cast<int>(ImGui::GetTime() * 8) % 4];
    } else if (result && result->error.empty()) {
      char buf[200];
      if (session.synthetic)
        std::snprintf(buf, sizeof buf, "synthetic: %d tokens", result->attention.T);
      else
        std::snprintf(buf, sizeof buf, "%s  %d tokens  %.0f ms",
                      result->checkpoint.filename().string().c_str(), result->attention.T,
                      result->forward_ms);
      status = buf;
      if (result->truncated) status += "  (prompt cut to the context)";
    }
    ImGui::TextDisabled("%s", status.c_str());
  }
  if (!result || !result->error.empty() || result->attention.empty()) {
    draw_placeholder(result && !result->error.empty()
                         ? "The model could not run: see the error above."
                         : "Running the model...");
    return;
  }
  const AttentionMaps& m = result->attention;
  const int L = m.L, NH = m.NH, T = m.T;
  layer = std::clamp(layer, 0, L - 1);
  head = std::clamp(head, 0, NH - 1);
  if (token >= T) token = -1;

  // Controls.
  ImGui::SetNextItemWidth(px(140));
  ImGui::SliderFloat("gamma", &gamma, 0.2f, 1.0f, "%.2f");
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("colour = p^gamma: below 1 lifts small probabilities");
  ImGui::SameLine(0, px(18));
  ImGui::Checkbox("row max", &row_max);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("scale each query row by its largest probability");
  ImGui::SameLine(0, px(18));
  if (ImGui::RadioButton("one head", !rollout)) rollout = false;
  ImGui::SameLine();
  if (ImGui::RadioButton("rollout (all layers)", rollout)) rollout = true;
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip(
        "Attention rollout (Abnar & Zuidema 2020): attention followed through every\n"
        "layer, the residual counted as identity: prod_l (mean_h att_l + I) / 2");
  ImGui::SameLine(0, px(18));
  ImGui::TextDisabled(token >= 0 ? "click the token again to clear"
                                 : "click a token: who attends to it?");

  // Token strip: chips coloured, when a token is highlighted, by how much each one attends to it.
  const float* big = shown_map(m, rollout, layer, head);
  {
    // Height: as many chip rows as the tokens need (a dry run of the wrapping), at most 3, then
    // scroll.
    const float chip_h = ImGui::GetTextLineHeight() + px(4),
                row_gap = ImGui::GetStyle().ItemSpacing.y;
    int rows = 1;
    for (float x = 0, width = ImGui::GetContentRegionAvail().x - px(16);
         const std::string& s : result->labels) {
      const float w = ImGui::CalcTextSize(fit(s, px(120)).c_str()).x + px(8) + px(3);
      if (x > 0 && x + w > width) {
        rows++;
        x = 0;
      }
      x += w;
    }
    const float strip_h = std::min(rows, 3) * (chip_h + row_gap);
    ImGui::BeginChild("tokens", ImVec2(0, strip_h), false);
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const float right = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
    for (int i = 0; i < T; i++) {
      const std::string label = fit(result->labels[i], px(120));
      const ImVec2 ts = ImGui::CalcTextSize(label.c_str());
      const ImVec2 size(ts.x + px(8), ts.y + px(4));
      if (i > 0) {
        ImGui::SameLine(0, px(3));
        if (ImGui::GetCursorScreenPos().x + size.x > right) ImGui::NewLine();
      }
      const ImVec2 p = ImGui::GetCursorScreenPos();
      ImGui::PushID(i);
      if (ImGui::InvisibleButton("t", size)) token = (token == i) ? -1 : i;
      const bool hovered = ImGui::IsItemHovered();
      ImGui::PopID();
      ImU32 bg = IM_COL32(44, 48, 60, 255);
      if (token >= 0 && i >= token)
        bg = heat(std::pow(big[static_cast<size_t>(i) * T + token], gamma));
      if (token >= 0 && i < token) bg = IM_COL32(30, 32, 40, 255);  // cannot attend forward
      dl->AddRectFilled(p, ImVec2(p.x + size.x, p.y + size.y), bg, px(3));
      if (i == token || hovered)
        dl->AddRect(p, ImVec2(p.x + size.x, p.y + size.y), IM_COL32(120, 180, 255, 255), px(3), 0,
                    px(1.5f));
      dl->AddText(ImVec2(p.x + px(4), p.y + px(2)), text_on(bg), label.c_str());
      if (hovered) {
        ImGui::BeginTooltip();
        ImGui::Text("position %d  token id %d", i, result->tokens[i]);
        if (token >= 0 && i >= token)
          ImGui::Text("attends to '%s' with %.4f", result->labels[token].c_str(),
                      big[static_cast<size_t>(i) * T + token]);
        ImGui::EndTooltip();
      }
    }
    ImGui::EndChild();
  }

  // Textures: rebuilt when the result, the gamma, the colour map or the shown map changes.
  if (thumbnails_of_ != result->id || thumbnails_gamma_ != gamma || thumbnails_map_ != colormap() ||
      thumbnails_row_max_ != row_max || thumbnails_.size() != static_cast<size_t>(L) * NH) {
    thumbnails_.resize(static_cast<size_t>(L) * NH);
    for (int l = 0; l < L; l++)
      for (int h = 0; h < NH; h++)
        thumbnails_[l * NH + h].upload(m.map(l, h), T, T, gamma, true, 96, row_max);
    thumbnails_of_ = result->id;
    thumbnails_gamma_ = gamma;
    thumbnails_map_ = colormap();
    thumbnails_row_max_ = row_max;
  }
  const int key = rollout ? -2 : layer * NH + head;
  if (zoom_of_ != result->id || zoom_gamma_ != gamma || zoom_map_ != colormap() ||
      zoom_key_ != key || zoom_row_max_ != row_max) {
    zoom_.upload(big, T, T, gamma, true, 1 << 14, row_max);
    zoom_of_ = result->id;
    zoom_gamma_ = gamma;
    zoom_map_ = colormap();
    zoom_key_ = key;
    zoom_row_max_ = row_max;
  }

  // Layout: the grid on the left, the large map on the right, both square-celled.
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float line = ImGui::GetTextLineHeight();
  const float gap = px(3);
  const float grid_label_w = ImGui::CalcTextSize("L00").x + px(6);
  // Grouped-query attention: NKV key/value heads, each shared by NH / NKV consecutive query heads.
  // A second header row brackets each group ("kv 0", "kv 1", ...). Synthetic maps have no config.
  const llm::GPTConfig& config = result->config;
  const bool grouped = !session.synthetic && config.n_head == NH && config.kv_heads() < NH;
  const float header_h = (grouped ? 2 * line : line) + px(6);
  const float grid_h = avail.y - header_h;
  const float cell =
      std::max(px(6), std::min((avail.x * 0.45f - grid_label_w) / NH, grid_h / L) - gap);
  const float grid_w = grid_label_w + NH * (cell + gap);
  ImDrawList* dl = ImGui::GetWindowDrawList();

  // ---- [SECTION] the grid of thumbnails: row = layer, column = head ----
  {
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const ImVec2 cells_min(origin.x + grid_label_w, origin.y + header_h);
    ImGui::InvisibleButton("grid", ImVec2(grid_w, header_h + L * (cell + gap)));
    const bool hovered = ImGui::IsItemHovered(), clicked = ImGui::IsItemClicked();
    const int every_h =
        std::max(1, static_cast<int>(std::ceil(ImGui::CalcTextSize("H00").x / (cell + gap))));
    for (int h = 0; h < NH; h += every_h) {
      const std::string s = label("H", h);
      const float tw = ImGui::CalcTextSize(s.c_str()).x;
      dl->AddText(ImVec2(cells_min.x + h * (cell + gap) + (cell - tw) / 2, origin.y),
                  colors::axis_text, s.c_str());
    }
    if (grouped) {  // a bracket over each key/value group, named when it is wide enough
      const int group = NH / config.kv_heads();
      const float y = origin.y + line + px(2);
      for (int g = 0; g < config.kv_heads(); g++) {
        const float x0 = cells_min.x + g * group * (cell + gap),
                    x1 = x0 + group * (cell + gap) - gap;
        dl->AddLine(ImVec2(x0, y + line - px(1)), ImVec2(x1, y + line - px(1)), colors::axis_text,
                    px(1));
        const std::string s = label("kv ", g);
        const float tw = ImGui::CalcTextSize(s.c_str()).x;
        if (tw <= x1 - x0) dl->AddText(ImVec2((x0 + x1 - tw) / 2, y), colors::axis_text, s.c_str());
        report().region(label("attention.kv_group.", g), ImVec2(x0, cells_min.y),
                        ImVec2(x1, cells_min.y + L * (cell + gap)), L, group);
      }
    }
    const int every_l = std::max(1, static_cast<int>(std::ceil(line / (cell + gap))));
    for (int l = 0; l < L; l++) {
      if (l % every_l == 0) {
        const std::string s = label("L", l);
        dl->AddText(ImVec2(origin.x, cells_min.y + l * (cell + gap) + (cell - line) / 2),
                    colors::axis_text, s.c_str());
      }
      for (int h = 0; h < NH; h++) {
        const ImVec2 a(cells_min.x + h * (cell + gap), cells_min.y + l * (cell + gap));
        const ImVec2 b(a.x + cell, a.y + cell);
        dl->AddRectFilled(a, b, colors::frame_bg);
        dl->AddImage(thumbnails_[l * NH + h].id(), a, b);
        if (!rollout && l == layer && h == head)
          dl->AddRect(ImVec2(a.x - 1.5f, a.y - 1.5f), ImVec2(b.x + 1.5f, b.y + 1.5f),
                      IM_COL32(120, 180, 255, 255), 0, 0, px(2));
      }
    }
    if (hovered) {
      const ImVec2 mp = ImGui::GetIO().MousePos;
      const int h = static_cast<int>((mp.x - cells_min.x) / (cell + gap));
      const int l = static_cast<int>((mp.y - cells_min.y) / (cell + gap));
      if (mp.x >= cells_min.x && mp.y >= cells_min.y && h < NH && l < L) {
        if (grouped)
          ImGui::SetTooltip("layer %d, head %d \xC2\xB7 kv %d (click to enlarge)", l, h,
                            kv_group(config, h));
        else
          ImGui::SetTooltip("layer %d, head %d (click to enlarge)", l, h);
        if (clicked) {
          layer = l;
          head = h;
          rollout = false;
        }
      }
    }
    report().region("attention.grid", cells_min,
                    ImVec2(cells_min.x + NH * (cell + gap), cells_min.y + L * (cell + gap)), L, NH);
  }

  // ---- [SECTION] the large map: rows = queries, columns = keys ----
  ImGui::SameLine(0, px(24));
  {
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const ImVec2 room = ImGui::GetContentRegionAvail();
    float max_label = 0;
    for (const std::string& s : result->labels)
      max_label = std::max(max_label, ImGui::CalcTextSize(s.c_str()).x);
    const float label_w = std::min(max_label, px(110)) + px(8);
    const float title_h = line + px(6);
    const float side =
        std::max(px(40), std::min(room.x - label_w - px(4), room.y - label_w - title_h));
    const float cs = side / T;  // one cell
    const ImVec2 a(origin.x + label_w, origin.y + title_h), b(a.x + side, a.y + side);

    char title[128];
    if (rollout)
      std::snprintf(title, sizeof title, "attention rollout through %d layers", L);
    else if (grouped)
      std::snprintf(title, sizeof title,
                    "layer %d, head %d \xC2\xB7 kv %d   (row: query, column: key)", layer, head,
                    kv_group(config, head));
    else
      std::snprintf(title, sizeof title, "layer %d, head %d   (row: query, column: key)", layer,
                    head);
    dl->AddText(ImVec2(a.x, origin.y), ImGui::GetColorU32(ImGuiCol_Text), title);
    ImGui::InvisibleButton("zoom", ImVec2(label_w + side, title_h + side + label_w));
    const bool hovered = ImGui::IsItemHovered(), clicked = ImGui::IsItemClicked();
    dl->AddRectFilled(a, b, colors::frame_bg);
    dl->AddImage(zoom_.id(), a, b);

    // Labels: every k-th when cells are shorter than a line.
    const int every = std::max(1, static_cast<int>(std::ceil(line / cs)));
    for (int i = 0; i < T; i += every) {
      const std::string s = fit(result->labels[i], label_w - px(8));
      const float tw = ImGui::CalcTextSize(s.c_str()).x;
      const ImU32 c = (i == token) ? IM_COL32(120, 180, 255, 255) : colors::axis_text;
      dl->AddText(ImVec2(a.x - tw - px(5), a.y + (i + 0.5f) * cs - line / 2), c, s.c_str());
      add_text_up(
          dl,
          ImVec2(a.x + (i + 0.5f) * cs + line / 2, b.y + px(5) + ImGui::CalcTextSize(s.c_str()).x),
          c, s.c_str());
    }
    if (token >= 0)  // the highlighted key's column: everyone who attends to it
      dl->AddRect(ImVec2(a.x + token * cs, a.y + token * cs), ImVec2(a.x + (token + 1) * cs, b.y),
                  IM_COL32(120, 180, 255, 255), 0, 0, px(2));
    if (hovered) {
      const ImVec2 mp = ImGui::GetIO().MousePos;
      if (mp.x >= a.x && mp.x < b.x && mp.y >= a.y && mp.y < b.y) {
        const int j = std::min(T - 1, static_cast<int>((mp.x - a.x) / cs));
        const int i = std::min(T - 1, static_cast<int>((mp.y - a.y) / cs));
        dl->AddRect(ImVec2(a.x + j * cs, a.y + i * cs),
                    ImVec2(a.x + (j + 1) * cs, a.y + (i + 1) * cs), IM_COL32(255, 255, 255, 200));
        ImGui::BeginTooltip();
        ImGui::Text("query %d '%s'", i, result->labels[i].c_str());
        ImGui::Text("key   %d '%s'", j, result->labels[j].c_str());
        if (j <= i)
          ImGui::Text("p = %.4f", big[static_cast<size_t>(i) * T + j]);
        else
          ImGui::TextDisabled("masked (a query sees only earlier keys)");
        ImGui::EndTooltip();
        if (clicked) token = (token == j) ? -1 : j;
      }
    }
    report().region("attention.zoom", a, b, T, T);
    if (!rollout)
      report().region(label("attention.zoom.layer", layer), a, b, T, T);  // which layer it shows
  }
}

}  // namespace viz
