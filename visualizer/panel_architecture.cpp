// The architecture view: the model drawn as its blocks, top to bottom in the order the data flows,
// as the config's switches make them (visualizer/model_layout.hpp):
//
//   token embedding (+ position embedding when learned)                 (T, C)
//   L x [ norm 1 -> attention -> norm 2 -> MLP ]                         (T, C), residual stream
//   final norm -> head (scores over the vocabulary)                      (T, V)
//
// with LayerNorm or RMSNorm, NH query heads over NKV key/value heads (GQA), a GELU, SwiGLU or
// ReLU^2 MLP. Each block shows its output shape for the current prompt, its parameter count, the
// shapes inside it (q, k, v; the MLP's matrices) and how loud its output is (root mean square over
// the prompt's values, coloured on the heat map's scale). Clicking a layer's attention block opens
// the attention tab at that layer.
#include <algorithm>
#include <cstdio>
#include <string>

#include <imgui.h>

#include "visualizer/model_layout.hpp"
#include "visualizer/panels.hpp"
#include "visualizer/ui.hpp"

namespace viz {

namespace {

// "(T, C)" with numbers; snprintf sidesteps GCC 12's false -Wrestrict warning on "(" + std::string.
std::string shape(long long a, long long b) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "(%lld, %lld)", a, b);
  return buf;
}

// "wq (32, 32) · wk (16, 32) ...": a block's matrices on one line.
std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : "  \xC2\xB7  ") + part;
  return out;
}

// One block as a rounded box: its name; its output shape, parameter count and activation size;
// what is inside it (when the row has room for a third line); and a bar of its activation size.
// Returns true when clicked.
bool draw_block(const LayoutBlock& b, float rms, ImVec2 size, float max_rms,
                const std::string& id) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const bool clicked = ImGui::InvisibleButton(id.c_str(), size);
  const bool hovered = ImGui::IsItemHovered();
  const ImVec2 q(p.x + size.x, p.y + size.y);
  dl->AddRectFilled(p, q, hovered ? IM_COL32(48, 56, 74, 255) : IM_COL32(32, 37, 48, 255), px(5));
  const float t = max_rms > 0 ? rms / max_rms : 0.0f;
  const float bar_h = px(6);
  dl->AddRectFilled(ImVec2(p.x, q.y - bar_h), ImVec2(p.x + size.x * t, q.y),
                    heat(0.25f + 0.75f * t), px(2));
  const float line = ImGui::GetTextLineHeight();
  const std::string out = shape(b.rows, b.cols);
  const std::string inside = b.inside.empty() ? joined(b.matrices) : b.inside;
  dl->PushClipRect(p, q, true);
  dl->AddText(ImVec2(p.x + px(6), p.y + px(3)), ImGui::GetColorU32(ImGuiCol_Text), b.name.c_str());
  char info[160];
  std::snprintf(info, sizeof info, "out %s  %s params  rms %.3g", out.c_str(),
                short_number(static_cast<double>(b.params)).c_str(), rms);
  if (size.y > 2 * line + bar_h)
    dl->AddText(ImVec2(p.x + px(6), p.y + px(3) + line), colors::axis_text, info);
  if (size.y > 3 * line + bar_h)
    dl->AddText(ImVec2(p.x + px(6), p.y + px(3) + 2 * line), colors::axis_text, inside.c_str());
  dl->PopClipRect();
  if (hovered) {
    std::string tip = b.name + "\noutput shape " + out + " (tokens, channels or vocabulary)\n";
    if (!b.inside.empty()) tip += "inside: " + b.inside + "\n";
    for (const std::string& m : b.matrices) tip += "matrix " + m + "\n";
    ImGui::SetTooltip("%s%lld parameters\nactivation rms %.4g", tip.c_str(),
                      static_cast<long long>(b.params), rms);
  }
  return clicked;
}

}  // namespace

