// The fast BPE trainer (incremental pair counts) must learn exactly the merges of a slow, obviously
// correct one written here (recount every pair before every merge), and its files must load into
// Gpt2Tokenizer and round-trip text.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "llm/core/error.hpp"
#include "llm/tokenizer/bpe_trainer.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"
#include "test_inputs.hpp"

namespace fs = std::filesystem;
using Merges = std::vector<std::pair<std::string, std::string>>;

namespace {

// The reference: words as lists of byte strings; before each merge count all adjacent pairs of all
// words from scratch; take the most frequent, ties to the greatest (left, right); merge every
// occurrence left to right; stop at vocab_size - 1 distinct tokens or when no pair is left.
Merges reference_train(const std::vector<std::string>& texts, int vocab_size) {
  std::map<std::string, long> word_counts;
  llm::Gpt2Splitter splitter;
  for (const std::string& text : texts) {
    size_t start = 0;
    while (true) {
      size_t hit = text.find("<|endoftext|>", start);
      std::string part = text.substr(start, hit == std::string::npos ? hit : hit - start);
      size_t pos = 0;
      while (pos < part.size()) ++word_counts[std::string(splitter.next(part, pos))];
      if (hit == std::string::npos) break;
      start = hit + 13;
    }
  }
  std::vector<std::pair<std::vector<std::string>, long>> words;
  for (auto& [w, n] : word_counts) {
    std::vector<std::string> symbols;
    for (char c : w) symbols.push_back(std::string(1, c));
    words.push_back({symbols, n});
  }
  std::set<std::string> vocab;
  for (int b = 0; b < 256; ++b) vocab.insert(std::string(1, static_cast<char>(b)));
  Merges merges;
  while (static_cast<int>(vocab.size()) < vocab_size - 1) {
    std::map<std::pair<std::string, std::string>, long> counts;
    for (auto& [symbols, n] : words)
      for (size_t i = 0; i + 1 < symbols.size(); ++i) counts[{symbols[i], symbols[i + 1]}] += n;
    if (counts.empty()) break;
    auto best = counts.begin();
    for (auto it = counts.begin(); it != counts.end(); ++it)
      if (it->second > best->second || (it->second == best->second && it->first > best->first))
        best = it;
    auto [a, b] = best->first;
    merges.push_back({a, b});
    vocab.insert(a + b);
    for (auto& [symbols, n] : words) {
      std::vector<std::string> merged;
      for (size_t i = 0; i < symbols.size();) {
        if (i + 1 < symbols.size() && symbols[i] == a && symbols[i + 1] == b) {
          merged.push_back(a + b);
          i += 2;
        } else {
          merged.push_back(symbols[i++]);
        }
      }
      symbols = merged;
    }
  }
  return merges;
}

Merges fast_train(const std::vector<std::string>& texts, int vocab_size, int threads = 2) {
  std::vector<std::string_view> views(texts.begin(), texts.end());
  return llm::train_bpe(views, vocab_size, threads).merges;
}

std::string shakespeare(size_t bytes) {
  // Where data/fetch.sh puts it (scripts/test.sh runs that first).
  const fs::path path =
      fs::path(GLASSBOX_SOURCE_DIR) / "data" / "cache" / "tinyshakespeare" / "input.txt";
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, path.string() << " not found: run data/fetch.sh tinyshakespeare");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str().substr(0, bytes);
}

}  // namespace

TEST_CASE("fast trainer == reference trainer on small inputs") {
  std::mt19937 rng(7);
  std::vector<std::vector<std::string>> inputs = {
      {"low lower lowest newer newest wider wide widest"},
      {"aaaa aaaaa aaaaaaa bbbb abababab aaa",
       "aa aa aa<|endoftext|>aaab aaab"},  // overlapping pairs
      {"the cat sat on the mat. The cat's hat!\n\n  the  end\t\ttabs 123 4567 890"},
      {"caf\xC3\xA9 na\xC3\xAFve \xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C "
       "\xF0\x9F\x98\x80\xF0\x9F\x98\x80 "
       "\xFF\xFE bytes"},
      {shakespeare(20000)},
  };
  {  // random strings over a tiny alphabet: many ties and repeated merges of the same bytes
    std::string s;
    const char alphabet[] = "ab c\n";
    for (int i = 0; i < 3000; ++i) s += alphabet[rng() % 5];
    inputs.push_back({s});
  }
  for (size_t k = 0; k < inputs.size(); ++k) {
    CAPTURE(k);
    for (int vocab : {257, 260, 300, 400}) {
      CAPTURE(vocab);
      Merges ref = reference_train(inputs[k], vocab);
      Merges fast = fast_train(inputs[k], vocab);
      REQUIRE(fast.size() == ref.size());
      for (size_t i = 0; i < ref.size(); ++i) {
        CAPTURE(i);
        CHECK(fast[i] == ref[i]);
      }
    }
  }
}

TEST_CASE("trained files load into Gpt2Tokenizer and round-trip text") {
  std::string text = shakespeare(200000);
  std::vector<std::string_view> views = {text};
  llm::BpeVocabulary vocab = llm::train_bpe(views, 1000);
  CHECK(vocab.tokens.size() == 1000);
  CHECK(vocab.tokens.back() == "<|endoftext|>");
  CHECK(vocab.tokens[0] == "!");
  CHECK(vocab.tokens[255] == std::string(1, '\xAD'));  // GPT-2's id 255 is byte 0xAD ("Ń")
  const fs::path dir = test_inputs::fresh_dir("bpe_trainer");
  llm::write_gpt2_files(vocab, dir);
  std::ifstream bpe(dir / "vocab.bpe");
  std::string first_line;
  std::getline(bpe, first_line);
  CHECK(first_line == "#version: 0.2");

  auto tok = llm::make_gpt2_tokenizer(dir / "encoder.json", dir / "vocab.bpe");
  CHECK(tok->vocab_size() == 1000);
  CHECK(tok->eot_token() == 999);
  std::vector<int32_t> ids = tok->encode(text);
  CHECK(tok->decode(ids) == text);
  CHECK(ids.size() < text.size() / 2);  // the merges compress
  std::string other = "Unseen t\xC3\xA9xt \xF0\x9F\x98\x80 <|endoftext|> and \xFF bytes";
  CHECK(tok->decode(tok->encode(other)) == other);
  CHECK(tok->encode("<|endoftext|>") == std::vector<int32_t>{999});
  // Encoding the training text applies the merges the trainer made: every token is in the vocab.
  for (int32_t id : ids) CHECK((id >= 0 && id < 999));
  fs::remove_all(dir);
}

TEST_CASE("vocab size below 257 is an error") {
  std::vector<std::string_view> views = {"abc"};
  CHECK_THROWS_AS(llm::train_bpe(views, 256), llm::Error);
  CHECK(llm::train_bpe(views, 257).merges.empty());
}
