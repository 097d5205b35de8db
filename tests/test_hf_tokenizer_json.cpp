// Hugging Face tokenizer.json files in the shapes SmolLM2-135M and Llama 3 ship (added special
// tokens, Digits / Split pre-tokenizers, ignore_merges, merges as pairs, a BOS from the
// post-processor), written here from GPT-2's vocabulary (data/cache/gpt2); and the PCRE2 split
// that runs their patterns. GPT-2's own tokenizer.json: tests/test_gpt2_tokenizer.cpp.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"
#include "llm/tokenizer/regex_split.hpp"
#include "llm/tokenizer/tokenizer.hpp"
#include "test_inputs.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Ids = std::vector<int32_t>;

namespace {

fs::path data_dir() { return fs::path(GLASSBOX_SOURCE_DIR) / "data" / "cache"; }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// GPT-2's tokenizer with <|endoftext|> as ordinary text: the reference for the text between
// added tokens.
const llm::Tokenizer& gpt2() {
  static auto tokenizer = llm::make_gpt2_tokenizer(data_dir() / "gpt2" / "encoder.json",
                                                   data_dir() / "gpt2" / "vocab.bpe", false);
  return *tokenizer;
}

// GPT-2's merges, each as ["left", "right"] or as "left right".
json gpt2_merges(bool as_pairs) {
  json merges = json::array();
  std::istringstream lines(slurp(data_dir() / "gpt2" / "vocab.bpe"));
  std::string line;
  std::getline(lines, line);  // #version: 0.2
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    if (as_pairs)
      merges.push_back({line.substr(0, space), line.substr(space + 1)});
    else
      merges.push_back(line);
  }
  return merges;
}

json added_token(int id, const std::string& content) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", true}};
}

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", false},
          {"trim_offsets", true},
          {"use_regex", use_regex}};
}

json bpe_model(json vocab, json merges, bool ignore_merges) {
  return {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"continuing_subword_prefix", nullptr},
          {"end_of_word_suffix", nullptr},
          {"fuse_unk", false},
          {"byte_fallback", false},
          {"ignore_merges", ignore_merges},
          {"vocab", vocab},
          {"merges", merges}};
}

// SmolLM2's 17 special tokens, ids 0..16 both in added_tokens and in model.vocab.
const std::vector<std::string> kSmolSpecials = {
    "<|endoftext|>",    "<|im_start|>",    "<|im_end|>",     "<repo_name>",    "<reponame>",
    "<file_sep>",       "<filename>",      "<gh_stars>",     "<issue_start>",  "<issue_comment>",
    "<issue_closed>",   "<jupyter_start>", "<jupyter_text>", "<jupyter_code>", "<jupyter_output>",
    "<jupyter_script>", "<empty_output>"};
constexpr int kSmolShift = 17;  // GPT-2's id + 17 = the id here

// SmolLM2-135M's layout: Sequence[Digits(individual_digits), ByteLevel(use_regex)], a ByteLevel
// post-processor (no BOS), merges as "left right" strings; GPT-2's tokens after the specials.
json smollm2_tokenizer_json() {
  json vocab = json::object(), added = json::array();
  for (int id = 0; id < kSmolShift; ++id) {
    vocab[kSmolSpecials[size_t(id)]] = id;
    added.push_back(added_token(id, kSmolSpecials[size_t(id)]));
  }
  const json gpt2_vocab = json::parse(slurp(data_dir() / "gpt2" / "encoder.json"));
  for (auto it = gpt2_vocab.begin(); it != gpt2_vocab.end(); ++it)
    if (it.key() != "<|endoftext|>") vocab[it.key()] = it.value().get<int>() + kSmolShift;
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true)}}}},
      {"post_processor",
       {{"type", "ByteLevel"},
        {"add_prefix_space", true},
        {"trim_offsets", false},
        {"use_regex", true}}},
      {"decoder", byte_level(true)},
      {"model", bpe_model(vocab, gpt2_merges(false), false)}};
}

// Llama 3's pre-tokenizer pattern, as its tokenizer.json spells it.
const char* kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

constexpr int kGlassbox = 50256;  // " glassbox": a token no merge makes (only ignore_merges does)
constexpr int kBegin = 50257;     // <|begin_of_text|>; the 256 specials follow the vocabulary

// Llama 3's 256 special tokens, in its order.
std::vector<std::string> llama3_specials() {
  std::vector<std::string> s = {"<|begin_of_text|>",
                                "<|end_of_text|>",
                                "<|reserved_special_token_0|>",
                                "<|reserved_special_token_1|>",
                                "<|reserved_special_token_2|>",
                                "<|reserved_special_token_3|>",
                                "<|start_header_id|>",
                                "<|end_header_id|>",
                                "<|reserved_special_token_4|>",
                                "<|eot_id|>"};
  for (int i = 5; s.size() < 256; ++i)
    s.push_back("<|reserved_special_token_" + std::to_string(i) + "|>");
  return s;
}

