// Next-token predictions after the prompt: the sampling distribution as bars (temperature, top-k,
// top-p applied by llm::sampling_distribution, the model's own softmax faintly behind), sampling
// one token at a time onto the prompt, and the logit lens: what each layer would already predict.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>

#include <imgui.h>
#include <imgui_stdlib.h>

#include "llm/sample/sampling.hpp"
#include "llm/tokenizer/tokenizer.hpp"
#include "visualizer/panels.hpp"
#include "visualizer/ui.hpp"

namespace viz {

namespace {

ImU32 text_on(ImU32 background) {
  const float l = luma(background & 0xFF, (background >> 8) & 0xFF, (background >> 16) & 0xFF);
  return l > 140 ? IM_COL32(0, 0, 0, 255) : IM_COL32(255, 255, 255, 255);
}

}  // namespace

void PredictionsPanel::draw_bars(const ProbeResult& r, ImVec2 size) {
  const int V = static_cast<int>(r.last_logits.size());
  if (V == 0) return;
  const int n = std::min(bars, V);
  Cached& c = cached_;
  if (c.id != r.id || c.temperature != temperature || c.top_k != top_k || c.top_p != top_p ||
      c.bars != n) {
    const llm::SamplingSettings settings{temperature, top_k, top_p};
    c.dist = llm::sampling_distribution(r.last_logits.data(), V, settings);
    if (c.id != r.id)
      c.model_p =
          llm::sampling_distribution(r.last_logits.data(), V, llm::SamplingSettings{1.0f, 0, 1.0f});
    std::vector<int32_t> order(V);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + n, order.end(), [&](int32_t a, int32_t b) {
      return c.dist[a] != c.dist[b] ? c.dist[a] > c.dist[b] : c.model_p[a] > c.model_p[b];
    });
    order.resize(n);
    c.order = std::move(order);
    c.id = r.id;
    c.temperature = temperature;
    c.top_k = top_k;
    c.top_p = top_p;
    c.bars = n;
  }
  const std::vector<float>& dist = c.dist;
  const std::vector<float>& model_p = c.model_p;
  const std::vector<int32_t>& order = c.order;

  if (size.x <= 0) size.x = ImGui::GetContentRegionAvail().x;
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("bars", size);
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float line = ImGui::GetTextLineHeight();
  const float row = std::max(line + px(2), std::min(line * 1.6f, size.y / n));
  const float label_w = px(110), value_w = ImGui::CalcTextSize("0.0021%").x + px(8);
  const float bar_x = origin.x + label_w, bar_w = size.x - label_w - value_w;
  float max_p = 1e-6f;
  for (int k = 0; k < n; k++) max_p = std::max({max_p, dist[order[k]], model_p[order[k]]});
  for (int k = 0; k < n; k++) {
    const int32_t id = order[k];
    const float y = origin.y + k * row;
    const std::string label = token_label(r, id);
    const float tw = ImGui::CalcTextSize(label.c_str()).x;
    dl->AddText(ImVec2(bar_x - tw - px(8), y + (row - line) / 2), ImGui::GetColorU32(ImGuiCol_Text),
                label.c_str());
    const float h0 = y + row * 0.15f, h1 = y + row * 0.85f;
    dl->AddRectFilled(ImVec2(bar_x, h0), ImVec2(bar_x + bar_w * model_p[id] / max_p, h1),
                      IM_COL32(86, 156, 255, 60), px(2));
    dl->AddRectFilled(ImVec2(bar_x, h0), ImVec2(bar_x + bar_w * dist[id] / max_p, h1),
                      colors::train, px(2));
    dl->AddText(ImVec2(bar_x + bar_w + px(6), y + (row - line) / 2), colors::axis_text,
                percent(dist[id]).c_str());
    if (hovered && ImGui::GetIO().MousePos.y >= y && ImGui::GetIO().MousePos.y < y + row)
      ImGui::SetTooltip("'%s' (id %d)\nsampled with p = %.4f\nmodel softmax p = %.4f",
                        label.c_str(), id, dist[id], model_p[id]);
  }
  report().region("predictions.bars", origin, ImVec2(origin.x + size.x, origin.y + n * row), n, 1);
}

