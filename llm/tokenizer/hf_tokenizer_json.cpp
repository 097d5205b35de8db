#include "llm/tokenizer/hf_tokenizer_json.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
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
  throw Error(at + "\"" + key + "\" is " + object[key].dump().substr(0, 200) +
              "; not supported (expected null)");
}

std::string type_of(const json& step) {
  return step.is_object() && step.contains("type") && step["type"].is_string()
             ? step["type"].get<std::string>()
             : std::string();
}

// Appends the pre-tokenizer `step` (found at field `at`, e.g. "pre_tokenizer.pretokenizers[0]")
// to `steps`; notes whether it holds a ByteLevel step.
void read_pre_tokenizer(const json& step, const std::string& where, const std::string& at,
                        BpeScheme& scheme, bool& byte_level) {
  const std::string type = type_of(step);
  const std::string field = where + at;
  if (type == "Sequence") {
    check(step.contains("pretokenizers") && step["pretokenizers"].is_array(),
          field + ".pretokenizers is not an array");
    for (size_t i = 0; i < step["pretokenizers"].size(); ++i)
      read_pre_tokenizer(step["pretokenizers"][i], where,
                         at + ".pretokenizers[" + std::to_string(i) + "]", scheme, byte_level);
  } else if (type == "ByteLevel") {
    check(!step.value("add_prefix_space", false),
          field + ".add_prefix_space is true; a space before the text is not supported");
    if (step.value("use_regex", true)) scheme.split_steps.push_back(nullptr);  // GPT-2's regex
    byte_level = true;
  } else if (type == "Digits") {
    const bool individual = step.value("individual_digits", false);
    scheme.split_steps.push_back(
        std::make_shared<SplitRegex>(individual ? "\\p{N}" : "\\p{N}+", field));
  } else if (type == "Split") {
    check(step.contains("pattern") && step["pattern"].is_object() &&
              step["pattern"].contains("Regex") && step["pattern"]["Regex"].is_string(),
          field + ".pattern is " + step.value("pattern", json()).dump() +
              "; only {\"Regex\": \"...\"} is supported");
    check(step.value("behavior", "") == "Isolated", field + ".behavior is " +
                                                        step.value("behavior", json()).dump() +
                                                        "; only \"Isolated\" is supported");
    check(!step.value("invert", false), field + ".invert is true; not supported");
    scheme.split_steps.push_back(std::make_shared<SplitRegex>(
        step["pattern"]["Regex"].get<std::string>(), field + ".pattern.Regex"));
  } else {
    throw Error(field + " is " + step.dump().substr(0, 200) +
                "; supported pre-tokenizers: ByteLevel, Split, Digits, Sequence");
  }
}

// The id of the added token with this text, as TemplateProcessing names it.
int32_t special_id(const json& processor, const std::string& name, const std::string& field) {
  const json specials = processor.value("special_tokens", json::object());
  check(specials.contains(name) && specials[name].contains("ids") &&
            specials[name]["ids"].is_array() && specials[name]["ids"].size() == 1 &&
            specials[name]["ids"][0].is_number_integer() &&
            specials[name]["ids"][0].get<int64_t>() >= 0 &&
            specials[name]["ids"][0].get<int64_t>() <= INT32_MAX,
        field + ".special_tokens[\"" + name + "\"] does not give one id");
  return specials[name]["ids"][0].get<int32_t>();
}

