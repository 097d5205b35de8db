// The training dashboard: loss (train and validation), learning rate, gradient norm and throughput
// over steps, per-layer heat strips of gradient norm and update/weight ratio, and the HellaSwag
// accuracy when the run measures it, all read from RUN_DIR/metrics.jsonl while the run trains.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <imgui.h>

#include "visualizer/panels.hpp"
#include "visualizer/plot.hpp"
#include "visualizer/ui.hpp"

namespace viz {

void DashboardPanel::draw(Session& session) {
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
