// Unit tests of the GPT-2 BPE tokenizer that need no Node.js: known ids, the special token, error
// messages for bad files, bytes that are not UTF-8, save/load, batch and split encoding.
// (Full equivalence with OpenAI's encoder on tinyshakespeare: tests/tokenizer/compare_gpt2.cpp.)
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/core/error.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"
#include "test_inputs.hpp"

namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;

namespace {

// Where data/fetch.sh puts the files (scripts/test.sh runs `data/fetch.sh gpt2 tinyshakespeare`
// first).
fs::path data_dir() { return fs::path(GLASSBOX_SOURCE_DIR) / "data" / "cache"; }
fs::path encoder_path() { return data_dir() / "gpt2" / "encoder.json"; }
fs::path vocab_path() { return data_dir() / "gpt2" / "vocab.bpe"; }

const llm::Gpt2Tokenizer& gpt2(bool allow_special = true) {
  static auto with = llm::make_gpt2_tokenizer(encoder_path(), vocab_path(), true);
  static auto without = llm::make_gpt2_tokenizer(encoder_path(), vocab_path(), false);
  return dynamic_cast<const llm::Gpt2Tokenizer&>(allow_special ? *with : *without);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The error message of make_gpt2_tokenizer on these file contents.
std::string load_error(const std::string& encoder, const std::string& vocab) {
  fs::path d = test_inputs::fresh_dir("gpt2_bad");
  std::ofstream(d / "encoder.json") << encoder;
  std::ofstream(d / "vocab.bpe") << vocab;
  try {
    llm::make_gpt2_tokenizer(d / "encoder.json", d / "vocab.bpe");
  } catch (const llm::Error& e) { return e.what(); }
  return "(no error)";
}

// Bytes outside printable ASCII as \xNN, for failure messages.
std::string escaped(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    char buf[8];
    std::snprintf(buf, sizeof buf, c >= 0x20 && c < 0x7F ? "%c" : "\\x%02X", c);
    out += buf;
  }
  return out;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("known GPT-2 ids (values from OpenAI's encoder via gpt-3-encoder)") {
  const auto& tok = gpt2();
  CHECK(tok.name() == "gpt2");
  CHECK(tok.vocab_size() == 50257);
  CHECK(tok.num_merges() == 50000);
  CHECK(tok.eot_token() == 50256);
  CHECK(tok.encode("Hello world") == Ids{15496, 995});
  CHECK(tok.encode("It's 2024!\n\n  ok") == Ids{1026, 338, 48609, 0, 628, 220, 12876});
  CHECK(tok.encode("h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD") ==
        Ids{71, 2634, 18798, 220, 10310, 244, 45911, 234, 50169, 235, 8582, 237, 121});
  CHECK(tok.encode("").empty());
  CHECK(tok.decode({15496, 995}) == "Hello world");
  CHECK(tok.decode_token(995) == " world");
}

TEST_CASE("<|endoftext|> is one token when special tokens are allowed, plain text otherwise") {
  CHECK(gpt2(true).encode(" <|endoftext|>") == Ids{220, 50256});
  CHECK(gpt2(true).encode("a<|endoftext|><|endoftext|>b") == Ids{64, 50256, 50256, 65});
  CHECK(gpt2(false).encode(" <|endoftext|>") == Ids{1279, 91, 437, 1659, 5239, 91, 29});
  CHECK(gpt2(false).encode("<|endoftext|>") == Ids{27, 91, 437, 1659, 5239, 91, 29});
  CHECK(gpt2(true).decode({220, 50256}) == " <|endoftext|>");
  CHECK(gpt2(false).eot_token() == 50256);  // still the document separator for shards
}

TEST_CASE("ids out of range throw llm::Error") {
  CHECK_THROWS_AS(gpt2().decode({50257}), llm::Error);
  CHECK_THROWS_AS(gpt2().decode({-1}), llm::Error);
  CHECK_THROWS_AS(gpt2().decode_token(1 << 20), llm::Error);
}

TEST_CASE("bytes that are not UTF-8 round-trip; decoding a partial character does not crash") {
  const auto& tok = gpt2();
  std::string bad = "ok \xFF\xFE bad \xE4\xB8 cut \xC3";  // stray bytes, a truncated sequence
  Ids ids = tok.encode(bad);
  CHECK(tok.decode(ids) == bad);
  // The first byte of "世" alone (token 10310 is "\xE4\xB8") decodes to raw bytes.
  Ids world = tok.encode("\xE4\xB8\x96");
  REQUIRE(world.size() == 2);
  CHECK(tok.decode({world[0]}) == "\xE4\xB8");
  CHECK(tok.decode_token(world[1]) == "\x96");
  for (int b = 0; b < 256; ++b) {
    std::string one(1, static_cast<char>(b));
    CHECK(tok.decode(tok.encode(one)) == one);
  }
}

TEST_CASE("missing or malformed files give one-line errors naming the file") {
  std::string e = "";
  try {
    llm::make_gpt2_tokenizer("/nonexistent/encoder.json", vocab_path());
  } catch (const llm::Error& err) { e = err.what(); }
  CHECK(contains(e, "/nonexistent/encoder.json"));

  std::string good_vocab = "#version: 0.2\n";
  std::string enc = slurp(encoder_path());
  CHECK(contains(load_error("{not json", good_vocab), "encoder.json: invalid JSON"));
  CHECK(contains(load_error("[1, 2]", good_vocab), "encoder.json: expected a JSON object"));
  CHECK(contains(load_error(R"({"a": "x"})", good_vocab), "is not an integer"));
  CHECK(contains(load_error(R"({"a": 5})", good_vocab), "outside 0..0"));
  CHECK(contains(load_error(R"({"!": 0})", good_vocab), "one-byte token"));
  CHECK(contains(load_error(enc, "Ġ t\n"), "vocab.bpe line 1: expected the header"));
  CHECK(contains(load_error(enc, "#version: 0.2\nĠ t\nĠ a b\n"),
                 "vocab.bpe line 3: expected two tokens, found 3"));
  CHECK(contains(load_error(enc, "#version: 0.2\nĠt\n"), "vocab.bpe line 2: expected two tokens"));
  CHECK(contains(load_error(enc, "#version: 0.2\nĠ qqqqqqqqqqq\n"),
                 "vocab.bpe line 2: token 'qqqqqqqqqqq' is not in"));
  CHECK(contains(load_error(enc, ""), "vocab.bpe: file is empty"));
  for (const std::string& msg : {load_error("{", good_vocab), load_error(enc, "#v\na b c\n")})
    CHECK(!contains(msg, "\n"));
}

TEST_CASE("save() writes files that load_gpt2_tokenizer() reads back") {
  fs::path d = test_inputs::fresh_dir("gpt2_save");
  gpt2(false).save(d);
  nlohmann::json spec = nlohmann::json::parse(slurp(d / "glassbox_tokenizer.json"));
  CHECK(spec["type"] == "gpt2");
  CHECK(spec["encoder"] == "encoder.json");
  CHECK(spec["vocab_bpe"] == "vocab.bpe");
  CHECK(spec["allow_special"] == false);
  CHECK(slurp(d / "vocab.bpe") == slurp(vocab_path()));
  auto back = llm::load_gpt2_tokenizer(spec, d);
  CHECK(back->name() == "gpt2");
  CHECK(back->encode("<|endoftext|> hi") == gpt2(false).encode("<|endoftext|> hi"));
  fs::remove_all(d);
}

TEST_CASE("encode_batch and gpt2_split_text give the same ids as encode") {
  const auto& tok = gpt2();
  std::string text = slurp(data_dir() / "tinyshakespeare" / "input.txt").substr(0, 200000);
  text += " tail<|endoftext|> x  y\n\n";
  Ids whole = tok.encode(text);
  auto chunks = llm::gpt2_split_text(text, 1000);
  CHECK(chunks.size() > 100);
  for (int threads : {1, 2, 4}) {
    auto parts = tok.encode_batch(chunks, threads);
    Ids joined;
    for (auto& p : parts) joined.insert(joined.end(), p.begin(), p.end());
    CHECK(joined == whole);
  }
  CHECK(tok.decode(whole) == text);
}

TEST_CASE("the ASCII fast path of the pre-tokenizer splits exactly like the regex") {
  const std::vector<std::string> atoms = {
      "a",
      "Zq",
      "7",
      "42",
      " ",
      "  ",
      "\t",
      "\n",
      "\r\n",
      "\x0B",
      "\x0C",
      "'",
      "s",
      "t",
      "re",
      "ve",
      "m",
      "ll",
      "d",
      "S",
      "!",
      "...",
      "-",
      "\x1F",
      "\x7F",
      "\x01",
      "\xC3\xA9",          // é (letter)
      "\xE4\xB8\x96",      // 世 (letter)
      "\xF0\x9F\x98\x80",  // 😀 (other)
      "\xD9\xA3",          // ٣ (digit)
      "\xC2\xA0",          // no-break space (white space)
      "\xE3\x80\x80",      // ideographic space (white space)
      "\xE2\x80\xA8",      // line separator (white space)
      "\xC2\x85",          // next line (white space)
      "\xCC\x81",          // combining acute accent (a mark: neither letter nor digit)
      "\xFF",
      "\xE4\xB8",  // not UTF-8
  };
  std::mt19937 rng(2024);
  llm::Gpt2Splitter fast, regex;
  size_t pieces = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string s;
    int len = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < len; ++i) s += atoms[rng() % atoms.size()];
    size_t p = 0, q = 0;
    while (p < s.size() || q < s.size()) {
      std::string_view a = fast.next(s, p), b = regex.next_regex(s, q);
      ++pieces;
      if (a != b || p != q) {
        FAIL_CHECK("pieces differ on " << escaped(s) << ": '" << escaped(a) << "' vs '"
                                       << escaped(b) << "'");
        break;
      }
    }
  }
  CHECK(pieces > 100000);
}

