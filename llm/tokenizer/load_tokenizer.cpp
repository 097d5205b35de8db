// implements: llm::load_tokenizer, which reads dir/tokenizer.json and dispatches on its "type".
#include <fstream>
#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"
#include "llm/tokenizer/byte_tokenizer.hpp"
#include "llm/tokenizer/char_tokenizer.hpp"
#include "llm/tokenizer/tokenizer.hpp"
#if __has_include("llm/tokenizer/gpt2_tokenizer.hpp")
#include "llm/tokenizer/gpt2_tokenizer.hpp"  // defines: load_gpt2_tokenizer
#define GLASSBOX_HAVE_GPT2_TOKENIZER 1
#endif

namespace llm {

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir) {
  const auto path = dir / "tokenizer.json";
  std::ifstream in(path);
  check(bool(in), "tokenizer: cannot open " + path.string() + " (no tokenizer saved in " +
                      dir.string() + ")");
  nlohmann::json spec;
  try {
    spec = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error("tokenizer: " + path.string() + " is not valid JSON (" + e.what() + ")");
  }
  check(spec.is_object() && spec.contains("type") && spec["type"].is_string(),
        "tokenizer: " + path.string() + " has no \"type\" string");
  const std::string type = spec["type"].get<std::string>();
  try {
    if (type == "char") return std::make_unique<CharTokenizer>(CharTokenizer::from_json(spec));
    if (type == "byte") return std::make_unique<ByteTokenizer>();
    if (type == "gpt2") {
#ifdef GLASSBOX_HAVE_GPT2_TOKENIZER
      return load_gpt2_tokenizer(spec, dir);
#else
      // TEMPORARY: gpt2_tokenizer.hpp is being written; this branch goes away once it exists.
      throw Error("gpt2 tokenizer not built");
#endif
    }
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (in " + path.string() + ")");
  }
  throw Error("tokenizer: " + path.string() + ": unknown type '" + type +
              "' (expected char, byte or gpt2)");
}

}  // namespace llm
