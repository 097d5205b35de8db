// Line charts and heat strips on ImDrawList. See plot.hpp.
#include "visualizer/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "visualizer/ui.hpp"

namespace viz {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Where a chart's pieces go: the whole widget, and the data rectangle inside the axis labels.
struct Frame {
  ImVec2 outer_min, outer_max;
  ImVec2 plot_min, plot_max;
  bool hovered = false;
  float width() const { return plot_max.x - plot_min.x; }
  float height() const { return plot_max.y - plot_min.y; }
};

// Reserves the widget's space, draws its background and title, and lays out the plot rectangle.
Frame begin_frame(const char* title, ImVec2 size, float left, float right) {
  if (size.x <= 0) size.x = ImGui::GetContentRegionAvail().x;
  if (size.y <= 0) size.y = px(220);
  Frame f;
  f.outer_min = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton(title, size);
  f.hovered = ImGui::IsItemHovered();
  f.outer_max = ImVec2(f.outer_min.x + size.x, f.outer_min.y + size.y);
  const float line = ImGui::GetTextLineHeight();
  f.plot_min = ImVec2(f.outer_min.x + left, f.outer_min.y + line + px(10));
  f.plot_max = ImVec2(f.outer_max.x - right, f.outer_max.y - line - px(8));

  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRectFilled(f.outer_min, f.outer_max, colors::frame_bg, px(4));
  dl->AddText(ImVec2(f.outer_min.x + px(8), f.outer_min.y + px(4)),
              ImGui::GetColorU32(ImGuiCol_Text), title);
  return f;
}

// Debiased exponential moving average (TensorBoard's smoothing): the first points are not pulled
// towards 0. Non-finite inputs give NaN and do not disturb the average.
std::vector<double> ema(const std::vector<double>& y, double w) {
  std::vector<double> out(y.size(), kNaN);
  double s = 0.0, weight = 0.0;
  for (size_t i = 0; i < y.size(); i++) {
    if (!std::isfinite(y[i])) continue;
    s = w * s + (1.0 - w) * y[i];
    weight = w * weight + (1.0 - w);
    out[i] = s / weight;
  }
  return out;
}

// A polyline that skips non-finite points by breaking into segments.
class Polyline {
 public:
  Polyline(ImDrawList* dl, ImU32 color, float thickness)
      : dl_(dl), color_(color), thick_(thickness) {}
  ~Polyline() { flush(); }
  void add(float x, float y) {
    if (!std::isfinite(x) || !std::isfinite(y)) return flush();
    points_.push_back(ImVec2(x, y));
  }
  void flush() {
    if (points_.size() >= 2)
      dl_->AddPolyline(points_.data(), static_cast<int>(points_.size()), color_, 0, thick_);
    else if (points_.size() == 1)
      dl_->AddCircleFilled(points_[0], thick_, color_);
    points_.clear();
  }

