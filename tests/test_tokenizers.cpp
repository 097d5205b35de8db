// Tests for the char and byte tokenizers, load_tokenizer(), and prepare_dataset() (glassbox
// tokenize).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "llm/core/error.hpp"
#include "llm/data/prepare.hpp"
#include "llm/data/shard.hpp"
#include "llm/tokenizer/byte_tokenizer.hpp"
#include "llm/tokenizer/char_tokenizer.hpp"
#include "test_inputs.hpp"

namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("char tokenizer: sorted distinct characters, round trip") {
  const std::string corpus = "hello world\n";
  llm::CharTokenizer tok = llm::CharTokenizer::from_corpus(corpus);
  CHECK(tok.vocab_size() == 9);  // \n, ' ', d, e, h, l, o, r, w
  CHECK(tok.encode("\n ") == std::vector<int32_t>{0, 1});
  CHECK(tok.decode(tok.encode(corpus)) == corpus);
  CHECK(tok.decode_token(2) == "d");
  CHECK_FALSE(tok.eot_token().has_value());
  CHECK_THROWS_AS(tok.decode({9}), llm::Error);
}

TEST_CASE("char tokenizer: UTF-8 text works by code point") {
  const std::string corpus = "naïve café — 日本語 🙂";
  llm::CharTokenizer tok = llm::CharTokenizer::from_corpus(corpus);
  std::vector<int32_t> ids = tok.encode(corpus);
  CHECK(ids.size() == 18);  // characters, not bytes
  CHECK(tok.decode(ids) == corpus);
  CHECK(tok.decode_token(tok.encode("🙂")[0]) == "🙂");
  try {
    tok.encode("x");
    FAIL("no error");
  } catch (const llm::Error& e) {
    CHECK(std::string(e.what()).find("'x' (U+0078) is not in the vocabulary") != std::string::npos);
  }
  CHECK_THROWS_AS(llm::CharTokenizer::from_corpus("bad \xff byte"), llm::Error);
  CHECK_THROWS_AS(llm::CharTokenizer::from_corpus("overlong \xc0\xaf"), llm::Error);
}

TEST_CASE("byte tokenizer: every byte string round trips") {
  llm::ByteTokenizer tok;
  std::string text = "héllo\n";
  text += '\0';
  text += "\xff\x80";
  std::vector<int32_t> ids = tok.encode(text);
  CHECK(ids.size() == text.size());
  CHECK(ids[1] == 0xc3);
  CHECK(tok.decode(ids) == text);
  CHECK(tok.vocab_size() == 256);
  CHECK_THROWS_AS(tok.decode_token(256), llm::Error);
}

TEST_CASE("tokenizers save and load back") {
  const fs::path dir = test_inputs::fresh_dir("tokenizers_save");
  llm::CharTokenizer::from_corpus("abc\n\"\\é").save(dir / "char");
  llm::ByteTokenizer().save(dir / "byte");
  auto chars = llm::load_tokenizer(dir / "char");
  CHECK(chars->name() == "char");
  CHECK(chars->vocab_size() == 7);
  CHECK(chars->decode(chars->encode("c\"é\\\n")) == "c\"é\\\n");
  auto bytes = llm::load_tokenizer(dir / "byte");
  CHECK(bytes->name() == "byte");
  CHECK(bytes->vocab_size() == 256);
  CHECK_THROWS_AS(llm::load_tokenizer(dir / "nothing"), llm::Error);
  write_text(dir / "odd" / "glassbox_tokenizer.json", R"({"type":"morse"})");
  CHECK_THROWS_WITH_AS(llm::load_tokenizer(dir / "odd"), doctest::Contains("unknown type 'morse'"),
                       llm::Error);
}

