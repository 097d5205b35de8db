#include "llm/io/json_file.hpp"

#include <fstream>

#include "llm/core/error.hpp"

namespace llm {

nlohmann::json read_json_file(const std::filesystem::path& path, const std::string& hint) {
  // A directory opens as a stream on Linux and fails only at the first read, with a message that
  // names neither the path nor the problem; hence the explicit test.
  std::error_code ec;
  check(!std::filesystem::is_directory(path, ec),
        path.string() + ": is a directory, expected a JSON file");
  std::ifstream in(path);
  check(bool(in), path.string() + ": cannot open" + (hint.empty() ? "" : " " + hint));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": not valid JSON (" + e.what() + ")");
  } catch (const std::ios_base::failure& e) {
    throw Error(path.string() + ": cannot read (" + e.what() + ")");
  }
}

}  // namespace llm