TEST_CASE("a vocab.bpe cut short at a line boundary does not match encoder.json, and says so") {
  const std::string vocab = slurp(vocab_path());
  // Drop the last 1000 merges, keeping whole lines: each line still parses on its own.
  size_t cut = vocab.size() - 1;
  for (int lines = 0; lines < 1000; lines++) cut = vocab.rfind('\n', cut - 1);
  const std::string e = load_error(slurp(encoder_path()), vocab.substr(0, cut + 1));
  CHECK(contains(e, "vocab.bpe does not match"));
  CHECK(contains(e, "1000 of its 50257 tokens"));
  CHECK(contains(e, "49000 merges read"));
}

TEST_CASE("the fingerprint covers tokens and merges, not formatting or allow_special") {
  CHECK(gpt2(true).fingerprint() == gpt2(false).fingerprint());
  // The same vocabulary written as compact JSON (as Hugging Face's vocab.json is) and saved
  // elsewhere: the same tokenizer.
  const fs::path d = test_inputs::fresh_dir("gpt2_fingerprint");
  std::ofstream(d / "encoder.json") << nlohmann::json::parse(slurp(encoder_path())).dump();
  std::string vocab = slurp(vocab_path());
  std::ofstream(d / "vocab.bpe") << vocab;
  CHECK(llm::make_gpt2_tokenizer(d / "encoder.json", d / "vocab.bpe")->fingerprint() ==
        gpt2().fingerprint());
  // The last two merges in the other order: every token is still made, so the pair loads, but the
  // tokenizer differs.
  const size_t last = vocab.rfind('\n', vocab.size() - 2);
  const size_t before = vocab.rfind('\n', last - 1);
  const std::string a = vocab.substr(before + 1, last - before), b = vocab.substr(last + 1);
  vocab = vocab.substr(0, before + 1) + b + a;
  std::ofstream(d / "vocab.bpe", std::ios::trunc) << vocab;
  CHECK(llm::make_gpt2_tokenizer(d / "encoder.json", d / "vocab.bpe")->fingerprint() !=
        gpt2().fingerprint());
}