 private:
  ImDrawList* dl_;
  ImU32 color_;
  float thick_;
  std::vector<ImVec2> points_;
};

ImU32 with_alpha(ImU32 color, int alpha) {
  return (color & ~IM_COL32_A_MASK) | (static_cast<ImU32>(alpha) << IM_COL32_A_SHIFT);
}

std::string tick_label(double v) {
  if (std::fabs(v) >= 1e3) return short_number(v);  // 51.2k
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);  // 0.0006, 2.54e-05, 3.5
  return buf;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  std::vector<double> ticks;
  if (!(hi > lo) || max_ticks < 1) return ticks;
  const double raw = (hi - lo) / max_ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

void draw_chart(const char* title, ImVec2 size, std::span<const Curve> curves,
                const ChartOptions& options) {
  ImGui::PushID(title);
  Frame f = begin_frame(title, size, px(58), px(14));
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const bool log_y = options.log_y;
  auto ty = [&](double v) { return log_y ? (v > 0 ? std::log10(v) : kNaN) : v; };

  // Data ranges over every curve's raw points (the envelope must fit).
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Curve& c : curves)
    for (size_t i = 0; i < c.series->size(); i++) {
      const double y = ty(c.series->y[i]);
      if (!std::isfinite(y) || !std::isfinite(c.series->x[i])) continue;
      x0 = std::min(x0, c.series->x[i]);
      x1 = std::max(x1, c.series->x[i]);
      y0 = std::min(y0, y);
      y1 = std::max(y1, y);
    }
  if (!std::isfinite(x0)) {
    const char* msg = "no data yet";
    const ImVec2 ts = ImGui::CalcTextSize(msg);
    dl->AddText(
        ImVec2((f.plot_min.x + f.plot_max.x - ts.x) / 2, (f.plot_min.y + f.plot_max.y - ts.y) / 2),
        colors::axis_text, msg);
    ImGui::PopID();
    return;
  }
  if (x1 <= x0) {
    x0 -= 1;
    x1 += 1;
  }
  if (y1 <= y0) {
    const double d = std::max(std::fabs(y0) * 0.05, 1e-6);
    y0 -= d;
    y1 += d;
  }
  const double pad = (y1 - y0) * 0.06;
  y0 -= pad;
  y1 += pad;
  const float W = f.width(), H = f.height();
  auto X = [&](double x) { return static_cast<float>(f.plot_min.x + (x - x0) / (x1 - x0) * W); };
  auto Y = [&](double t) { return static_cast<float>(f.plot_max.y - (t - y0) / (y1 - y0) * H); };

  // Grid and tick labels.
  const float line = ImGui::GetTextLineHeight();
  for (double t : nice_ticks(x0, x1, std::max(2, static_cast<int>(W / px(90))))) {
    const float x = X(t);
    dl->AddLine(ImVec2(x, f.plot_min.y), ImVec2(x, f.plot_max.y), colors::grid);
    const std::string s = short_number(t);
    const float tw = ImGui::CalcTextSize(s.c_str()).x;
    dl->AddText(ImVec2(x - tw / 2, f.plot_max.y + px(3)), colors::axis_text, s.c_str());
  }
  std::vector<double> yticks;
  const int max_yticks = std::max(2, static_cast<int>(H / (line * 1.8f)));
  if (log_y && y1 - y0 > 3.0) {  // many decades: 10^k only
    const double step = std::max(1.0, std::ceil((y1 - y0) / max_yticks));
    for (double k = std::ceil(y0 / step) * step; k <= y1; k += step) yticks.push_back(k);
  } else if (log_y &&
             y1 - y0 >= 0.8) {  // a decade or few: 1, 2, 5 x 10^k (crowded ones skipped below)
    for (double k = std::floor(y0); k <= std::ceil(y1); k++)
      for (double m : {1.0, 2.0, 5.0}) {
        const double t = k + std::log10(m);
        if (t >= y0 && t <= y1) yticks.push_back(t);
      }
  } else if (log_y) {
    for (double v : nice_ticks(std::pow(10.0, y0), std::pow(10.0, y1), max_yticks))
      if (v > 0) yticks.push_back(std::log10(v));
  } else {
    yticks = nice_ticks(y0, y1, max_yticks);
  }
  float last_label_y = INFINITY;
  for (double t : yticks) {
    const float y = Y(t);
    if (std::fabs(y - last_label_y) < line * 1.1f) continue;  // log axes crowd towards the top
    last_label_y = y;
    dl->AddLine(ImVec2(f.plot_min.x, y), ImVec2(f.plot_max.x, y), colors::grid);
    const std::string s = tick_label(log_y ? std::pow(10.0, t) : t);
    const float tw = ImGui::CalcTextSize(s.c_str()).x;
    dl->AddText(ImVec2(f.plot_min.x - tw - px(6), y - line / 2), colors::axis_text, s.c_str());
  }
  dl->AddRect(f.plot_min, f.plot_max, IM_COL32(255, 255, 255, 40));

