#include "llm/train/metrics_log.hpp"

#include <string>

#include "llm/core/error.hpp"
#include "llm/io/atomic_file.hpp"

namespace llm {

void append_json_line(const std::filesystem::path& path, const nlohmann::json& line) {
  std::ofstream out(path, std::ios::app);
  out << line.dump() << "\n";
  check(bool(out), "cannot write " + path.string() + " (disk full?)");
}

MetricsLog::MetricsLog(const std::filesystem::path& path, int64_t resume_step) : path_(path) {
  if (resume_step > 0) {
    AtomicFile kept(path, "metrics log " + path.string() + ": ");
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("step") && j["step"].is_number_integer() &&
          j["step"].get<int64_t>() < resume_step) {
        line += '\n';
        kept.write(line.data(), line.size());
      }
    }
    kept.commit();
  }
  out_.open(path, resume_step > 0 ? std::ios::app : std::ios::trunc);
  check(bool(out_), "cannot write " + path.string());
}

void MetricsLog::write(const nlohmann::json& line) {
  out_ << line.dump() << "\n";
  out_.flush();
  check(bool(out_), "cannot write " + path_.string() + " (disk full?)");
}

}  // namespace llm
