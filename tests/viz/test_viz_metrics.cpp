// viz::MetricsLog: incremental tailing of metrics.jsonl, partial lines, malformed lines, restarts.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "visualizer/metrics.hpp"

namespace fs = std::filesystem;

namespace {
fs::path temp_file(const char* name) {
  const fs::path dir = fs::temp_directory_path() / "glassbox_viz_metrics_test";
  fs::create_directories(dir);
  return dir / name;
}
void append(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::app) << text; }
}  // namespace

TEST_CASE("fields of a training line, an eval line and a layer-stats line") {
  viz::MetricsLog m;
  m.parse_text(
      "{\"step\": 0, \"loss\": 10.9, \"lr\": 6e-6, \"grad_norm\": 5.5, \"tokens_per_s\": 1000, "
      "\"elapsed_s\": 1}\n"
      "{\"step\": 10, \"val_loss\": 9.5, \"elapsed_s\": 2}\n"
      "{\"step\": 10, \"loss\": 9.0, \"layer_grad_norm\": [1, 2, 3], \"layer_update_ratio\": [0.1, "
      "0.2, 0.3]}\n");
  CHECK(m.lines() == 3);
  CHECK(m.bad_lines == 0);
  REQUIRE(m.loss.size() == 2);
  CHECK(m.loss.x[1] == 10);
  CHECK(m.loss.y[1] == doctest::Approx(9.0));
  REQUIRE(m.val_loss.size() == 1);
  CHECK(m.val_loss.y[0] == doctest::Approx(9.5));
  CHECK(m.lr.size() == 1);
  CHECK(m.layer_grad_norm.n_layer() == 3);
  CHECK(m.layer_update_ratio.values[0][2] == doctest::Approx(0.3f));
}

TEST_CASE("HellaSwag accuracies, on the lines that carry them") {
  viz::MetricsLog m;
  m.parse_text(
      "{\"step\": 0, \"loss\": 10.9}\n"
      "{\"step\": 0, \"hellaswag_acc\": 0.25, \"hellaswag_acc_norm\": 0.5, \"hellaswag_examples\": "
      "4}\n"
      "{\"step\": 5, \"hellaswag_acc\": 0.75, \"hellaswag_acc_norm\": 1}\n");
  REQUIRE(m.hellaswag_acc.size() == 2);
  REQUIRE(m.hellaswag_acc_norm.size() == 2);
  CHECK(m.hellaswag_acc.x[1] == 5);
  CHECK(m.hellaswag_acc.y[1] == doctest::Approx(0.75));
  CHECK(m.hellaswag_acc_norm.y[0] == doctest::Approx(0.5));
  CHECK(m.loss.size() == 1);
}

TEST_CASE("malformed lines are counted and named, the rest is kept") {
  viz::MetricsLog m;
  m.parse_text(
      "{\"step\": 0, \"loss\": 2}\nnot json\n[1, 2]\n{\"loss\": 3}\n{\"step\": "
      "\"x\"}\n\n{\"step\": 1, \"loss\": 1}\n");
  CHECK(m.loss.size() == 2);
  CHECK(m.bad_lines == 4);
  CHECK(m.first_bad_line == "line 2: not valid JSON");
}

TEST_CASE("poll reads only appended bytes and waits for a partial line's newline") {
  const fs::path p = temp_file("tail.jsonl");
  fs::remove(p);
  viz::MetricsLog m(p);
  CHECK_FALSE(m.poll());
  CHECK_FALSE(m.file_exists());

  append(p, "{\"step\": 0, \"loss\": 5}\n{\"step\": 1, \"lo");
  CHECK(m.poll());
  CHECK(m.file_exists());
  CHECK(m.loss.size() == 1);  // the second line is still being written
  CHECK_FALSE(m.poll());

  append(p, "ss\": 4}\n");
  CHECK(m.poll());
  REQUIRE(m.loss.size() == 2);
  CHECK(m.loss.y[1] == doctest::Approx(4.0));
  CHECK(m.bad_lines == 0);

  // A new run in the same directory (the file shrank): read again from the start.
  { std::ofstream(p, std::ios::trunc) << "{\"step\": 0, \"loss\": 7}\n"; }
  CHECK(m.poll());
  REQUIRE(m.loss.size() == 1);
  CHECK(m.loss.y[0] == doctest::Approx(7.0));
  fs::remove(p);
}

TEST_CASE(
    "a file renamed over the old one (a resume's atomic replace) is read again from the start") {
  const fs::path p = temp_file("replaced.jsonl");
  const fs::path tmp = temp_file("replaced.jsonl.tmp");
  fs::remove(p);
  append(p, "{\"step\": 0, \"loss\": 5.5}\n{\"step\": 1, \"loss\": 4.25}\n");
  viz::MetricsLog m(p);
  CHECK(m.poll());
  REQUIRE(m.loss.size() == 2);
  // The resumed run keeps step 0, drops step 1 and writes its own steps 1 and 2: a longer file
  // under the same name, so its size alone would not reveal the swap.
  append(tmp,
         "{\"step\": 0, \"loss\": 5.5}\n{\"step\": 1, \"loss\": 3.75}\n{\"step\": 2, \"loss\": "
         "3.125}\n");
  fs::rename(tmp, p);
  CHECK(m.poll());
  REQUIRE(m.loss.size() == 3);
  CHECK(m.loss.y[1] == doctest::Approx(3.75));
  CHECK(m.loss.y[2] == doctest::Approx(3.125));
  fs::remove(p);
}