TEST_CASE("a number too large for JSON in encoder.json is an error naming the file") {
  // nlohmann reports it as out_of_range, not parse_error (found by tests/fuzz/fuzz_tokenizer).
  const std::string e = load_error("{\"a\": 1e99999}", "#version: 0.2\n");
  CHECK(contains(e, "encoder.json: invalid JSON"));
  CHECK(contains(e, "number overflow"));
}

namespace {

// A Hugging Face tokenizer.json of GPT-2 written from encoder.json + vocab.bpe, the way the
// `tokenizers` library lays it out; merges as "left right" strings or as [left, right] pairs.
nlohmann::json hf_tokenizer_json(bool merges_as_pairs) {
  nlohmann::json merges = nlohmann::json::array();
  std::istringstream lines(slurp(vocab_path()));
  std::string line;
  std::getline(lines, line);  // #version: 0.2
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    if (merges_as_pairs)
      merges.push_back({line.substr(0, space), line.substr(space + 1)});
    else
      merges.push_back(line);
  }
  nlohmann::json vocab = nlohmann::json::parse(slurp(encoder_path()));
  vocab.erase("<|endoftext|>");  // listed under added_tokens instead, as some files do
  return {{"version", "1.0"},
          {"added_tokens", {{{"id", 50256}, {"content", "<|endoftext|>"}, {"special", true}}}},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", ""},
            {"end_of_word_suffix", ""},
            {"vocab", vocab},
            {"merges", merges}}}};
}

}  // namespace

