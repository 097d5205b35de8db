#pragma once
// defines: viz::MetricsLog, an incremental reader ("tail") of a run's metrics.jsonl.
//
// The trainer appends one JSON object per line to RUN_DIR/metrics.jsonl:
//   {"step": 120, "loss": 3.41, "lr": 6e-4, "grad_norm": 0.92, "tokens_per_s": 51234,
//    "elapsed_s": 88.1,                                  every logged step
//    "val_loss": 3.52,                                   only on eval steps
//    "layer_grad_norm": [L floats], "layer_update_ratio": [L floats]}   every N steps
//   {"step": 250, "hellaswag_acc": 0.27, "hellaswag_acc_norm": 0.28}  with --hellaswag-interval
// Unknown keys are ignored and any field may be missing. poll() reads only the bytes appended since
// the last call, so the dashboard follows a run while it trains. A partial last line (the trainer
// is mid-write) waits for its newline; a malformed line is counted and reported, never fatal.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace viz {

// One named curve: y over step (x). Points arrive in file order (steps ascending in a normal run).
struct Series {
  std::vector<double> x, y;
  void push(double xv, double yv) {
    x.push_back(xv);
    y.push_back(yv);
  }
  size_t size() const { return x.size(); }
  void clear() {
    x.clear();
    y.clear();
  }
};

// A per-layer quantity sampled every N steps: values[i] has one entry per layer at steps[i].
struct LayerSeries {
  std::vector<double> steps;
  std::vector<std::vector<float>> values;
  int n_layer() const { return values.empty() ? 0 : static_cast<int>(values.back().size()); }
  void clear() {
    steps.clear();
    values.clear();
  }
};

class MetricsLog {
 public:
  MetricsLog() = default;
  explicit MetricsLog(std::filesystem::path path) : path_(std::move(path)) {}

  // Reads whatever was appended since the last poll. Returns true when new points arrived. A file
  // that shrank (a run restarted in the same directory) or was replaced (a resume drops the lines
  // past its checkpoint by renaming a new file over the old: another inode) is read again from the
  // start.
  bool poll();
  // Parses a whole text (one JSON object per line) as if it were the file: for tests.
  void parse_text(const std::string& text);

  const std::filesystem::path& path() const { return path_; }
  bool file_exists() const { return file_exists_; }
  int64_t lines() const { return lines_; }

  Series loss, val_loss, lr, grad_norm, tokens_per_s, elapsed_s, mfu;
  Series hellaswag_acc, hellaswag_acc_norm;
  LayerSeries layer_grad_norm, layer_update_ratio;

  // Malformed lines: how many, and the first one's number and reason (shown as a UI warning).
  int64_t bad_lines = 0;
  std::string first_bad_line;

 private:
  void clear();
  void parse_line(const std::string& line);

  std::filesystem::path path_;
  bool file_exists_ = false;
  uint64_t device_ = 0, inode_ = 0;  // which file offset_ counts in
  uint64_t offset_ = 0;              // bytes consumed so far (complete lines only)
  std::string partial_;              // an unterminated last line, completed by a later poll
  int64_t lines_ = 0;
};

}  // namespace viz
