// implements: llm::ByteTokenizer
#include "llm/tokenizer/byte_tokenizer.hpp"

#include <fstream>
#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"

namespace llm {

std::vector<int32_t> ByteTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
  return ids;
}

std::string ByteTokenizer::decode_token(int32_t id) const {
  if (id < 0 || id >= 256)
    throw Error("byte tokenizer: token id " + std::to_string(id) + " is out of range [0, 256)");
  return std::string(1, static_cast<char>(id));
}

std::string ByteTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  out.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || id >= 256) decode_token(id);  // throws the out-of-range error
    out += static_cast<char>(id);
  }
  return out;
}

void ByteTokenizer::save(const std::filesystem::path& dir) const {
  std::filesystem::create_directories(dir);
  const auto path = dir / kTokenizerFile;
  std::ofstream out(path);
  out << nlohmann::json{{"type", "byte"}}.dump(1) << "\n";
  check(bool(out), "byte tokenizer: cannot write " + path.string());
}

}  // namespace llm
