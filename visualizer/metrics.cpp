// The metrics.jsonl tail reader: see metrics.hpp for the format.
#include "visualizer/metrics.hpp"

#include <sys/stat.h>

#include <fstream>

#include <nlohmann/json.hpp>

namespace viz {

void MetricsLog::clear() {
  for (Series* s : {&loss, &val_loss, &lr, &grad_norm, &tokens_per_s, &elapsed_s, &mfu,
                    &hellaswag_acc, &hellaswag_acc_norm})
    s->clear();
  layer_grad_norm.clear();
  layer_update_ratio.clear();
  bad_lines = 0;
  first_bad_line.clear();
  offset_ = 0;
  partial_.clear();
  lines_ = 0;
}

bool MetricsLog::poll() {
  struct stat st {};
  file_exists_ = ::stat(path_.c_str(), &st) == 0;
  if (!file_exists_) return false;
  const uint64_t size = uint64_t(st.st_size);
  const bool replaced = uint64_t(st.st_dev) != device_ || uint64_t(st.st_ino) != inode_;
  if (replaced || size < offset_ + partial_.size()) clear();  // replaced or truncated: start over
  device_ = uint64_t(st.st_dev);
  inode_ = uint64_t(st.st_ino);
  const uint64_t start = offset_ + partial_.size();
  if (size == start) return false;

  std::ifstream file(path_, std::ios::binary);
  if (!file) return false;
  file.seekg(static_cast<std::streamoff>(start));
  std::string chunk(size - start, '\0');
  file.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  chunk.resize(static_cast<size_t>(file.gcount()));

  const int64_t before = lines_;
  std::string text = std::move(partial_);
  text += chunk;
  size_t begin = 0;
  for (size_t nl; (nl = text.find('\n', begin)) != std::string::npos; begin = nl + 1) {
    parse_line(text.substr(begin, nl - begin));
    offset_ += nl + 1 - begin;
  }
  partial_ = text.substr(begin);  // waits for its newline
  return lines_ != before;
}

void MetricsLog::parse_text(const std::string& text) {
  clear();
  size_t begin = 0;
  for (size_t nl; (nl = text.find('\n', begin)) != std::string::npos; begin = nl + 1)
    parse_line(text.substr(begin, nl - begin));
  if (begin < text.size()) parse_line(text.substr(begin));
}

namespace {

// A JSON number (or null / absent -> false). Integers and floats alike.
bool number(const nlohmann::json& object, const char* key, double* out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return false;
  *out = it->get<double>();
  return true;
}

// A JSON array of numbers -> floats; false when absent, empty or holding anything else.
bool float_array(const nlohmann::json& object, const char* key, std::vector<float>* out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_array() || it->empty()) return false;
  out->clear();
  for (const auto& v : *it) {
    if (!v.is_number()) return false;
    out->push_back(v.get<float>());
  }
  return true;
}

}  // namespace

void MetricsLog::parse_line(const std::string& raw) {
  // Blank lines (and a Windows '\r') are not errors.
  std::string line = raw;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.find_first_not_of(" \t") == std::string::npos) return;
  const int64_t number_of_line = lines_ + bad_lines + 1;

  auto bad = [&](const std::string& why) {
    if (bad_lines++ == 0) first_bad_line = "line " + std::to_string(number_of_line) + ": " + why;
  };
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("not valid JSON");
  if (!j.is_object()) return bad("not a JSON object");

  double step = 0.0;
  if (!number(j, "step", &step)) {
    if (!j.contains("step")) return bad("no \"step\"");
    return bad("\"step\" is not a number");
  }
  lines_++;

  double v;
  if (number(j, "loss", &v)) loss.push(step, v);
  if (number(j, "val_loss", &v)) val_loss.push(step, v);
  if (number(j, "lr", &v)) lr.push(step, v);
  if (number(j, "grad_norm", &v)) grad_norm.push(step, v);
  if (number(j, "tokens_per_s", &v)) tokens_per_s.push(step, v);
  if (number(j, "elapsed_s", &v)) elapsed_s.push(step, v);
  if (number(j, "mfu", &v)) mfu.push(step, v);
  if (number(j, "hellaswag_acc", &v)) hellaswag_acc.push(step, v);
  if (number(j, "hellaswag_acc_norm", &v)) hellaswag_acc_norm.push(step, v);

  std::vector<float> layers;
  if (float_array(j, "layer_grad_norm", &layers)) {
    layer_grad_norm.steps.push_back(step);
    layer_grad_norm.values.push_back(layers);
  }
  if (float_array(j, "layer_update_ratio", &layers)) {
    layer_update_ratio.steps.push_back(step);
    layer_update_ratio.values.push_back(layers);
  }
}

}  // namespace viz