TEST_CASE("prepare_dataset: char shards, last 10% is val, tokenizer saved") {
  const fs::path dir = test_inputs::fresh_dir("tokenizers_prepare");
  std::string text;
  for (int i = 0; i < 100; ++i) text += "To be, or not to be.\n";  // 2100 characters
  write_text(dir / "input.txt", text);
  write_text(dir / "out" / "train_000099.bin", "stale");  // an earlier run's shard must go

  llm::PrepareOptions options;
  options.tokenizer = "char";
  options.inputs = {dir / "input.txt"};
  options.out_dir = dir / "out";
  options.shard_size = 1000;
  options.progress = false;
  llm::PrepareSummary summary = llm::prepare_dataset(options);
  CHECK(summary.train_tokens == 1890);  // int(2100 * 0.9), as nanoGPT
  CHECK(summary.val_tokens == 210);
  CHECK(summary.train_shards.size() == 2);
  CHECK(summary.val_shards.size() == 1);
  CHECK_FALSE(fs::exists(dir / "out" / "train_000099.bin"));

  auto tok = llm::load_tokenizer(dir / "out");
  CHECK(tok->vocab_size() == summary.vocab_size);
  std::vector<int32_t> all = llm::read_shard(dir / "out" / "train_000000.bin");
  CHECK(all.size() == 1000);
  auto rest = llm::read_shard(dir / "out" / "train_000001.bin");
  auto val = llm::read_shard(dir / "out" / "val_000000.bin");
  all.insert(all.end(), rest.begin(), rest.end());
  all.insert(all.end(), val.begin(), val.end());
  CHECK(tok->decode(all) == text);
}

TEST_CASE("prepare_dataset: directories and .jsonl documents, bad inputs") {
  const fs::path dir = test_inputs::fresh_dir("tokenizers_inputs");
  write_text(dir / "corpus" / "b" / "two.txt", "second");
  write_text(dir / "corpus" / "a.txt", "first");
  write_text(dir / "docs.jsonl", "{\"text\": \"third\"}\n\n{\"text\": \"fourth\", \"id\": 4}\n");
  std::vector<std::string> docs = llm::read_documents({dir / "corpus", dir / "docs.jsonl"});
  CHECK(docs == std::vector<std::string>{"first", "second", "third", "fourth"});

  CHECK_THROWS_WITH_AS(llm::read_documents({dir / "missing.txt"}),
                       doctest::Contains("missing.txt: no such file"), llm::Error);
  write_text(dir / "bad.jsonl", "{\"text\": \"ok\"}\n{\"body\": 1}\n");
  CHECK_THROWS_WITH_AS(llm::read_documents({dir / "bad.jsonl"}), doctest::Contains("line 2"),
                       llm::Error);

  llm::PrepareOptions options;
  options.tokenizer = "byte";
  options.inputs = {dir / "corpus"};
  options.out_dir = dir / "out";
  options.val_fraction = 0;
  options.progress = false;
  llm::PrepareSummary summary = llm::prepare_dataset(options);
  CHECK(summary.train_tokens == 11);  // byte has no eot: the documents are just concatenated
  CHECK(summary.val_shards.empty());
  CHECK(
      llm::load_tokenizer(dir / "out")->decode(llm::read_shard(dir / "out" / "train_000000.bin")) ==
      "firstsecond");
}

TEST_CASE("prepare_dataset: gpt2 puts <|endoftext|> before every document") {
  const fs::path gpt2_dir = fs::path(GLASSBOX_SOURCE_DIR) / "data" / "cache" / "gpt2";
  if (!fs::exists(gpt2_dir / "encoder.json") || !fs::exists(gpt2_dir / "vocab.bpe")) {
    MESSAGE("skipped: no GPT-2 files in " << gpt2_dir.string() << " (run data/fetch.sh gpt2)");
    return;
  }
  const fs::path dir = test_inputs::fresh_dir("tokenizers_gpt2");
  write_text(dir / "docs.jsonl",
             "{\"text\": \"Hello world\"}\n{\"text\": \"<|endoftext|> stays text\"}\n");
  llm::PrepareOptions options;
  options.tokenizer = "gpt2";
  options.inputs = {dir / "docs.jsonl"};
  options.out_dir = dir / "out";
  options.val_fraction = 0;
  options.gpt2_encoder = gpt2_dir / "encoder.json";
  options.gpt2_vocab_bpe = gpt2_dir / "vocab.bpe";
  options.progress = false;
  llm::prepare_dataset(options);
  const std::vector<int32_t> tokens = llm::read_shard(dir / "out" / "train_000000.bin");
  // "Hello world" = [15496, 995] in GPT-2; the literal <|endoftext|> inside a document is ordinary
  // text.
  REQUIRE(tokens.size() > 5);
  CHECK(std::vector<int32_t>(tokens.begin(), tokens.begin() + 4) ==
        std::vector<int32_t>{50256, 15496, 995, 50256});
  CHECK(std::count(tokens.begin(), tokens.end(), 50256) == 2);
  auto tok = llm::load_tokenizer(dir / "out");
  CHECK(tok->name() == "gpt2");
  CHECK(tok->eot_token() == 50256);
  CHECK(tok->decode(tokens) == "<|endoftext|>Hello world<|endoftext|><|endoftext|> stays text");
}