  // Curves, clipped to the plot rectangle.
  dl->PushClipRect(f.plot_min, f.plot_max, true);
  if (options.marker_x >= 0) {
    const float x = X(options.marker_x);
    dl->AddLine(ImVec2(x, f.plot_min.y), ImVec2(x, f.plot_max.y), IM_COL32(255, 255, 255, 160),
                px(2));
  }
  std::vector<std::vector<double>> smoothed(curves.size());
  for (size_t ci = 0; ci < curves.size(); ci++) {
    const Curve& c = curves[ci];
    const Series& s = *c.series;
    const bool smooth = c.smooth && options.smoothing > 0.0f;
    smoothed[ci] = smooth ? ema(s.y, options.smoothing) : s.y;
    const std::vector<double>& sm = smoothed[ci];
    const float thick = px(1.6f);
    const int columns = std::max(1, static_cast<int>(W));
    if (s.size() > static_cast<size_t>(columns)) {
      // More points than pixels: per pixel column the raw min..max and the mean smoothed value.
      std::vector<double> lo(columns, INFINITY), hi(columns, -INFINITY), sum(columns, 0.0);
      std::vector<int> count(columns, 0);
      for (size_t i = 0; i < s.size(); i++) {
        const int col = std::clamp(static_cast<int>(X(s.x[i]) - f.plot_min.x), 0, columns - 1);
        const double raw = ty(s.y[i]), smv = ty(sm[i]);
        if (std::isfinite(raw)) {
          lo[col] = std::min(lo[col], raw);
          hi[col] = std::max(hi[col], raw);
        }
        if (std::isfinite(smv)) {
          sum[col] += smv;
          count[col]++;
        }
      }
      if (options.envelope)
        for (int col = 0; col < columns; col++)
          if (std::isfinite(lo[col]))
            dl->AddRectFilled(ImVec2(f.plot_min.x + col, Y(hi[col]) - 0.5f),
                              ImVec2(f.plot_min.x + col + 1, Y(lo[col]) + 0.5f),
                              with_alpha(c.color, 70));
      Polyline pl(dl, c.color, thick);
      for (int col = 0; col < columns; col++)
        if (count[col]) pl.add(f.plot_min.x + col + 0.5f, Y(sum[col] / count[col]));
    } else {
      if (smooth) {  // the raw curve faintly behind the smoothed one
        Polyline raw(dl, with_alpha(c.color, 70), px(1.0f));
        for (size_t i = 0; i < s.size(); i++) raw.add(X(s.x[i]), Y(ty(s.y[i])));
      }
      Polyline pl(dl, c.color, thick);
      for (size_t i = 0; i < s.size(); i++) pl.add(X(s.x[i]), Y(ty(sm[i])));
    }
    if (c.markers)
      for (size_t i = 0; i < s.size(); i++) {
        const float y = Y(ty(s.y[i]));
        if (std::isfinite(y)) dl->AddCircleFilled(ImVec2(X(s.x[i]), y), px(3.0f), c.color);
      }
  }
  dl->PopClipRect();

  // Legend (top right): colour, name, latest value.
  {
    float width = 0;
    std::vector<std::string> texts;
    for (const Curve& c : curves) {
      std::string t = c.label;
      if (c.series->size()) {
        char value[32];
        const double last = c.series->y.back();
        std::snprintf(value, sizeof value, "  %.4g", last);
        if (std::fabs(last) >= 1e4) {
          t += "  ";
          t += short_number(last);
        } else {
          t += value;
        }
      }
      width = std::max(width, ImGui::CalcTextSize(t.c_str()).x);
      texts.push_back(std::move(t));
    }
    const float sw = px(14), gap = px(6);
    ImVec2 p(f.plot_max.x - width - sw - gap - px(10), f.plot_min.y + px(6));
    dl->AddRectFilled(ImVec2(p.x - px(6), p.y - px(3)),
                      ImVec2(f.plot_max.x - px(4), p.y + curves.size() * line + px(3)),
                      IM_COL32(22, 24, 30, 200), px(3));
    for (size_t i = 0; i < curves.size(); i++) {
      const float y = p.y + i * line;
      dl->AddRectFilled(ImVec2(p.x, y + line * 0.4f), ImVec2(p.x + sw, y + line * 0.6f),
                        curves[i].color);
      dl->AddText(ImVec2(p.x + sw + gap, y), ImGui::GetColorU32(ImGuiCol_Text), texts[i].c_str());
    }
  }