// Llama 3's layout: Split(its pattern, Isolated) then ByteLevel without regex, ignore_merges,
// merges as pairs, 256 special tokens beyond the vocabulary, a TemplateProcessing post-processor
// that puts <|begin_of_text|> first. The vocabulary is GPT-2's plus " glassbox".
json llama3_tokenizer_json() {
  json vocab = json::parse(slurp(data_dir() / "gpt2" / "encoder.json"));
  vocab.erase("<|endoftext|>");
  vocab["\xC4\xA0glassbox"] = kGlassbox;  // "Ġglassbox"
  json added = json::array();
  const std::vector<std::string> specials = llama3_specials();
  for (size_t i = 0; i < specials.size(); ++i)
    added.push_back(added_token(kBegin + int(i), specials[i]));
  const json begin = {{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}};
  const json template_processing = {
      {"type", "TemplateProcessing"},
      {"single", {begin, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"pair",
       {begin,
        {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
        {{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 1}}}},
        {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
      {"special_tokens",
       {{"<|begin_of_text|>",
         {{"id", "<|begin_of_text|>"}, {"ids", {kBegin}}, {"tokens", {"<|begin_of_text|>"}}}}}}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"},
               {"pattern", {{"Regex", kLlama3Pattern}}},
               {"behavior", "Isolated"},
               {"invert", false}},
              byte_level(false)}}}},
          {"post_processor",
           {{"type", "Sequence"},
            {"processors",
             {{{"type", "ByteLevel"},
               {"add_prefix_space", true},
               {"trim_offsets", false},
               {"use_regex", true}},
              template_processing}}}},
          {"decoder", byte_level(true)},
          {"model", bpe_model(vocab, gpt2_merges(true), true)}};
}

std::unique_ptr<llm::Tokenizer> load(const json& j, const std::string& name,
                                     bool allow_special = true) {
  const fs::path d = test_inputs::fresh_dir(name);
  std::ofstream(d / "tokenizer.json") << j.dump();
  if (!allow_special)
    std::ofstream(d / "glassbox_tokenizer.json") << R"({"type": "hf_bpe",
      "tokenizer_json": "tokenizer.json", "allow_special": false})";
  return llm::load_tokenizer(d);
}

Ids concat(Ids a, const Ids& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Ids shifted(Ids ids, int by) {
  for (int32_t& id : ids) id += by;
  return ids;
}

// Text that round-trips: specials, digits, Unicode, runs of white space, bytes that are not UTF-8.
std::string hard_text() {
  return slurp(data_dir() / "tinyshakespeare" / "input.txt").substr(0, 20000) +
         " caf\xC3\xA9 \xF0\x9F\x99\x82  \n\n 123 4567 x1y22 \xC2\x85\xE2\x80\xA8 \xFF\xFE tail "
         "<|endoftext|><|im_start|><|begin_of_text|> <|eot_id|>\n";
}

}  // namespace

TEST_CASE("SplitRegex: isolated pieces, Unicode white space, invalid bytes, empty matches") {
  auto pieces = [](const char* pattern, std::string_view text) {
    const llm::SplitRegex regex(pattern, "test");
    std::vector<std::string_view> out;
    regex.split_isolated(text, out);
    return std::vector<std::string>(out.begin(), out.end());
  };
  using Strings = std::vector<std::string>;
  CHECK(pieces(kLlama3Pattern, "Hello world 2024!\n\nIT'S") ==
        Strings{"Hello", " world", " ", "202", "4", "!\n\n", "IT", "'S"});
  // \s is Unicode White_Space, as in Oniguruma: U+0085 (NEL) is one, U+180E (which PCRE2's own
  // \s matches) is not.
  CHECK(pieces("\\s+", "a\xC2\x85 b") == Strings{"a", "\xC2\x85 ", "b"});
  CHECK(pieces("\\s+", "a\xE1\xA0\x8E b") == Strings{"a\xE1\xA0\x8E", " ", "b"});
  CHECK(pieces("[^\\s]+", "a\xE1\xA0\x8E b") == Strings{"a\xE1\xA0\x8E", " ", "b"});
  CHECK(pieces("\\S+", "a\xC2\x85 b") == Strings{"a", "\xC2\x85 ", "b"});
  CHECK(pieces("\\p{L}+", "ab\xFF\xFE\xC3\xA9") == Strings{"ab", "\xFF\xFE", "\xC3\xA9"});
  CHECK(pieces("x*", "abxxc") == Strings{"ab", "xx", "c"});
  CHECK(pieces("\\p{N}", "a12 3") == Strings{"a", "1", "2", " ", "3"});
  CHECK(llm::spell_out_white_space("[\\s\\]]\\S\\\\s", "p") ==
        std::string("[") + llm::unicode_white_space_class() + "\\]][^" +
            llm::unicode_white_space_class() + "]\\\\s");
  CHECK(test_inputs::error_of([] { llm::SplitRegex("[^\\S]", "here"); }) ==
        "here: \\S inside a character class is not supported");
  CHECK(test_inputs::error_of([] {
          llm::SplitRegex("(a", "here");
        }).find("here: the pattern does not compile with PCRE2") == 0);
}

