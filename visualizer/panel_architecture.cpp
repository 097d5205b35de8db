// The architecture view: the model drawn as its blocks, top to bottom in the order the data flows,
//
//   embeddings (token + position)                                   (T, C)
//   L x [ layer norm 1 -> attention -> layer norm 2 -> MLP ]         (T, C), residual stream
//   final layer norm -> head (scores over the vocabulary)            (T, V)
//
// each with its output shape for the current prompt, its parameter count and how loud its output is
// (root mean square over the prompt's values, coloured on the heat map's scale). Clicking a
// layer's attention block opens the attention tab at that layer.
#include <algorithm>
#include <cstdio>
#include <string>

#include <imgui.h>

#include "visualizer/panels.hpp"
#include "visualizer/ui.hpp"

namespace viz {

namespace {

struct Block {
  std::string name, shape;
  long long params;
  float rms;
};

// "(T, C)" with numbers; snprintf sidesteps GCC 12's false -Wrestrict warning on "(" + std::string.
std::string shape(long long a, long long b) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "(%lld, %lld)", a, b);
  return buf;
}

// One block as a rounded box: its name, its output shape and parameter count, and a bar of its
// activation size. Returns true when clicked.
bool draw_block(const Block& b, ImVec2 size, float max_rms, const std::string& id) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const bool clicked = ImGui::InvisibleButton(id.c_str(), size);
  const bool hovered = ImGui::IsItemHovered();
  const ImVec2 q(p.x + size.x, p.y + size.y);
  dl->AddRectFilled(p, q, hovered ? IM_COL32(48, 56, 74, 255) : IM_COL32(32, 37, 48, 255), px(5));
  const float t = max_rms > 0 ? b.rms / max_rms : 0.0f;
  const float bar_h = px(6);
  dl->AddRectFilled(ImVec2(p.x, q.y - bar_h), ImVec2(p.x + size.x * t, q.y),
                    heat(0.25f + 0.75f * t), px(2));
  const float line = ImGui::GetTextLineHeight();
  dl->PushClipRect(p, q, true);
  dl->AddText(ImVec2(p.x + px(6), p.y + px(3)), ImGui::GetColorU32(ImGuiCol_Text), b.name.c_str());
  char info[160];
  std::snprintf(info, sizeof info, "out %s  %s params  rms %.3g", b.shape.c_str(),
                short_number(b.params).c_str(), b.rms);
  if (size.y > 2 * line + bar_h)
    dl->AddText(ImVec2(p.x + px(6), p.y + px(3) + line), colors::axis_text, info);
  dl->PopClipRect();
  if (hovered)
    ImGui::SetTooltip(
        "%s\noutput shape %s (tokens, channels)\n%lld parameters\nactivation rms %.4g",
        b.name.c_str(), b.shape.c_str(), b.params, b.rms);
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
  const long long C = c.n_embd, V = c.vocab_size, T = static_cast<long long>(r->tokens.size());
  const int L = c.n_layer;
  // Parameters per block (weights and biases), as in GPT-2: the head shares the token embedding.
  const long long ln = 2 * C, attention = 3 * C * C + 3 * C + C * C + C,
                  mlp = 4 * C * C + 4 * C + 4 * C * C + C;
  const long long embeddings = V * C + static_cast<long long>(c.max_seq_len) * C;
  const long long total = embeddings + L * (2 * ln + attention + mlp) + ln;
  ImGui::Text(
      "%d layers, %d attention heads, %lld channels, %lld tokens in the vocabulary: %s parameters",
      L, c.n_head, C, V, short_number(static_cast<double>(total)).c_str());
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
  const float row_h = std::max(line + px(10), std::min(2 * line + px(14), avail.y / (L + 2) - gap));
  ImGui::BeginChild("blocks", ImVec2(0, 0), false);
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float width = ImGui::GetContentRegionAvail().x;
  const float label_w = px(70), cell = (width - label_w - 3 * gap) / 4;
  auto row_label = [&](const std::string& text) {
    ImGui::AlignTextToFramePadding();
    ImGui::TextDisabled("%s", text.c_str());
    ImGui::SameLine(label_w);
  };

  row_label("input");
  draw_block({"token embedding", shape(T, C), V * C, r->embedding_rms},
             ImVec2(2 * cell + gap, row_h), max_rms, "wte");
  ImGui::SameLine(0, gap);
  draw_block({"position embedding", shape(T, C), c.max_seq_len * C, r->embedding_rms},
             ImVec2(2 * cell + gap, row_h), max_rms, "wpe");
  const ImVec2 layers_top = ImGui::GetCursorScreenPos();
  for (int l = 0; l < L; l++) {
    const ProbeResult::LayerActivity& a = r->layers[l];
    ImGui::PushID(l);
    row_label(label("layer ", l + 1));
    draw_block({"layer norm 1", shape(T, C), ln, a.ln1}, ImVec2(cell, row_h), max_rms, "ln1");
    ImGui::SameLine(0, gap);
    const ImVec2 att_min = ImGui::GetCursorScreenPos();
    if (draw_block({label("attention x", c.n_head), shape(T, C), attention, a.attention},
                   ImVec2(cell, row_h), max_rms, "attention"))
      open_attention_layer = l;
    report().region(label("architecture.attention.", l), att_min,
                    ImVec2(att_min.x + cell, att_min.y + row_h));
    ImGui::SameLine(0, gap);
    draw_block({"layer norm 2", shape(T, C), ln, a.ln2}, ImVec2(cell, row_h), max_rms, "ln2");
    ImGui::SameLine(0, gap);
    draw_block({"MLP", shape(T, C) + " via " + shape(T, 4 * C), mlp, a.mlp}, ImVec2(cell, row_h),
               max_rms, "mlp");
    ImGui::PopID();
  }
  row_label("output");
  draw_block({"final layer norm", shape(T, C), ln, r->lnf_rms}, ImVec2(2 * cell + gap, row_h),
             max_rms, "lnf");
  ImGui::SameLine(0, gap);
  draw_block({"head: scores (tied to the token embedding)", shape(T, V), 0, r->logits_rms},
             ImVec2(2 * cell + gap, row_h), max_rms, "head");
  const ImVec2 end(origin.x + width, ImGui::GetCursorScreenPos().y);
  report().region("architecture.blocks", origin, end, L + 2, 4);
  const float layers_h = L * (row_h + ImGui::GetStyle().ItemSpacing.y);
  report().region("architecture.layers", layers_top, ImVec2(end.x, layers_top.y + layers_h), L, 4);
  ImGui::EndChild();
}

}  // namespace viz
