#include "llm/train/sweep.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"
#include "llm/core/printable.hpp"
#include "llm/io/atomic_file.hpp"
#include "llm/io/json_file.hpp"
#include "llm/io/toml_file.hpp"

namespace llm {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.push_back("");  // "a,b," has an empty last
  return parts;
}

void add_axis(std::vector<SweepAxis>& axes, SweepAxis axis, const std::string& where) {
  check(!axis.key.empty(), "--grid " + where + ": a setting without a name");
  for (const SweepAxis& other : axes)
    check(other.key != axis.key, "--grid " + where + ": '" + printable(axis.key) + "' given twice");
  check(!axis.values.empty(), "--grid " + where + ": '" + printable(axis.key) + "' has no values");
  for (const std::string& v : axis.values)
    check(!v.empty(), "--grid " + where + ": '" + printable(axis.key) + "' has an empty value");
  axes.push_back(std::move(axis));
}

// `text` as the whole of `path`, which appears complete or not at all.
void write_text_atomically(const fs::path& path, const std::string& text) {
  AtomicFile file(path, path.string() + ": ");
  file.write(text.data(), text.size());
  file.commit();
}

std::string format_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

}  // namespace

std::vector<SweepAxis> parse_sweep_grid(const std::string& text) {
  std::vector<SweepAxis> axes;
  if (text.size() > 5 && text.substr(text.size() - 5) == ".toml") {
    std::vector<TomlSetting> settings;
    try {
      settings = read_toml_settings(text);
    } catch (const Error& e) { throw Error(std::string("--grid ") + e.what()); }
    for (TomlSetting& s : settings)
      add_axis(axes, {s.key, s.values}, printable(text) + ":" + std::to_string(s.line));
  } else {
    std::istringstream words(text);
    std::string word;
    while (words >> word) {
      const size_t eq = word.find('=');
      check(eq != std::string::npos,
            "--grid: '" + printable(word) + "' is not KEY=VALUE,VALUE,... (e.g. n_embd=64,128)");
      const std::string where = std::string("'").append(printable(word)).append("'");
      add_axis(axes, {word.substr(0, eq), split(word.substr(eq + 1), ',')}, where);
    }
  }
  check(!axes.empty(),
        "--grid is empty; expected settings like \"n_embd=64,128 learning_rate=1e-3\"");
  return axes;
}

std::vector<SweepPoint> sweep_points(const std::vector<SweepAxis>& axes) {
  std::vector<SweepPoint> points = {SweepPoint{}};
  for (const SweepAxis& axis : axes) {
    std::vector<SweepPoint> longer;
    for (const SweepPoint& p : points) {
      for (const std::string& value : axis.values) {
        SweepPoint q = p;
        q.settings.emplace_back(axis.key, value);
        q.name += (q.name.empty() ? "" : ",") + axis.key + "=" + value;
        longer.push_back(std::move(q));
      }
    }
    points = std::move(longer);
  }
  return points;
}

void write_sweep_result(const fs::path& run_dir, const SweepResult& r) {
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& [key, value] : r.point.settings) settings[key] = value;
  const nlohmann::json j = {{"point", r.point.name},
                            {"settings", settings},
                            {"final_train_loss", r.final_train_loss},
                            {"final_val_loss", r.final_val_loss},
                            {"tokens", r.tokens},
                            {"flops", r.flops},
                            {"seconds", r.seconds}};
  write_text_atomically(run_dir / "sweep_result.json", j.dump(2) + "\n");
}

bool has_sweep_result(const fs::path& run_dir) {
  return fs::is_regular_file(run_dir / "sweep_result.json");
}

SweepResult read_sweep_result(const fs::path& run_dir) {
  const fs::path path = run_dir / "sweep_result.json";
  const nlohmann::json j = read_json_file(path);
  try {
    SweepResult r;
    r.point.name = j.at("point").get<std::string>();
    for (const auto& [key, value] : j.at("settings").items())
      r.point.settings.emplace_back(key, value.get<std::string>());
    r.final_train_loss = j.at("final_train_loss").get<double>();
    r.final_val_loss = j.at("final_val_loss").get<double>();
    r.tokens = j.at("tokens").get<double>();
    r.flops = j.at("flops").get<double>();
    r.seconds = j.at("seconds").get<double>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": malformed (" + e.what() + ")");
  }
}

void write_sweep_results(const fs::path& sweep_dir, const std::vector<SweepAxis>& axes,
                         const std::vector<SweepResult>& results) {
  const std::vector<std::string> measured = {"final_train_loss", "final_val_loss", "tokens",
                                             "flops", "seconds"};
  std::ostringstream csv, md;
  std::string separator;
  for (const SweepAxis& a : axes) {
    csv << a.key << ",";
    md << "| " << a.key << " ";
    separator += "| --- ";
  }
  for (size_t i = 0; i < measured.size(); i++) {
    csv << measured[i] << (i + 1 < measured.size() ? "," : "\n");
    md << "| " << measured[i] << " ";
    separator += "| ---: ";
  }
  md << "|\n" << separator << "|\n";
  for (const SweepResult& r : results) {
    for (const SweepAxis& a : axes) {
      std::string value;
      for (const auto& [key, v] : r.point.settings)
        if (key == a.key) value = v;
      csv << value << ",";
      md << "| " << value << " ";
    }
    const std::vector<double> numbers = {r.final_train_loss, r.final_val_loss, r.tokens, r.flops,
                                         r.seconds};
    for (size_t i = 0; i < numbers.size(); i++) {
      csv << format_number(numbers[i]) << (i + 1 < numbers.size() ? "," : "\n");
      md << "| " << format_number(numbers[i]) << " ";
    }
    md << "|\n";
  }
  write_text_atomically(sweep_dir / "results.csv", csv.str());
  write_text_atomically(sweep_dir / "results.md", md.str());
}

}  // namespace llm