void PredictionsPanel::draw(Session& session) {
  if (!session.synthetic && session.checkpoints.empty()) {
    draw_placeholder(
        "Open a checkpoint directory (or a run with checkpoints) to see the model's predictions.");
    return;
  }
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - px(330));
  ImGui::InputTextWithHint("##prompt", "prompt", &session.prompt);
  session.request_probe();
  const std::shared_ptr<const ProbeResult> r = session.result();
  const bool busy = session.probe_busy();
  ImGui::SameLine();
  if (busy)
    ImGui::TextDisabled("running the model...");
  else if (r && r->error.empty() && !session.synthetic)
    ImGui::TextDisabled("%s  %zu tokens  %.0f ms", r->checkpoint.filename().string().c_str(),
                        r->tokens.size(), r->forward_ms);
  if (!r || !r->error.empty() || r->last_logits.empty()) {
    draw_placeholder(r && !r->error.empty() ? "The model could not run: see the error above."
                     : session.synthetic    ? "Synthetic attention has no predictions."
                                            : "Running the model...");
    return;
  }

  // Step-by-step sampling: append one token per finished forward pass.
  const bool fresh = !busy && r->prompt == session.prompt;
  auto append = [&](bool greedy) {
    const llm::SamplingSettings s = greedy ? llm::SamplingSettings{0.0f, 0, 1.0f}
                                           : llm::SamplingSettings{temperature, top_k, top_p};
    const int32_t id =
        llm::sample_token(r->last_logits.data(), static_cast<int>(r->last_logits.size()), s, rng_);
    undo_.push_back(session.prompt.size());
    session.prompt += r->tokenizer->decode_token(id);
  };
  if (steps_left_ > 0 && fresh) {
    append(false);
    steps_left_--;
  }

  const float left_w = ImGui::GetContentRegionAvail().x * 0.5f;
  ImGui::BeginChild("distribution", ImVec2(left_w, 0), false);
  ImGui::PushItemWidth(px(170));
  ImGui::SliderFloat("temperature", &temperature, 0.0f, 2.0f, "%.2f");
  ImGui::SameLine(0, px(16));
  ImGui::SliderInt("top-k", &top_k, 0, 200, top_k == 0 ? "all" : "%d");
  ImGui::SliderFloat("top-p", &top_p, 0.05f, 1.0f, "%.2f");
  ImGui::PopItemWidth();
  ImGui::BeginDisabled(!fresh);
  ImGui::SameLine(0, px(16));
  if (ImGui::Button("sample")) append(false);
  ImGui::SameLine();
  if (ImGui::Button("greedy")) append(true);
  ImGui::SameLine();
  if (ImGui::Button("x20")) steps_left_ = 20;
  ImGui::EndDisabled();
  ImGui::SameLine();
  ImGui::BeginDisabled(undo_.empty());
  if (ImGui::Button("undo")) {
    session.prompt.resize(std::min(session.prompt.size(), undo_.back()));
    undo_.pop_back();
    steps_left_ = 0;
  }
  ImGui::EndDisabled();
  ImGui::TextDisabled("next token after \"...%s\"  (faint: the model's softmax at temperature 1)",
                      r->labels.empty() ? "" : r->labels.back().c_str());
  draw_bars(*r, ImVec2(0, ImGui::GetContentRegionAvail().y));
  ImGui::EndChild();

  // Logit lens: one row per layer, its top tokens coloured by probability.
  ImGui::SameLine(0, px(20));
  ImGui::BeginChild("lens", ImVec2(0, 0), false);
  ImGui::Text("logit lens");
  ImGui::SameLine();
  ImGui::TextDisabled("softmax(wte . ln_f(residual after layer l)) for the next token");
  const int cols = ProbeResult::kLensTop;
  if (ImGui::BeginTable("lens_table", cols + 1,
                        ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingStretchSame)) {
    ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed,
                            ImGui::CalcTextSize("output").x + px(6));
    for (int k = 0; k < cols; k++) ImGui::TableSetupColumn(label("top ", k + 1).c_str());
    ImGui::TableHeadersRow();
    const int rows = static_cast<int>(r->logit_lens.size());
    for (int l = 0; l < rows; l++) {
      ImGui::TableNextRow(0, ImGui::GetTextLineHeight() + px(6));
      ImGui::TableNextColumn();
      const std::string name = l == 0 ? "embed" : (l == rows - 1 ? "output" : label("L", l - 1));
      ImGui::TextDisabled("%s", name.c_str());
      const auto& lr = r->logit_lens[l];
      for (int k = 0; k < cols && k < static_cast<int>(lr.ids.size()); k++) {
        ImGui::TableNextColumn();
        const ImU32 bg = heat(std::sqrt(lr.probs[k]));
        ImGui::TableSetBgColor(ImGuiTableBgTarget_CellBg, bg);
        const std::string label = token_label(*r, lr.ids[k]);
        ImGui::PushStyleColor(ImGuiCol_Text, text_on(bg));
        ImGui::Text("%s", label.c_str());
        ImGui::SameLine();
        ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(text_on(bg) & 0xB0FFFFFF), "%s",
                           percent(lr.probs[k]).c_str());
        ImGui::PopStyleColor();
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("'%s'  p = %.4f", label.c_str(), lr.probs[k]);
      }
    }
    ImGui::EndTable();
  }
  ImGui::EndChild();
}

}  // namespace viz