TEST_CASE("a Hugging Face tokenizer.json of GPT-2 gives GPT-2's ids; other kinds are refused") {
  const std::string text = slurp(data_dir() / "tinyshakespeare" / "input.txt").substr(0, 100000) +
                           "<|endoftext|> caf\xC3\xA9 \xF0\x9F\x99\x82  \n\n 123";
  const std::vector<int32_t> expected = gpt2().encode(text);
  for (bool pairs : {false, true}) {
    CAPTURE(pairs);
    const fs::path d = test_inputs::fresh_dir("gpt2_hf_json");
    std::ofstream(d / "tokenizer.json") << hf_tokenizer_json(pairs).dump();
    const std::unique_ptr<llm::Tokenizer> tokenizer = llm::load_tokenizer(d);
    CHECK(tokenizer->vocab_size() == 50257);
    CHECK(tokenizer->encode(text) == expected);
    CHECK(tokenizer->decode(expected) == text);
    CHECK(tokenizer->fingerprint() == gpt2().fingerprint());
  }
  auto refusal = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = hf_tokenizer_json(false);
    edit(j);
    const fs::path d = test_inputs::fresh_dir("gpt2_hf_json_bad");
    std::ofstream(d / "tokenizer.json") << j.dump();
    try {
      llm::load_tokenizer(d);
    } catch (const llm::Error& e) { return std::string(e.what()); }
    return std::string("(no error)");
  };
  CHECK(contains(refusal([](nlohmann::json& j) { j["model"]["type"] = "WordPiece"; }),
                 "model.type is \"WordPiece\", expected \"BPE\""));
  CHECK(contains(refusal([](nlohmann::json& j) { j["pre_tokenizer"]["add_prefix_space"] = true; }),
                 "add_prefix_space is true"));
  CHECK(contains(refusal([](nlohmann::json& j) {
                   j["normalizer"] = {{"type", "NFC"}};
                 }),
                 "\"normalizer\" is"));
  CHECK(contains(refusal([](nlohmann::json& j) {
                   j["decoder"] = {{"type", "WordPiece"}};
                 }),
                 "decoder is {\"type\":\"WordPiece\"}, expected ByteLevel"));
  // Merges cut short: the pair check of the GPT-2 engine names the file.
  CHECK(contains(refusal([](nlohmann::json& j) { j["model"]["merges"].erase(49999); }),
                 "tokenizer.json (model.merges) does not match"));
}
