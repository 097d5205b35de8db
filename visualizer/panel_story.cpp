// Story mode: the model's forward pass told in plain steps for visitors with no machine-learning
// background. Each step shows one stage with the real numbers of the loaded model and one caption:
//
//   text -> tokens -> embeddings -> layer 1 attention -> layer 1 MLP -> ... -> layer L MLP
//        -> scores (logits) -> probabilities -> a token drawn and appended (and on again)
//
// Every number comes from the probe's forward pass (ProbeResult) on the worker thread; the
// probabilities are llm::top_probabilities of the last position's logits, the same function
// `glassbox sample --top-probs` prints, so the two can be compared.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include <imgui.h>
#include <imgui_stdlib.h>

#include "llm/sample/sampling.hpp"
#include "llm/tokenizer/tokenizer.hpp"
#include "visualizer/panels.hpp"
#include "visualizer/ui.hpp"

namespace viz {

namespace {

// The story's steps for a model of L layers: 3 before the layers, 2 per layer, 3 after.
enum class Stage { text, tokens, embeddings, attention, mlp, scores, probabilities, sample };
struct Step {
  Stage stage;
  int layer = -1;  // for attention and mlp
};
// The attract loop's pace: seconds per step.
constexpr double kStepSeconds = 3.5;

int step_count(int L) { return 3 + 2 * L + 3; }
Step step_at(int index, int L) {
  if (index < 3) return {static_cast<Stage>(index)};
  if (index < 3 + 2 * L)
    return {(index - 3) % 2 == 0 ? Stage::attention : Stage::mlp, (index - 3) / 2};
  return {static_cast<Stage>(static_cast<int>(Stage::scores) + index - 3 - 2 * L)};
}

// A screen rectangle.
struct Box {
  ImVec2 min, max;
  float center_x() const { return (min.x + max.x) / 2; }
};

// A token's colour: its id spread around the hue circle (golden-ratio steps keep neighbours apart),
// light enough for dark text.
ImU32 token_color(int32_t id) {
  const float hue = std::fmod(static_cast<float>(id) * 0.618034f, 1.0f);
  return ImColor::HSV(hue, 0.35f, 0.95f);
}

// The tokens as coloured chips with their ids underneath, wrapped over lines; returns each chip's
// rectangle (screen coordinates). `selected` is outlined; a click on a chip sets it.
std::vector<Box> draw_chips(const ProbeResult& r, float top_margin, int* selected) {
  ImGui::SetWindowFontScale(1.4f);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float width = ImGui::GetContentRegionAvail().x;
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float line = ImGui::GetTextLineHeight(), pad = px(6), gap = px(6);
  // Rows after the first leave less room above them: arcs into them cross the row above.
  const float chip_h = line + 2 * pad, row_h = std::min(top_margin, px(50)) + chip_h + line + px(8);
  std::vector<Box> rects;
  float x = origin.x, y = origin.y + top_margin;
  for (size_t t = 0; t < r.tokens.size(); t++) {
    const std::string& text = r.labels[t];
    const std::string id = std::to_string(r.tokens[t]);
    const float w =
        std::max(ImGui::CalcTextSize(text.c_str()).x, ImGui::CalcTextSize(id.c_str()).x) + 2 * pad;
    if (x + w > origin.x + width && x > origin.x) {
      x = origin.x;
      y += row_h;
    }
    const Box box{ImVec2(x, y), ImVec2(x + w, y + chip_h)};
    dl->AddRectFilled(box.min, box.max, token_color(r.tokens[t]), px(4));
    if (selected && *selected == static_cast<int>(t))
      dl->AddRect(ImVec2(box.min.x - px(2), box.min.y - px(2)),
                  ImVec2(box.max.x + px(2), box.max.y + px(2)), IM_COL32(255, 255, 255, 255), px(5),
                  0, px(2));
    dl->AddText(ImVec2(x + pad, y + pad), IM_COL32(0, 0, 0, 255), text.c_str());
    dl->AddText(ImVec2(x + (w - ImGui::CalcTextSize(id.c_str()).x) / 2, box.max.y + px(2)),
                colors::axis_text, id.c_str());
    if (selected) {
      ImGui::SetCursorScreenPos(box.min);
      ImGui::PushID(static_cast<int>(t));
      if (ImGui::InvisibleButton("chip", ImVec2(w, chip_h))) *selected = static_cast<int>(t);
      if (ImGui::IsItemHovered())
        ImGui::SetTooltip("token '%s', id %d, position %zu", text.c_str(), r.tokens[t], t);
      ImGui::PopID();
    }
    rects.push_back(box);
    x += w + gap;
  }
  ImGui::SetCursorScreenPos(origin);
  ImGui::Dummy(ImVec2(width, y - origin.y + chip_h + line + px(8)));
  ImGui::SetWindowFontScale(1.0f);
  if (!rects.empty())
    report().region("story.tokens", origin, ImVec2(origin.x + width, y + chip_h), 1,
                    static_cast<int>(rects.size()));
  return rects;
}

// The text in large type, wrapped, with `appended` (if any) right after it on `appended_color`.
void draw_big_text(const std::string& text, const std::string& appended, ImU32 appended_color,
                   const char* region) {
  ImGui::SetWindowFontScale(1.6f);
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImGui::PushTextWrapPos(ImGui::GetCursorPos().x + ImGui::GetContentRegionAvail().x);
  ImGui::TextUnformatted(text.c_str());
  ImGui::PopTextWrapPos();
  if (!appended.empty()) {
    ImGui::SameLine(0, 0);
    const ImVec2 q = ImGui::GetCursorScreenPos();
    const ImVec2 size = ImGui::CalcTextSize(appended.c_str());
    ImGui::GetWindowDrawList()->AddRectFilled(
        q, ImVec2(q.x + std::max(size.x, px(8)), q.y + size.y), appended_color, px(3));
    ImGui::TextColored(ImVec4(0, 0, 0, 1), "%s", appended.c_str());
  }
  ImGui::SetWindowFontScale(1.0f);
  report().region(region, p0,
                  ImVec2(p0.x + ImGui::GetContentRegionAvail().x, ImGui::GetCursorScreenPos().y));
}

// Horizontal bars, one row each: a label, a bar of length `fraction` (0..1) and a value text.
struct BarRow {
  std::string label, value;
  float fraction;
  ImU32 color;
};
void draw_bar_rows(const std::vector<BarRow>& rows, const char* region) {
  if (rows.empty()) return;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float line = ImGui::GetTextLineHeight();
  const float row = std::clamp(avail.y / rows.size(), line + px(4), line * 1.8f);
  float label_w = px(60);
  for (const BarRow& b : rows)
    label_w = std::max(label_w, ImGui::CalcTextSize(b.label.c_str()).x + px(12));
  const float value_w = px(170), bar_x = origin.x + label_w,
              bar_w = std::max(px(40), avail.x - label_w - value_w);
  for (size_t k = 0; k < rows.size(); k++) {
    const float y = origin.y + k * row;
    const float tw = ImGui::CalcTextSize(rows[k].label.c_str()).x;
    dl->AddText(ImVec2(bar_x - tw - px(8), y + (row - line) / 2), ImGui::GetColorU32(ImGuiCol_Text),
                rows[k].label.c_str());
    dl->AddRectFilled(
        ImVec2(bar_x, y + row * 0.15f),
        ImVec2(bar_x + bar_w * std::clamp(rows[k].fraction, 0.0f, 1.0f), y + row * 0.85f),
        rows[k].color, px(2));
    dl->AddText(ImVec2(bar_x + bar_w + px(8), y + (row - line) / 2), colors::axis_text,
                rows[k].value.c_str());
  }
  const ImVec2 end(origin.x + avail.x, origin.y + rows.size() * row);
  ImGui::Dummy(ImVec2(avail.x, end.y - origin.y));
  report().region(region, origin, end, static_cast<int>(rows.size()), 1);
}

}  // namespace

int StoryPanel::steps(const ProbeResult& r) const { return step_count(r.config.n_layer); }

void StoryPanel::restart(Session& session, int preset_index) {
  preset = presets.empty() ? 0 : preset_index % static_cast<int>(presets.size());
  if (!presets.empty()) session.prompt = presets[preset];
  step = 0;
  token = -1;
  appended_ = 0;
}

void StoryPanel::play(double now_s) {
  autoplay = true;
  next_advance_s_ = now_s + kStepSeconds;
}

void StoryPanel::draw(Session& session, double now_s) {
  if (session.checkpoints.empty()) {
    draw_placeholder(
        "Open a checkpoint directory (or a run with checkpoints) to tell the model's story.");
    return;
  }
  // The sentence: a preset or the visitor's own.
  if (!presets.empty()) {
    ImGui::SetNextItemWidth(px(260));
    if (ImGui::BeginCombo("##preset", "examples")) {
      for (int i = 0; i < static_cast<int>(presets.size()); i++)
        if (ImGui::Selectable(presets[i].c_str(), i == preset)) restart(session, i);
      ImGui::EndCombo();
    }
    ImGui::SameLine();
  }
  const float buttons_w = px(300);
  ImGui::SetNextItemWidth(std::max(px(120), ImGui::GetContentRegionAvail().x - buttons_w));
  if (ImGui::InputTextWithHint("##story_text", "type a sentence", &session.prompt)) {
    step = std::min(step, 1);
    token = -1;
  }
  session.request_probe();
  const std::shared_ptr<const ProbeResult> r = session.result();
  const bool ready = r && r->error.empty() && !r->tokens.empty() && r->tokenizer &&
                     !session.probe_busy() && r->prompt == session.prompt;
  const int n = ready ? steps(*r) : 1;
  if (ready) step = std::clamp(step, 0, n - 1);  // (kept while the model runs: --story-step)

  ImGui::SameLine();
  ImGui::BeginDisabled(!ready || step == 0);
  if (ImGui::Button("< Back")) step--;
  ImGui::EndDisabled();
  ImGui::SameLine();
  ImGui::BeginDisabled(!ready);
  const bool next = ImGui::Button("Next >");
  ImGui::EndDisabled();
  ImGui::SameLine();
  if (ready) ImGui::TextDisabled("step %d of %d", step + 1, n);
  if (!ready) {
    draw_placeholder(r && !r->error.empty() ? "The model could not run: see the error above."
                                            : "The model is reading...");
    return;
  }
  const Step s = step_at(step, r->config.n_layer);

  // The attract loop moves on by itself: a step every few seconds, then the drawn token appended
  // and only the probabilities shown for the next ones, and after a dozen tokens the next preset.
  if (autoplay && now_s >= next_advance_s_) {
    next_advance_s_ = now_s + (s.stage == Stage::sample ? kStepSeconds / 2 : kStepSeconds);
    if (s.stage != Stage::sample)
      step++;
    else if (appended_ >= 12)
      restart(session, preset + 1);
    else
      sample_next_ = true;
  }

  const llm::GPTConfig& c = r->config;
  const int T = static_cast<int>(r->tokens.size()), L = c.n_layer;
  const int k = std::min(top_k, c.vocab_size);
  const std::vector<llm::TokenProbability> top =
      llm::top_probabilities(r->last_logits.data(), c.vocab_size, k);
  if (sampled_for_ != r->id) {  // one draw per result, so Back and Next show the same token
    sampled_ = llm::sample_token(r->last_logits.data(), c.vocab_size,
                                 llm::SamplingSettings{1.0f, 0, 1.0f}, rng_);
    sampled_for_ = r->id;
  }
  const int focus =
      (token >= 0 && token < T) ? token : T - 1;  // the token whose attention is drawn
  const std::string last = r->labels.back();

  // Title and caption: one plain-language paragraph per step.
  std::string title, caption;
  char buf[640];
  switch (s.stage) {
    case Stage::text:
      title = "1. The text";
      caption =
          "This is the text the model reads. It will guess what comes next, one small piece at a "
          "time. "
          "Press Next to see how.";
      break;
    case Stage::tokens:
      title = "2. Tokens";
      std::snprintf(
          buf, sizeof buf,
          "The model does not read letters or words: it reads tokens, pieces of text it knows, "
          "each "
          "with a number (its id). This text is %d tokens; the model knows %d different ones.",
          T, c.vocab_size);
      caption = buf;
      break;
    case Stage::embeddings:
      title = "3. Embeddings";
      // A learned position embedding is added here; with RoPE the position enters only inside
      // attention, as a rotation of the queries and keys.
      std::snprintf(buf, sizeof buf,
                    "Each token becomes a list of %d numbers (an embedding)%s. Similar tokens get "
                    "similar lists. Each small square below is one number: dark = negative, "
                    "bright = positive.",
                    c.n_embd,
                    c.rope() ? "; where it sits in the text is added later, inside attention"
                             : ", plus numbers saying where it sits in the text");
      caption = buf;
      break;
    case Stage::attention:
      std::snprintf(buf, sizeof buf, "%d. Layer %d of %d: attention", 4 + 2 * s.layer, s.layer + 1,
                    L);
      title = buf;
      std::snprintf(
          buf, sizeof buf,
          "Attention lets each token look back at earlier tokens to pick up context. The arcs show "
          "where '%s' looks in this layer: the thicker the arc, the more it takes from that token "
          "(averaged over the layer's %d attention heads). Click another token to follow it.",
          r->labels[focus].c_str(), c.n_head);
      caption = buf;
      break;
    case Stage::mlp:
      std::snprintf(buf, sizeof buf, "%d. Layer %d of %d: MLP", 5 + 2 * s.layer, s.layer + 1, L);
      title = buf;
      caption =
          "Then every token's list of numbers goes through a small neural network on its own (the "
          "MLP, "
          "multi-layer perceptron), which adds what the model learned in training. The bars show "
          "how "
          "much it changes each token's list, as a percentage of the list's size.";
      break;
    case Stage::scores:
      std::snprintf(buf, sizeof buf, "%d. Scores", 4 + 2 * L);
      title = buf;
      std::snprintf(
          buf, sizeof buf,
          "After the last layer, the list of numbers of the last token, '%s', is compared with "
          "every "
          "one of the %d tokens the model knows. Each gets a score (a logit): the higher, the "
          "better it fits next. The highest scores:",
          last.c_str(), c.vocab_size);
      caption = buf;
      break;
    case Stage::probabilities:
      std::snprintf(buf, sizeof buf, "%d. Chances", 5 + 2 * L);
      title = buf;
      caption =
          "The scores are turned into chances that add up to 100% (the softmax function: bigger "
          "scores get "
          "much bigger chances). These are the most likely next tokens.";
      break;
    case Stage::sample:
      std::snprintf(buf, sizeof buf, "%d. The next token", 6 + 2 * L);
      title = buf;
      std::snprintf(
          buf, sizeof buf,
          "The model draws one token at random, following the chances: '%s' (id %d, chance %s). It "
          "is added to the text, and the whole story starts again to find the token after it. "
          "Press "
          "Next to continue.",
          token_label(*r, sampled_).c_str(), sampled_,
          percent(llm::sampling_distribution(r->last_logits.data(), c.vocab_size,
                                             llm::SamplingSettings{1.0f, 0, 1.0f})[sampled_])
              .c_str());
      caption = buf;
      break;
  }
  ImGui::SetWindowFontScale(1.35f);
  ImGui::TextColored(ImVec4(0.55f, 0.75f, 1.0f, 1.0f), "%s", title.c_str());
  ImGui::SetWindowFontScale(1.0f);
  ImGui::PushTextWrapPos(ImGui::GetCursorPos().x + ImGui::GetContentRegionAvail().x);
  ImGui::TextUnformatted(caption.c_str());
  ImGui::PopTextWrapPos();
  ImGui::Spacing();

  Report& rep = report();
  rep.story_step = step;
  rep.story_steps = n;
  rep.story_title = title;
  rep.story_caption = caption;
  rep.story_prompt = r->prompt;
  rep.story_top.clear();

  ImDrawList* dl = ImGui::GetWindowDrawList();
  switch (s.stage) {
    case Stage::text: draw_big_text(r->prompt, "", 0, "story.text"); break;
    case Stage::tokens: draw_chips(*r, 0, nullptr); break;
    case Stage::embeddings: {
      // One row per token (the last ones when they do not fit): its chip label and its first
      // numbers.
      const float line = ImGui::GetTextLineHeight();
      const int dims = std::min(c.n_embd, 64);
      const float cell =
          std::max(px(4), std::min(px(14), (ImGui::GetContentRegionAvail().x - px(260)) / dims));
      const int fit =
          std::max(1, static_cast<int>(ImGui::GetContentRegionAvail().y / (line + px(8))));
      const int first = std::max(0, T - fit);
      float max_abs = 1e-6f;
      for (float v : r->embeddings) max_abs = std::max(max_abs, std::fabs(v));
      const ImVec2 origin = ImGui::GetCursorScreenPos();
      for (int t = first; t < T; t++) {
        const float y = origin.y + (t - first) * (line + px(8));
        const std::string name = r->labels[t];
        dl->AddRectFilled(ImVec2(origin.x, y), ImVec2(origin.x + px(90), y + line + px(4)),
                          token_color(r->tokens[t]), px(3));
        dl->AddText(ImVec2(origin.x + px(6), y + px(2)), IM_COL32(0, 0, 0, 255), name.c_str());
        const float* e = &r->embeddings[static_cast<size_t>(t) * c.n_embd];
        double norm = 0;
        for (int d = 0; d < c.n_embd; d++) norm += static_cast<double>(e[d]) * e[d];
        for (int d = 0; d < dims; d++) {
          const float x = origin.x + px(100) + d * cell;
          dl->AddRectFilled(ImVec2(x, y), ImVec2(x + cell - 1, y + line + px(4)),
                            heat(0.5f + 0.5f * e[d] / max_abs));
        }
        char value[64];
        std::snprintf(value, sizeof value, "length %.2f%s", std::sqrt(norm),
                      dims < c.n_embd ? " (first 64 shown)" : "");
        dl->AddText(ImVec2(origin.x + px(110) + dims * cell, y + px(2)), colors::axis_text, value);
      }
      const ImVec2 end(origin.x + px(100) + dims * cell, origin.y + (T - first) * (line + px(8)));
      ImGui::Dummy(ImVec2(end.x - origin.x, end.y - origin.y));
      report().region("story.embeddings", ImVec2(origin.x + px(100), origin.y), end, T - first,
                      dims);
      break;
    }
    case Stage::attention: {
      // Arcs from the focus token back to each earlier token, width and opacity by attention.
      const float arc_room = std::min(px(160), ImGui::GetContentRegionAvail().y * 0.3f);
      int picked = focus;
      const std::vector<Box> chips = draw_chips(*r, arc_room, &picked);
      if (picked != focus) token = picked;
      std::vector<float> mean(T, 0.0f);
      for (int h = 0; h < c.n_head; h++) {
        const float* row = r->attention.map(s.layer, h) + static_cast<size_t>(focus) * T;
        for (int j = 0; j <= focus; j++) mean[j] += row[j] / c.n_head;
      }
      const ImVec2 from(chips[focus].center_x(), chips[focus].min.y);
      ImVec2 lo = from, hi = from;
      for (int j = 0; j <= focus; j++) {
        const ImVec2 to(chips[j].center_x(), chips[j].min.y);
        const float height = std::min(arc_room - px(20), px(20) + 0.35f * std::fabs(to.x - from.x));
        const ImVec2 control((from.x + to.x) / 2, std::min(from.y, to.y) - 2 * height);
        const ImU32 color = heat(0.35f + 0.65f * std::sqrt(mean[j]));
        const ImU32 faded =
            (color & 0x00FFFFFF) | (static_cast<ImU32>(60 + 195 * std::sqrt(mean[j])) << 24);
        dl->AddBezierQuadratic(from, control, to, faded, px(1) + px(10) * mean[j]);
        if (mean[j] >= 0.08f)
          dl->AddText(ImVec2(to.x - px(12), to.y - px(18)), IM_COL32(255, 255, 255, 255),
                      percent(mean[j]).c_str());
        lo = ImVec2(std::min(lo.x, to.x), std::min(lo.y, control.y));
        hi = ImVec2(std::max(hi.x, to.x), std::max(hi.y, to.y));
      }
      report().region("story.arcs", ImVec2(lo.x, lo.y / 2 + from.y / 2 - arc_room / 2), hi, 1,
                      focus + 1);
      break;
    }
    case Stage::mlp: {
      std::vector<BarRow> rows;
      float max_change = 1e-6f;
      const float* change_of = &r->mlp_change[static_cast<size_t>(s.layer) * T];  // (T)
      for (int t = 0; t < T; t++) max_change = std::max(max_change, change_of[t]);
      const float row = ImGui::GetTextLineHeight() + px(4);
      const int fit = std::max(1, static_cast<int>(ImGui::GetContentRegionAvail().y / row));
      for (int t = std::max(0, T - fit); t < T; t++) {
        const float change = change_of[t];
        rows.push_back({r->labels[t], percent(change) + " change", change / max_change,
                        token_color(r->tokens[t])});
      }
      draw_bar_rows(rows, "story.mlp");
      break;
    }
    case Stage::scores: {
      const float* logits = r->last_logits.data();
      const float low = logits[top.back().id] - 1.0f, high = logits[top.front().id];
      std::vector<BarRow> rows;
      for (const llm::TokenProbability& t : top) {
        char value[48];
        std::snprintf(value, sizeof value, "score %.2f", logits[t.id]);
        rows.push_back(
            {token_label(*r, t.id), value, (logits[t.id] - low) / (high - low), colors::speed});
      }
      draw_bar_rows(rows, "story.scores");
      break;
    }
    case Stage::probabilities: {
      std::vector<BarRow> rows;
      for (const llm::TokenProbability& t : top) {
        rows.push_back(
            {token_label(*r, t.id), percent(t.p) + " chance", t.p / top.front().p, colors::train});
        rep.story_top.emplace_back(t.id, t.p);
      }
      draw_bar_rows(rows, "story.bars");
      break;
    }
    case Stage::sample:  // the text with the drawn token appended, highlighted
      draw_big_text(r->prompt, r->tokenizer->decode_token(sampled_), token_color(sampled_),
                    "story.sample");
      break;
  }

  if (next || sample_next_) {
    sample_next_ = false;
    if (s.stage == Stage::sample) {
      session.prompt += r->tokenizer->decode_token(sampled_);
      appended_++;
      step = autoplay ? 3 + 2 * L + 1 : 1;  // the attract loop shows only the chances from here on
      token = -1;
    } else {
      step++;
    }
  }
}

}  // namespace viz
