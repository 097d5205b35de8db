#include "llm/tokenizer/hf_tokenizer_json.hpp"

#include <string>

#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"
#include "llm/io/json_file.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"

namespace llm {

namespace {

using nlohmann::json;

// A field that must be null, absent, or equal to `allowed` (e.g. an empty prefix).
void check_unset(const json& object, const char* key, const json& allowed, const std::string& at) {
  if (!object.contains(key) || object[key].is_null() || object[key] == allowed) return;
  throw Error(at + "\"" + key + "\" is " + object[key].dump() +
              "; only GPT-2's byte-level BPE is supported (expected null)");
}

}  // namespace

std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::filesystem::path& path,
                                                  bool allow_special) {
  const std::string where = path.string() + ": ";
  const json j = read_json_file(path);
  check(j.is_object() && j.contains("model") && j["model"].is_object(),
        where + "expected a Hugging Face tokenizer.json with a \"model\" object");
  const json& model = j["model"];
  check(model.value("type", "") == "BPE",
        where + "model.type is " + (model.contains("type") ? model["type"].dump() : "missing") +
            ", expected \"BPE\"");
  check_unset(model, "dropout", json(), where + "model.");
  check_unset(model, "unk_token", json(), where + "model.");
  check_unset(model, "continuing_subword_prefix", "", where + "model.");
  check_unset(model, "end_of_word_suffix", "", where + "model.");
  check_unset(j, "normalizer", json(), where);

  // GPT-2's pre-tokenizer: ByteLevel, no prefix space, its regex.
  const json pre = j.value("pre_tokenizer", json());
  check(pre.is_object() && pre.value("type", "") == "ByteLevel",
        where + "pre_tokenizer is " + pre.dump() +
            ", expected {\"type\": \"ByteLevel\"} (GPT-2's byte-level pre-tokenizer)");
  check(!pre.value("add_prefix_space", false),
        where + "pre_tokenizer.add_prefix_space is true; GPT-2 adds no space before the text");
  check(pre.value("use_regex", true),
        where + "pre_tokenizer.use_regex is false; GPT-2 splits the text with its regex first");

  // encoder.json: the vocabulary, plus <|endoftext|> when only added_tokens lists it.
  check(model.contains("vocab") && model["vocab"].is_object(),
        where + "model.vocab is not an object of token -> id");
  json encoder = model["vocab"];
  if (j.contains("added_tokens")) {
    check(j["added_tokens"].is_array(), where + "added_tokens is not an array");
    for (const json& added : j["added_tokens"]) {
      check(added.is_object() && added.contains("id") && added["id"].is_number_integer() &&
                added.contains("content") && added["content"].is_string(),
            where + "added_tokens holds " + added.dump() + ", expected {\"id\", \"content\"}");
      const std::string content = added["content"].get<std::string>();
      check(content == "<|endoftext|>",
            where + "added token \"" + content +
                "\" is not supported (the only special token is <|endoftext|>)");
      if (!encoder.contains(content)) encoder[content] = added["id"];
    }
  }

  // vocab.bpe: the merges in rank order, one "left right" per line.
  check(model.contains("merges") && model["merges"].is_array(),
        where + "model.merges is not an array");
  std::string vocab_bpe = "#version: 0.2\n";
  for (const json& merge : model["merges"]) {
    if (merge.is_string()) {
      vocab_bpe += merge.get<std::string>();
    } else {
      check(merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string(),
            where + "model.merges holds " + merge.dump() +
                ", expected \"left right\" or [\"left\", \"right\"]");
      vocab_bpe += merge[0].get<std::string>() + " " + merge[1].get<std::string>();
    }
    vocab_bpe += "\n";
  }
  return std::make_unique<Gpt2Tokenizer>(encoder.dump(), std::move(vocab_bpe), allow_special,
                                         path.string() + " (model.vocab)",
                                         path.string() + " (model.merges)");
}

}  // namespace llm