  // Hover: a crosshair at the mouse's step and every curve's value there.
  if (f.hovered) {
    const float mx = ImGui::GetIO().MousePos.x;
    if (mx >= f.plot_min.x && mx <= f.plot_max.x) {
      const double xm = x0 + (mx - f.plot_min.x) / W * (x1 - x0);
      dl->AddLine(ImVec2(mx, f.plot_min.y), ImVec2(mx, f.plot_max.y), IM_COL32(255, 255, 255, 90));
      ImGui::BeginTooltip();
      ImGui::Text("step %.0f", xm);
      for (size_t ci = 0; ci < curves.size(); ci++) {
        const Series& s = *curves[ci].series;
        if (!s.size()) continue;
        const size_t i = std::min<size_t>(
            std::lower_bound(s.x.begin(), s.x.end(), xm) - s.x.begin(), s.size() - 1);
        const size_t j = (i > 0 && std::fabs(s.x[i - 1] - xm) < std::fabs(s.x[i] - xm)) ? i - 1 : i;
        ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(curves[ci].color), "%s: %.5g (step %.0f)",
                           curves[ci].label, s.y[j], s.x[j]);
      }
      ImGui::EndTooltip();
    }
  }
  if (options.report_name) report().region(options.report_name, f.plot_min, f.plot_max);
  ImGui::PopID();
}