void ArchitecturePanel::draw(Session& session) {
  if (session.checkpoints.empty()) {
    draw_placeholder(
        "Open a checkpoint directory (or a run with checkpoints) to see the model's architecture.");
    return;
  }
  session.request_probe();
  const std::shared_ptr<const ProbeResult> r = session.result();
  if (!r || !r->error.empty() || r->layers.empty()) {
    draw_placeholder(r && !r->error.empty() ? "The model could not run: see the error above."
                                            : "Running the model...");
    return;
  }
  const llm::GPTConfig& c = r->config;
  const long long T = static_cast<long long>(r->tokens.size());
  const int L = c.n_layer;
  const ModelLayout layout = model_layout(c, T);
  std::string heads = label("", c.n_head) + " attention heads";
  if (c.kv_heads() != c.n_head) heads += " sharing " + label("", c.kv_heads()) + " key/value heads";
  ImGui::Text("%d layers, %s, %d channels, %d tokens in the vocabulary: %s parameters", L,
              heads.c_str(), c.n_embd, c.vocab_size,
              short_number(static_cast<double>(layout.total_params())).c_str());
  ImGui::TextDisabled(
      "For the current prompt (%lld tokens). Bars: activation size (root mean square of the "
      "block's output). Click an attention block to see its maps.",
      T);

  float max_rms = std::max({r->embedding_rms, r->lnf_rms, r->logits_rms});
  for (const auto& a : r->layers)
    max_rms = std::max({max_rms, a.ln1, a.attention, a.ln2, a.mlp, a.residual});

  const float line = ImGui::GetTextLineHeight();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float gap = px(8);
  const float row_h = std::max(line + px(10), std::min(3 * line + px(14), avail.y / (L + 2) - gap));
  ImGui::BeginChild("blocks", ImVec2(0, 0), false);
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float width = ImGui::GetContentRegionAvail().x;
  const float label_w = px(70), cell = (width - label_w - 3 * gap) / 4;
  auto row_label = [&](const std::string& text) {
    ImGui::AlignTextToFramePadding();
    ImGui::TextDisabled("%s", text.c_str());
    ImGui::SameLine(label_w);
  };

  // A row of n blocks shares the four columns' width.
  auto block_width = [&](size_t n) { return (4 * cell + 3 * gap - (n - 1) * gap) / n; };
  // The switches' blocks are named in the report, so tests can see which were drawn.
  auto mark = [&](const std::string& name, ImVec2 min, float w) {
    report().region(name, min, ImVec2(min.x + w, min.y + row_h));
  };

  row_label("input");
  const float in_w = block_width(layout.input.size());
  for (size_t i = 0; i < layout.input.size(); i++) {
    if (i > 0) ImGui::SameLine(0, gap);
    const ImVec2 at = ImGui::GetCursorScreenPos();
    draw_block(layout.input[i], r->embedding_rms, ImVec2(in_w, row_h), max_rms, label("in", i));
    if (i == 1) mark("architecture.position_embedding", at, in_w);
  }
  const ImVec2 layers_top = ImGui::GetCursorScreenPos();
  const std::string norm = c.rmsnorm() ? "rmsnorm" : "layernorm";
  for (int l = 0; l < L; l++) {
    const ProbeResult::LayerActivity& a = r->layers[l];
    const float rms[4] = {a.ln1, a.attention, a.ln2, a.mlp};
    ImGui::PushID(l);
    row_label(label("layer ", l + 1));
    for (size_t i = 0; i < layout.layer.size(); i++) {
      if (i > 0) ImGui::SameLine(0, gap);
      const ImVec2 at = ImGui::GetCursorScreenPos();
      const bool clicked =
          draw_block(layout.layer[i], rms[i], ImVec2(cell, row_h), max_rms, label("block", i));
      if (i == 1) {  // attention: every layer's is a target for the click
        mark(label("architecture.attention.", l), at, cell);
        if (clicked) open_attention_layer = l;
      }
      if (l > 0) continue;
      if (i == 0) mark("architecture.norm." + norm, at, cell);
      if (i == 1 && c.kv_heads() != c.n_head) mark("architecture.attention.gqa", at, cell);
      if (i == 3) mark("architecture.mlp." + c.mlp, at, cell);
    }
    ImGui::PopID();
  }
  row_label("output");
  const float out_rms[2] = {r->lnf_rms, r->logits_rms};
  for (size_t i = 0; i < layout.output.size(); i++) {
    if (i > 0) ImGui::SameLine(0, gap);
    draw_block(layout.output[i], out_rms[i], ImVec2(block_width(layout.output.size()), row_h),
               max_rms, label("out", i));
  }
  const ImVec2 end(origin.x + width, ImGui::GetCursorScreenPos().y);
  report().region("architecture.blocks", origin, end, L + 2, 4);
  const float layers_h = L * (row_h + ImGui::GetStyle().ItemSpacing.y);
  report().region("architecture.layers", layers_top, ImVec2(end.x, layers_top.y + layers_h), L, 4);
  ImGui::EndChild();
}

}  // namespace viz
