#pragma once
// defines: llm::SweepAxis, parse_sweep_grid, sweep_points, write_sweep_results: the parts of
//          `glassbox sweep` (llm/cli/cmd_sweep.cpp) that do not parse flags.
//
// A grid is a list of train settings, each with the values to try:
//   on the command line   --grid "n_embd=64,128 learning_rate=1e-3,3e-3"
//   or in a TOML file     --grid grid.toml   holding   n_embd = [64, 128]
//                                                      learning_rate = [1e-3, 3e-3]
// Its points are every combination (the last setting varies fastest), each named after its values,
// "n_embd=64,learning_rate=1e-3", which is also its run directory inside the sweep directory.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace llm {

struct SweepAxis {
  std::string key;                  // a train setting, e.g. "n_embd"
  std::vector<std::string> values;  // as text, e.g. {"64", "128"}
};

// The grid of `text`: a TOML file when `text` names one (ends in .toml), else KEY=V1,V2,... words
// separated by spaces. Throws llm::Error, one line beginning "--grid", for a word without '=', an
// empty key or value, a key given twice, or an empty grid. The keys are not checked here.
std::vector<SweepAxis> parse_sweep_grid(const std::string& text);

struct SweepPoint {
  std::vector<std::pair<std::string, std::string>> settings;  // (key, value) in grid order
  std::string name;                                           // "key=value,key=value"
};
// Every combination of the axes' values, the last axis varying fastest.
std::vector<SweepPoint> sweep_points(const std::vector<SweepAxis>& axes);

// What a finished point measured (saved as sweep_result.json in its run directory).
struct SweepResult {
  SweepPoint point;
  double final_train_loss = 0, final_val_loss = 0;
  double tokens = 0;   // tokens trained on: max_steps x batch x grad_accum x block_size
  double flops = 0;    // tokens x training_flops_per_token (llm/model/config.hpp)
  double seconds = 0;  // wall time of the training (of its last part, when it was resumed)
};

// sweep_result.json of one run directory, written once the run has finished.
void write_sweep_result(const std::filesystem::path& run_dir, const SweepResult& result);
// Whether run_dir holds one; read_sweep_result throws naming the file when it is malformed.
bool has_sweep_result(const std::filesystem::path& run_dir);
SweepResult read_sweep_result(const std::filesystem::path& run_dir);

// results.csv and results.md in sweep_dir: one row per result, the grid's keys as columns, then
// final train and val loss, tokens, FLOPs, seconds.
void write_sweep_results(const std::filesystem::path& sweep_dir, const std::vector<SweepAxis>& axes,
                         const std::vector<SweepResult>& results);

}  // namespace llm
