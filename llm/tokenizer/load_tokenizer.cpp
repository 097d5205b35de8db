// implements: llm::load_tokenizer, which reads dir/glassbox_tokenizer.json and dispatches on its
// "type"; without that file, a Hugging Face GPT-2 directory (vocab.json + merges.txt, or a
// byte-level BPE tokenizer.json).
#include <fstream>
#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"
#include "llm/io/json_file.hpp"
#include "llm/tokenizer/byte_tokenizer.hpp"
#include "llm/tokenizer/char_tokenizer.hpp"
#include "llm/tokenizer/fingerprint.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"  // defines: load_gpt2_tokenizer, make_gpt2_tokenizer
#include "llm/tokenizer/hf_tokenizer_json.hpp"
#include "llm/tokenizer/tokenizer.hpp"

namespace llm {

namespace {

namespace fs = std::filesystem;

// A tokenizer.json that glassbox wrote before the file was renamed: a JSON object with a top-level
// "type" string. Hugging Face's tokenizer.json has none (its type is under "model").
bool is_old_glassbox_spec(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return false;
  const nlohmann::json spec = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return spec.is_object() && spec.contains("type") && spec["type"].is_string();
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& dir) {
  fs::path path = dir / kTokenizerFile;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    // Hugging Face's GPT-2 files: vocab.json is encoder.json, merges.txt is vocab.bpe.
    if (fs::exists(dir / "vocab.json", ec) && fs::exists(dir / "merges.txt", ec))
      return make_gpt2_tokenizer(dir / "vocab.json", dir / "merges.txt", /*allow_special=*/true);
    if (is_old_glassbox_spec(dir / "tokenizer.json"))
      path = dir / "tokenizer.json";
    else if (fs::exists(dir / "tokenizer.json", ec))  // Hugging Face's tokenizers format
      return load_hf_tokenizer_json(dir / "tokenizer.json");
  }
  const nlohmann::json spec =
      read_json_file(path, "(no tokenizer saved in " + dir.string() +
                               ", and no Hugging Face vocab.json + merges.txt or tokenizer.json)");
  check(spec.is_object() && spec.contains("type") && spec["type"].is_string(),
        "tokenizer: " + path.string() + " has no \"type\" string");
  const std::string type = spec["type"].get<std::string>();
  try {
    if (type == "char") return std::make_unique<CharTokenizer>(CharTokenizer::from_json(spec));
    if (type == "byte") return std::make_unique<ByteTokenizer>();
    if (type == "gpt2") return load_gpt2_tokenizer(spec, dir);
    if (type == "hf_bpe") {  // a Hugging Face tokenizer.json saved as it was read
      const nlohmann::json file = spec.value("tokenizer_json", nlohmann::json("tokenizer.json"));
      const nlohmann::json allow_special = spec.value("allow_special", nlohmann::json(true));
      check(
          file.is_string() && allow_special.is_boolean(),
          path.string() + ": \"tokenizer_json\" must be a string, \"allow_special\" true or false");
      return load_hf_tokenizer_json(dir / file.get<std::string>(), allow_special.get<bool>());
    }
  } catch (const Error& e) { throw Error(std::string(e.what()) + " (in " + path.string() + ")"); }
  throw Error("tokenizer: " + path.string() + ": unknown type '" + type +
              "' (expected char, byte, gpt2 or hf_bpe)");
}

std::unique_ptr<Tokenizer> load_tokenizer_if_saved(const fs::path& dir) {
  std::error_code ec;
  const bool saved = fs::exists(dir / kTokenizerFile, ec) ||
                     (fs::exists(dir / "vocab.json", ec) && fs::exists(dir / "merges.txt", ec)) ||
                     fs::exists(dir / "tokenizer.json", ec);
  return saved ? load_tokenizer(dir) : nullptr;
}

uint64_t Tokenizer::fingerprint() const {
  Fingerprint f;
  f.add_string(name());
  f.add_number(uint64_t(vocab_size()));
  for (int32_t id = 0; id < vocab_size(); id++) f.add_string(decode_token(id));
  return f.value();
}

}  // namespace llm
