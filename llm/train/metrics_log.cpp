#include "llm/train/metrics_log.hpp"

#include <sstream>
#include <string>
#include <vector>

#include "llm/core/error.hpp"

namespace llm {

MetricsLog::MetricsLog(const std::filesystem::path& path, int64_t resume_step) : path_(path) {
  std::vector<std::string> kept;
  if (resume_step > 0) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("step") && j["step"].get<int64_t>() < resume_step)
        kept.push_back(line);
    }
  }
  out_.open(path, std::ios::trunc);
  check(bool(out_), "cannot write " + path.string());
  for (const auto& line : kept) out_ << line << "\n";
  out_.flush();
}

void MetricsLog::write(const nlohmann::json& line) {
  out_ << line.dump() << "\n";
  out_.flush();
  check(bool(out_), "cannot write " + path_.string() + " (disk full?)");
}

}  // namespace llm
