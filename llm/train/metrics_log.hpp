#pragma once
// defines: llm::MetricsLog, RUN_DIR/metrics.jsonl: one JSON object per line, flushed as written so
// the visualizer can follow a live run.
//
// Fields: step, loss, lr, grad_norm, tokens_per_s, ms_per_step, elapsed_s on training steps;
// val_loss on evaluation steps; layer_grad_norm [L] and layer_update_ratio [L] every
// layer_stats_interval steps; hellaswag_acc, hellaswag_acc_norm and hellaswag_examples every
// hellaswag_interval steps.
#include <cstdint>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace llm {

class MetricsLog {
 public:
  // Opens `path` for appending. When resuming at `resume_step` > 0, lines with step >= resume_step
  // (written after the checkpoint by the interrupted run) are dropped first, so the log matches the
  // resumed run exactly; with resume_step == 0 the file is started afresh.
  MetricsLog(const std::filesystem::path& path, int64_t resume_step);
  void write(const nlohmann::json& line);

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace llm