TEST_CASE("a tokenizer.json shaped like SmolLM2's: special tokens, digits one by one") {
  const std::unique_ptr<llm::Tokenizer> smol = load(smollm2_tokenizer_json(), "hf_smollm2");
  CHECK(smol->name() == "hf_bpe");
  CHECK(smol->vocab_size() == 50256 + kSmolShift);
  CHECK(smol->eot_token() == 0);
  CHECK(!smol->bos_token());
  // Digits each on their own (GPT-2 makes " 12" one token, 1105).
  CHECK(gpt2().encode(" 12") == Ids{1105});
  CHECK(smol->encode(" 12") == Ids{220 + kSmolShift, 16 + kSmolShift, 17 + kSmolShift});
  CHECK(smol->decode_token(1) == "<|im_start|>");

  // Expected: the added tokens, each digit alone, GPT-2's ids for the text between them.
  const std::string text =
      "<|im_start|>user\nWhat is 12+345?<|im_end|>\n<|im_start|>assistant\n 2024 caf\xC3\xA9, "
      "x86<|endoftext|>";
  Ids expected = {1};
  expected = concat(expected, shifted(gpt2().encode("user\nWhat is "), kSmolShift));
  for (const char* piece : {"1", "2", "+", "3", "4", "5", "?"})
    expected = concat(expected, shifted(gpt2().encode(piece), kSmolShift));
  expected = concat(expected, {2});
  expected = concat(expected, shifted(gpt2().encode("\n"), kSmolShift));
  expected = concat(expected, {1});
  expected = concat(expected, shifted(gpt2().encode("assistant\n "), kSmolShift));
  for (const char* piece : {"2", "0", "2", "4", " caf\xC3\xA9, x", "8", "6"})
    expected = concat(expected, shifted(gpt2().encode(piece), kSmolShift));
  expected = concat(expected, {0});
  CHECK(smol->encode(text) == expected);
  CHECK(smol->decode(expected) == text);

  const std::string hard = hard_text();
  CHECK(smol->decode(smol->encode(hard)) == hard);
  // Without special tokens, <|im_start|> is text.
  const std::unique_ptr<llm::Tokenizer> plain = load(smollm2_tokenizer_json(), "hf_smol2", false);
  CHECK(plain->encode("<|im_start|>") == shifted(gpt2().encode("<|im_start|>"), kSmolShift));
  CHECK(plain->decode(plain->encode(hard)) == hard);
}

