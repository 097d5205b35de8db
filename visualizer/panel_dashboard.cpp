// The training dashboard: loss (train and validation), learning rate, gradient norm and throughput
// over steps, per-layer heat strips of gradient norm and update/weight ratio, and the HellaSwag
// accuracy when the run measures it, all read from RUN_DIR/metrics.jsonl while the run trains. A
// sweep directory (`glassbox sweep`) shows its runs' train and val loss overlaid, with a legend.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <imgui.h>

#include "visualizer/panels.hpp"
#include "visualizer/plot.hpp"
#include "visualizer/ui.hpp"

namespace viz {

namespace {

// Distinct colours for a sweep's runs, cycled when there are more runs than colours.
constexpr ImU32 kRunColors[] = {
    IM_COL32(86, 156, 255, 255),  IM_COL32(255, 140, 60, 255),  IM_COL32(120, 210, 140, 255),
    IM_COL32(230, 110, 200, 255), IM_COL32(240, 210, 90, 255),  IM_COL32(180, 140, 255, 255),
    IM_COL32(90, 215, 225, 255),  IM_COL32(250, 250, 250, 255), IM_COL32(200, 90, 90, 255)};

}  // namespace

void DashboardPanel::draw_sweep(Session& session) {
  ImGui::SetNextItemWidth(px(160));
  ImGui::SliderFloat("smoothing", &smoothing, 0.0f, 0.99f, "%.2f");
  ImGui::SameLine(0, px(18));
  ImGui::Checkbox("log y", &log_y);
  ImGui::SameLine(0, px(18));
  ImGui::TextDisabled("%zu runs", session.sweep_names.size());

  std::vector<Curve> train, val;
  for (size_t i = 0; i < session.sweep_names.size(); i++) {
    const ImU32 color = kRunColors[i % std::size(kRunColors)];
    const char* name = session.sweep_names[i].c_str();
    train.push_back({name, &session.sweep_metrics[i].loss, color});
    val.push_back({name, &session.sweep_metrics[i].val_loss, color, /*markers=*/true,
                   /*smooth=*/false});
  }
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float h = (avail.y - ImGui::GetStyle().ItemSpacing.y) / 2;
  ChartOptions options{log_y, smoothing, false, "sweep.chart.train_loss"};
  draw_chart("train loss", ImVec2(avail.x, h), train, options);
  options.report_name = "sweep.chart.val_loss";
  draw_chart("val loss", ImVec2(avail.x, h), val, options);
}

void DashboardPanel::draw(Session& session) {
  if (session.kind == Session::Kind::sweep) {
    draw_sweep(session);
    return;
  }
  const MetricsLog& m = session.metrics;
  if (session.kind != Session::Kind::run && session.kind != Session::Kind::metrics_file) {
    draw_placeholder(session.kind == Session::Kind::checkpoint
                         ? "A checkpoint has no training curves: open its run directory."
                         : "Open a run directory to see its training curves.");
    return;
  }

  // Controls, then a one-line status of the run.
  ImGui::SetNextItemWidth(px(160));
  ImGui::SliderFloat("smoothing", &smoothing, 0.0f, 0.99f, "%.2f");
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("EMA weight w: s = w s + (1 - w) loss");
  ImGui::SameLine(0, px(18));
  ImGui::Checkbox("log y", &log_y);
  ImGui::SameLine(0, px(18));
  ImGui::Checkbox("min/max envelope", &envelope);
  {
    char status[256];
    const double step = m.loss.size() ? m.loss.x.back() : 0.0;
    const double elapsed = m.elapsed_s.size() ? m.elapsed_s.y.back() : 0.0;
    std::snprintf(status, sizeof status, "%lld lines   step %.0f   %.0f min %02.0f s",
                  static_cast<long long>(m.lines()), step, std::floor(elapsed / 60),
                  std::fmod(elapsed, 60.0));
    const float w = ImGui::CalcTextSize(status).x;
    ImGui::SameLine(
        std::max(ImGui::GetCursorPosX() + px(18), ImGui::GetWindowContentRegionMax().x - w));
    ImGui::TextDisabled("%s", status);
  }

  // Three rows of two: loss | lr, grad norm | tokens/s, grad-norm strip | update-ratio strip; and a
  // fourth, HellaSwag accuracy across the width, when the run logs it.
  const bool hellaswag = m.hellaswag_acc.size() || m.hellaswag_acc_norm.size();
  const int rows = hellaswag ? 4 : 3;
  const ImGuiStyle& style = ImGui::GetStyle();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float w = (avail.x - style.ItemSpacing.x) / 2;
  const float h = std::max(px(150), (avail.y - (rows - 1) * style.ItemSpacing.y) / rows);

  ChartOptions log_opts{log_y, smoothing, envelope, nullptr};
  ChartOptions lin_opts{false, smoothing, envelope, nullptr};

  log_opts.report_name = "dashboard.chart.loss";
  const Curve loss[] = {{"train", &m.loss, colors::train},
                        {"val", &m.val_loss, colors::val, /*markers=*/true, /*smooth=*/false}};
  draw_chart("loss", ImVec2(w, h), loss, log_opts);
  ImGui::SameLine();
  lin_opts.report_name = "dashboard.chart.lr";
  const Curve lr[] = {{"lr", &m.lr, colors::lr, false, false}};
  draw_chart("learning rate", ImVec2(w, h), lr, lin_opts);

  log_opts.report_name = "dashboard.chart.grad_norm";
  const Curve grad[] = {{"grad norm", &m.grad_norm, colors::grad}};
  draw_chart("gradient norm (before clipping)", ImVec2(w, h), grad, log_opts);
  ImGui::SameLine();
  lin_opts.report_name = "dashboard.chart.tokens_per_s";
  const Curve speed[] = {{"tokens/s", &m.tokens_per_s, colors::speed}};
  draw_chart("throughput (tokens/s)", ImVec2(w, h), speed, lin_opts);

  draw_heat_strip("gradient norm per layer (log)", ImVec2(w, h), m.layer_grad_norm,
                  "dashboard.heat.layer_grad_norm");
  ImGui::SameLine();
  draw_heat_strip("update / weight ratio per layer (log)", ImVec2(w, h), m.layer_update_ratio,
                  "dashboard.heat.layer_update_ratio");

  if (hellaswag) {
    lin_opts.report_name = "dashboard.chart.hellaswag";
    const Curve accuracy[] = {
        {"acc_norm", &m.hellaswag_acc_norm, colors::hellaswag_norm, true, false},
        {"acc", &m.hellaswag_acc, colors::hellaswag, true, false}};
    draw_chart("HellaSwag accuracy (chance 0.25)", ImVec2(avail.x, h), accuracy, lin_opts);
  }
}

}  // namespace viz
