#pragma once
// A small training set-up shared by the trainer tests (test_train, test_mixed_precision,
// test_nccl_comm): a generated corpus with structure to learn, a tiny run config, and a reader of
// the run's metrics.jsonl.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/data/prepare.hpp"
#include "llm/train/train_config.hpp"

namespace train_fixture {

namespace fs = std::filesystem;
using llm::PrepareOptions;
using llm::TrainConfig;

// A corpus with structure to learn: sentences from a small grammar, fixed seed; the char tokenizer.
inline fs::path make_dataset(const fs::path& root) {
  fs::remove_all(root);
  fs::create_directories(root);
  std::mt19937 rng(5);
  const std::vector<std::string> subjects = {"the cat", "a dog", "my king", "our queen"};
  const std::vector<std::string> verbs = {" sees", " loves", " fears", " calls"};
  const std::vector<std::string> objects = {" the moon.\n", " a rose.\n", " his horse.\n"};
  std::string text;
  while (text.size() < 60000) text += subjects[rng() % 4] + verbs[rng() % 4] + objects[rng() % 3];
  std::ofstream(root / "corpus.txt") << text;
  PrepareOptions options;
  options.tokenizer = "char";
  options.inputs = {root / "corpus.txt"};
  options.out_dir = root / "data";
  options.progress = false;
  prepare_dataset(options);
  return root / "data";
}

// 2 layers of 16 channels, 12 steps on (4, 16) batches, evaluations, layer statistics and a fixed
// schedule (lr_decay_steps), so a run stopped early and resumed follows the same one.
inline TrainConfig tiny_run(const fs::path& data, const fs::path& out) {
  TrainConfig c;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 16;
  c.block_size = 16;
  c.batch_size = 4;
  c.max_steps = 12;
  c.lr_decay_steps = 12;  // fixed, so a run stopped early follows the same schedule
  c.warmup_steps = 3;
  c.learning_rate = 3e-3f;
  c.eval_interval = 5;
  c.eval_batches = 4;
  c.log_interval = 100;
  c.layer_stats_interval = 4;
  c.checkpoint_interval = 100;
  c.train_data = (data / "train_*.bin").string();
  c.val_data = (data / "val_*.bin").string();
  c.out_dir = out.string();
  return c;
}

inline std::vector<nlohmann::json> read_metrics(const fs::path& run) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(run / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace train_fixture
