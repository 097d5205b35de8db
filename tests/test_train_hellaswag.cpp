// HellaSwag inside training: every hellaswag_interval steps and after the last, logged in
// metrics.jsonl, and the last figure equal to a separate evaluation of the saved checkpoint.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "llm/backend/backend.hpp"
#include "llm/core/error.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/train/hellaswag.hpp"
#include "llm/train/trainer.hpp"
#include "train_fixture.hpp"

namespace fs = std::filesystem;
using namespace llm;
using train_fixture::make_dataset;
using train_fixture::read_metrics;
using train_fixture::tiny_run;

namespace {

// Questions in the fixture's grammar ("the cat sees the moon."): one right ending, three that break
// it.
fs::path write_grammar_hellaswag(const fs::path& path) {
  std::ofstream out(path);
  out << R"({"ctx": "the cat sees", "endings": ["calls.", "the moon.", "sees a rose.", "a dog"], "label": 1})"
         "\n"
      << R"({"ctx": "my king fears", "endings": ["his horse.", "loves.", "our queen", "the"], "label": 0})"
         "\n"
      << R"({"ctx": "a dog loves the", "endings": ["cat sees.", "king.", "moon.", "rose a."], "label": 2})"
         "\n"
      << R"({"ctx": "our queen calls", "endings": ["a dog a dog.", "a rose.", "the cat.", "fears."], "label": 1})"
         "\n";
  return path;
}

}  // namespace

TEST_CASE("training runs HellaSwag every hellaswag_interval steps and logs it in metrics.jsonl") {
  const fs::path root = fs::temp_directory_path() / "glassbox_test_train_hellaswag";
  const fs::path data = make_dataset(root);
  TrainConfig cfg = tiny_run(data, root / "run");
  cfg.hellaswag_interval = 5;
  cfg.hellaswag_data = write_grammar_hellaswag(root / "grammar.jsonl").string();
  train(cfg);

  std::vector<int64_t> steps;
  nlohmann::json last;
  for (const nlohmann::json& line : read_metrics(root / "run")) {
    if (!line.contains("hellaswag_acc")) continue;
    steps.push_back(line["step"].get<int64_t>());
    CHECK(line["hellaswag_examples"] == 4);
    // 4 examples: the accuracies are multiples of 1/4.
    for (const char* key : {"hellaswag_acc", "hellaswag_acc_norm"}) {
      const double acc = line[key].get<double>();
      CHECK(acc * 4 == doctest::Approx(std::round(acc * 4)));
      CHECK(acc >= 0.0);
      CHECK(acc <= 1.0);
    }
    last = line;
  }
  CHECK(steps == std::vector<int64_t>{0, 5, 10, 12});  // every 5 steps, then after the 12th

  // The figure logged after the last step is that of the final checkpoint, evaluated on its own.
  const fs::path ckpt = root / "run" / "checkpoint";
  auto backend = make_cpu_backend(DType::f32);
  GPT model(read_checkpoint_config(ckpt), *backend);
  load_model_weights(ckpt, model);
  SingleComm single;
  const HellaSwagResult r = evaluate_hellaswag(
      model, tokenize_hellaswag(read_hellaswag(cfg.hellaswag_data), *load_tokenizer(ckpt)), single);
  CHECK(last["hellaswag_acc"].get<double>() == r.acc);
  CHECK(last["hellaswag_acc_norm"].get<double>() == r.acc_norm);
}

TEST_CASE("a HellaSwag file the run cannot use stops it before the first step") {
  const fs::path root = fs::temp_directory_path() / "glassbox_test_train_hellaswag_bad";
  const fs::path data = make_dataset(root);
  TrainConfig cfg = tiny_run(data, root / "run");
  cfg.hellaswag_interval = 5;
  CHECK_THROWS_WITH_AS(train(cfg), doctest::Contains("--hellaswag-data"), Error);  // no file given
  // A character the run's char vocabulary lacks: the error names the line.
  std::ofstream(root / "digits.jsonl")
      << R"({"ctx": "the cat", "endings": ["1", "2", "3", "4"], "label": 0})"
         "\n";
  cfg.hellaswag_data = (root / "digits.jsonl").string();
  CHECK_THROWS_WITH_AS(train(cfg), doctest::Contains("digits.jsonl:1"), Error);
  CHECK_FALSE(fs::exists(root / "run" / "metrics.jsonl"));
}