TEST_CASE("a tokenizer.json shaped like Llama 3's: Split regex, ignore_merges, BOS, 256 specials") {
  const std::unique_ptr<llm::Tokenizer> llama = load(llama3_tokenizer_json(), "hf_llama3");
  CHECK(llama->name() == "hf_bpe");
  CHECK(llama->vocab_size() == kBegin + 256);
  CHECK(llama->bos_token() == kBegin);
  CHECK(llama->eot_token() == kBegin + 1);  // <|end_of_text|>
  CHECK(llama->decode({kBegin + 255}) == "<|reserved_special_token_250|>");
  // Numbers in groups of up to three, the space alone: GPT-2 makes " 2024" one token (48609).
  CHECK(gpt2().encode(" 2024") == Ids{48609});
  CHECK(llama->encode("Hello world 2024!") == Ids{15496, 995, 220, 19004, 19, 0});
  // A word that is a token is that token (ignore_merges); GPT-2's merges make " glass" + "box".
  CHECK(gpt2().encode(" glassbox") == Ids{5405, 3524});
  CHECK(llama->encode(" glassbox") == Ids{kGlassbox});
  CHECK(llama->encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>") ==
        Ids{kBegin + 6, 7220, kBegin + 7, 628, 17250, kBegin + 9});
  // Added tokens are matched whole, one after the other.
  CHECK(llama->encode("<|reserved_special_token_25|><|reserved_special_token_2|>") ==
        Ids{kBegin + 30, kBegin + 4});
  // Everything else matches GPT-2 where the two patterns cut alike (letters and spaces).
  const std::string words = "The quick brown fox jumps over the lazy dog and then some";
  CHECK(llama->encode(words) == gpt2().encode(words));
  const std::string hard = hard_text();
  CHECK(llama->decode(llama->encode(hard)) == hard);

  // Saved with a checkpoint, the file goes back as it was and loads to the same tokenizer.
  const fs::path saved = test_inputs::fresh_dir("hf_llama3_saved");
  llama->save(saved);
  CHECK(json::parse(slurp(saved / "tokenizer.json")) == llama3_tokenizer_json());
  const std::unique_ptr<llm::Tokenizer> again = llm::load_tokenizer(saved);
  CHECK(again->fingerprint() == llama->fingerprint());
  CHECK(again->encode(hard) == llama->encode(hard));
  CHECK(again->bos_token() == kBegin);
  // The scheme is part of what the tokenizer is: without ignore_merges it differs.
  json other = llama3_tokenizer_json();
  other["model"]["ignore_merges"] = false;
  other["model"]["vocab"].erase("\xC4\xA0glassbox");
  other["added_tokens"] = json::array();
  other["post_processor"] = nullptr;
  CHECK(load(other, "hf_llama3_other")->fingerprint() != llama->fingerprint());
}

TEST_CASE("tokenizer.json fields that are not supported are one line naming the field") {
  auto refusal = [&](const std::function<void(json&)>& edit) {
    json j = llama3_tokenizer_json();
    edit(j);
    return test_inputs::error_of([&] { load(j, "hf_refused"); });
  };
  auto contains = [](const std::string& message, const std::string& part) {
    INFO(message);
    CHECK(message.find('\n') == std::string::npos);
    return message.find(part) != std::string::npos;
  };
  CHECK(contains(
      refusal([](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed"; }),
      "tokenizer.json: pre_tokenizer.pretokenizers[0].behavior is \"Removed\""));
  CHECK(contains(refusal([](json& j) {
                   j["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"String", " "}};
                 }),
                 "pre_tokenizer.pretokenizers[0].pattern is {\"String\":\" \"}"));
  CHECK(contains(refusal([](json& j) { j["pre_tokenizer"]["pretokenizers"].erase(1); }),
                 "pre_tokenizer has no ByteLevel step"));
  CHECK(contains(refusal([](json& j) {
                   j["pre_tokenizer"]["pretokenizers"][1] = {{"type", "Metaspace"}};
                 }),
                 "pre_tokenizer.pretokenizers[1] is {\"type\":\"Metaspace\"}"));
  CHECK(contains(refusal([](json& j) {
                   auto& single = j["post_processor"]["processors"][1]["single"];
                   single.push_back(single[0]);
                 }),
                 "post_processor.processors[1].single puts a token after the text"));
  CHECK(contains(refusal([](json& j) { j["added_tokens"][3]["lstrip"] = true; }),
                 "added token \"<|reserved_special_token_1|>\" sets lstrip"));
  CHECK(contains(refusal([](json& j) { j["model"]["byte_fallback"] = true; }),
                 "\"byte_fallback\" is true"));
  CHECK(contains(refusal([](json& j) {
                   j["truncation"] = {{"max_length", 8}};
                 }),
                 "\"truncation\" is"));
  CHECK(contains(refusal([](json& j) { j["added_tokens"][1]["id"] = 7; }),
                 "added token '<|end_of_text|>' has id 7, which is '(' there"));
  CHECK(contains(refusal([](json& j) { j["added_tokens"].erase(100); }),
                 "has id 50512, outside 0..50511"));
  json smol = smollm2_tokenizer_json();
  smol["added_tokens"][3]["id"] = 50280;  // also in the vocabulary as 3: ids 50273.. are unused
  CHECK(
      contains(test_inputs::error_of([&] { load(smol, "hf_refused"); }), "no token has id 50273"));
  CHECK(contains(refusal([](json& j) { j["added_tokens"][5]["id"] = 1 << 30; }),
                 "added token '<|reserved_special_token_3|>' has id 1073741824, outside 0..50512"));
  CHECK(contains(
      refusal([](json& j) { j["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = "no"; }),
      "tokenizer.json: a field has an unexpected JSON type"));
  CHECK(contains(refusal([](json& j) { j["added_tokens"].erase(0); }),
                 "post_processor: the token before the text, id 50257, is not in added_tokens"));
}