void draw_heat_strip(const char* title, ImVec2 size, const LayerSeries& data,
                     const char* report_name) {
  ImGui::PushID(title);
  const int L = data.n_layer();
  const int n = static_cast<int>(data.values.size());

  // log10 of every value (NaN where the value is missing or not positive) and their range.
  auto logv = [&](int i, int l) -> double {
    const auto& row = data.values[i];
    if (l >= static_cast<int>(row.size()) || !(row[l] > 0.0f) || !std::isfinite(row[l]))
      return kNaN;
    return std::log10(static_cast<double>(row[l]));
  };
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; i++)
    for (int l = 0; l < L; l++) {
      const double v = logv(i, l);
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
  if (!std::isfinite(lo)) {
    lo = 0;
    hi = 1;
  }
  if (hi - lo < 1e-6) {
    lo -= 0.5;
    hi += 0.5;
  }
  const double bar_ticks[] = {hi, (lo + hi) / 2, lo};
  float bar_label_w = 0;
  for (double t : bar_ticks)
    bar_label_w =
        std::max(bar_label_w, ImGui::CalcTextSize(tick_label(std::pow(10.0, t)).c_str()).x);

  Frame f = begin_frame(title, size, px(40), px(34) + bar_label_w);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  if (L == 0 || n == 0) {
    const char* msg =
        "no per-layer data yet (layer_grad_norm / layer_update_ratio in metrics.jsonl)";
    const ImVec2 ts = ImGui::CalcTextSize(msg);
    dl->AddText(
        ImVec2((f.plot_min.x + f.plot_max.x - ts.x) / 2, (f.plot_min.y + f.plot_max.y - ts.y) / 2),
        colors::axis_text, msg);
    ImGui::PopID();
    return;
  }

  auto color_of = [&](double v) {
    return std::isfinite(v) ? heat(static_cast<float>((v - lo) / (hi - lo)))
                            : IM_COL32(60, 60, 60, 255);
  };

  // Columns: one per sample, or one per pixel (mean of the log values) when samples outnumber
  // pixels.
  const float W = f.width(), H = f.height();
  const int cols = std::min(n, std::max(1, static_cast<int>(W)));
  const float cw = W / cols, rh = H / L;
  for (int c = 0; c < cols; c++) {
    const int i0 = static_cast<int>(static_cast<int64_t>(c) * n / cols);
    const int i1 = std::max(i0 + 1, static_cast<int>(static_cast<int64_t>(c + 1) * n / cols));
    for (int l = 0; l < L; l++) {
      double sum = 0;
      int count = 0;
      for (int i = i0; i < i1; i++) {
        const double v = logv(i, l);
        if (std::isfinite(v)) {
          sum += v;
          count++;
        }
      }
      dl->AddRectFilled(ImVec2(f.plot_min.x + c * cw, f.plot_min.y + l * rh),
                        ImVec2(f.plot_min.x + (c + 1) * cw, f.plot_min.y + (l + 1) * rh),
                        color_of(count ? sum / count : kNaN));
    }
  }

  // Layer labels (thinned when rows are shorter than the text), step ticks, colour bar.
  const float line = ImGui::GetTextLineHeight();
  const int every = std::max(1, static_cast<int>(std::ceil(line / rh)));
  for (int l = 0; l < L; l += every) {
    const std::string s = label("L", l);
    const float tw = ImGui::CalcTextSize(s.c_str()).x;
    dl->AddText(ImVec2(f.plot_min.x - tw - px(5), f.plot_min.y + (l + 0.5f) * rh - line / 2),
                colors::axis_text, s.c_str());
  }
  const double s0 = data.steps.front(), s1 = data.steps.back();
  if (s1 > s0)
    for (double t : nice_ticks(s0, s1, std::max(2, static_cast<int>(W / px(90))))) {
      // Columns are uniform in sample index; samples are (near) uniform in step.
      const float x = static_cast<float>(f.plot_min.x + (t - s0) / (s1 - s0) * (W - cw) + cw / 2);
      const std::string s = short_number(t);
      const float tw = ImGui::CalcTextSize(s.c_str()).x;
      dl->AddLine(ImVec2(x, f.plot_max.y), ImVec2(x, f.plot_max.y + px(3)), colors::axis_text);
      dl->AddText(ImVec2(x - tw / 2, f.plot_max.y + px(3)), colors::axis_text, s.c_str());
    }
  const ImVec2 bar_min(f.plot_max.x + px(10), f.plot_min.y),
      bar_max(f.plot_max.x + px(22), f.plot_max.y);
  const int segments = 48;
  for (int k = 0; k < segments; k++) {
    const float y0 = bar_max.y - (k + 1) * H / segments, y1 = bar_max.y - k * H / segments;
    dl->AddRectFilled(ImVec2(bar_min.x, y0), ImVec2(bar_max.x, y1 + 0.5f),
                      heat((k + 0.5f) / segments));
  }
  for (double t : bar_ticks) {
    const std::string s = tick_label(std::pow(10.0, t));
    const float y = static_cast<float>(bar_max.y - (t - lo) / (hi - lo) * H);
    dl->AddText(ImVec2(bar_max.x + px(4),
                       std::clamp(y - line / 2, f.plot_min.y - line / 2, f.plot_max.y - line / 2)),
                colors::axis_text, s.c_str());
  }

  if (f.hovered) {
    const ImVec2 m = ImGui::GetIO().MousePos;
    if (m.x >= f.plot_min.x && m.x < f.plot_max.x && m.y >= f.plot_min.y && m.y < f.plot_max.y) {
      const int c = std::clamp(static_cast<int>((m.x - f.plot_min.x) / cw), 0, cols - 1);
      const int l = std::clamp(static_cast<int>((m.y - f.plot_min.y) / rh), 0, L - 1);
      const int i = static_cast<int>(static_cast<int64_t>(c) * n / cols);
      ImGui::BeginTooltip();
      ImGui::Text("layer %d, step %.0f", l, data.steps[i]);
      if (l < static_cast<int>(data.values[i].size())) ImGui::Text("%.4g", data.values[i][l]);
      ImGui::EndTooltip();
    }
  }
  if (report_name) report().region(report_name, f.plot_min, f.plot_max, L, cols);
  ImGui::PopID();
}

}  // namespace viz
