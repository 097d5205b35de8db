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

// Appends one JSON object as a line to `path` (created if missing), e.g. RUN/resumes.jsonl.
void append_json_line(const std::filesystem::path& path, const nlohmann::json& line);

class MetricsLog {
 public:
  // Opens `path` for appending. When resuming at `resume_step` > 0, lines with step >= resume_step
  // (written after the checkpoint by the interrupted run) are dropped first, so the log matches the
  // resumed run exactly; with resume_step == 0 the file is started afresh. The file is never
  // rewritten in place: the kept lines go to PATH.tmp, which replaces PATH in one rename (a crash
  // leaves the old, complete file, whose extra lines the next resume drops), so readers following
  // it see a new file (a new inode) rather than a shrinking one.
  MetricsLog(const std::filesystem::path& path, int64_t resume_step);
  void write(const nlohmann::json& line);

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace llm