// Reads the post-processor `processor` (at field `at`) into scheme.bos.
void read_post_processor(const json& processor, const std::string& where, const std::string& at,
                         BpeScheme& scheme) {
  if (processor.is_null()) return;
  const std::string type = type_of(processor);
  const std::string field = where + at;
  if (type == "Sequence") {
    check(processor.contains("processors") && processor["processors"].is_array(),
          field + ".processors is not an array");
    for (size_t i = 0; i < processor["processors"].size(); ++i)
      read_post_processor(processor["processors"][i], where,
                          at + ".processors[" + std::to_string(i) + "]", scheme);
  } else if (type == "ByteLevel") {
    // Moves offsets only; the ids stay as they are.
  } else if (type == "TemplateProcessing") {
    // "single": [{"SpecialToken": {"id": "<|begin_of_text|>"}}, {"Sequence": {"id": "A"}}]
    check(processor.contains("single") && processor["single"].is_array(),
          field + ".single is not an array");
    bool text_seen = false;
    for (const json& item : processor["single"]) {
      if (item.contains("Sequence")) {
        text_seen = true;
        continue;
      }
      check(item.contains("SpecialToken") && item["SpecialToken"].contains("id") &&
                item["SpecialToken"]["id"].is_string(),
            field + ".single holds " + item.dump() + ", expected a SpecialToken or the Sequence");
      check(!text_seen, field + ".single puts a token after the text (an EOS); not supported");
      check(!scheme.bos, field + ".single puts more than one token before the text; not supported");
      scheme.bos = special_id(processor, item["SpecialToken"]["id"].get<std::string>(), field);
    }
  } else {
    throw Error(field + " is " + processor.dump().substr(0, 200) +
                "; supported post-processors: ByteLevel, TemplateProcessing (a BOS), Sequence");
  }
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<Tokenizer> read_tokenizer_json(const std::filesystem::path& path,
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
  check_unset(model, "byte_fallback", false, where + "model.");
  check_unset(j, "normalizer", json(), where);
  check_unset(j, "truncation", json(), where);
  check_unset(j, "padding", json(), where);
  const json decoder = j.value("decoder", json());
  check(decoder.is_null() || type_of(decoder) == "ByteLevel",
        where + "decoder is " + decoder.dump().substr(0, 200) + ", expected ByteLevel");

  BpeScheme scheme;
  scheme.split_steps.clear();
  const json pre = j.value("pre_tokenizer", json());
  check(pre.is_object(), where + "pre_tokenizer is " + pre.dump() +
                             ", expected {\"type\": \"ByteLevel\"} or a Sequence holding it");
  bool byte_level = false;
  read_pre_tokenizer(pre, where, "pre_tokenizer", scheme, byte_level);
  check(byte_level, where + "pre_tokenizer has no ByteLevel step (only byte-level BPE is read)");
  read_post_processor(j.value("post_processor", json()), where, "post_processor", scheme);
  if (model.contains("ignore_merges")) {
    check(model["ignore_merges"].is_boolean(), where + "model.ignore_merges is not true or false");
    scheme.ignore_merges = model["ignore_merges"].get<bool>();
  }

  if (j.contains("added_tokens")) {
    check(j["added_tokens"].is_array(), where + "added_tokens is not an array");
    for (const json& added : j["added_tokens"]) {
      check(added.is_object() && added.contains("id") && added["id"].is_number_integer() &&
                added["id"].get<int64_t>() >= 0 && added["id"].get<int64_t>() <= INT32_MAX &&
                added.contains("content") && added["content"].is_string(),
            where + "added_tokens holds " + added.dump().substr(0, 200) +
                ", expected {\"id\": a non-negative integer, \"content\": a string}");
      const std::string content = added["content"].get<std::string>();
      for (const char* flag : {"single_word", "lstrip", "rstrip"})
        check(!added.value(flag, false),
              where + "added token \"" + content + "\" sets " + flag + "; not supported");
      scheme.added_tokens.push_back(
          {content, added["id"].get<int32_t>(), added.value("special", false)});
    }
  }
  for (const char* separator : {"<|endoftext|>", "<|end_of_text|>"}) {
    for (const BpeScheme::AddedToken& added : scheme.added_tokens)
      if (!scheme.eot && added.text == separator) scheme.eot = added.id;
  }
  if (scheme.bos) {
    bool listed = false;
    for (const BpeScheme::AddedToken& added : scheme.added_tokens)
      listed = listed || added.id == *scheme.bos;
    check(listed, where + "post_processor: the token before the text, id " +
                      std::to_string(*scheme.bos) + ", is not in added_tokens");
  }

  // encoder.json and vocab.bpe for the GPT-2 engine.
  check(model.contains("vocab") && model["vocab"].is_object(),
        where + "model.vocab is not an object of token -> id");
  json encoder = model["vocab"];
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

  // GPT-2's own scheme (its tokenizer.json, or one of a model that reuses it): the "gpt2"
  // tokenizer, <|endoftext|> folded into encoder.json, saved as encoder.json + vocab.bpe.
  const bool gpt2_scheme =
      scheme.split_steps.size() == 1 && scheme.split_steps[0] == nullptr && !scheme.bos &&
      !scheme.ignore_merges && scheme.added_tokens.size() <= 1 &&
      (scheme.added_tokens.empty() ||
       (scheme.added_tokens[0].text == "<|endoftext|>" && scheme.added_tokens[0].special));
  if (gpt2_scheme) {
    for (const BpeScheme::AddedToken& added : scheme.added_tokens)
      if (!encoder.contains(added.text)) encoder[added.text] = added.id;
    scheme = BpeScheme{};
  } else {
    scheme.name = "hf_bpe";
    scheme.tokenizer_json = read_text(path);
  }
  return std::make_unique<Gpt2Tokenizer>(encoder.dump(), std::move(vocab_bpe), allow_special,
                                         path.string() + " (model.vocab)",
                                         path.string() + " (model.merges)", std::move(scheme));
}

}  // namespace

std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::filesystem::path& path,
                                                  bool allow_special) {
  try {
    return read_tokenizer_json(path, allow_special);
  } catch (const nlohmann::json::exception& e) {
    // A field of another JSON type than the reader asks for (e.g. a string where a flag goes).
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    throw Error(path.string() + ": a field has an unexpected JSON type (" + what + ")");
  }
}

}  // namespace llm
