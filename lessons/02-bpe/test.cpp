// Lesson 02 tests: your BPE trainer against llm::train_bpe, your encoder and decoder against the
// GPT-2 tokenizer (llm::Gpt2Tokenizer) loaded from the same vocabulary, on random texts and on
// tinyshakespeare.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <sstream>

#include <unistd.h>  // getpid

#include "common/check.hpp"
#include "common/data.hpp"
#include "lesson.hpp"

using namespace lesson02;
using lesson::expect_equal;

namespace {

// Random "words" over a small alphabet, so that pairs repeat, counts tie, and some merged strings
// can be built two ways ("ab"+"c" and "a"+"bc").
std::string random_text(size_t words, uint64_t seed) {
  const std::vector<std::string> letters = {"a", "b", "c", "d", "e", "\xc3\xa9", "1"};
  const std::vector<std::string> gaps = {" ", " ", " ", "\n", ", ", ". ", "'s "};
  std::mt19937_64 rng(seed);
  std::string text;
  for (size_t w = 0; w < words; w++) {
    const size_t len = 1 + rng() % 6;
    for (size_t i = 0; i < len; i++) text += letters[rng() % letters.size()];
    text += gaps[rng() % gaps.size()];
  }
  return text;
}

// (std::ostringstream rather than operator+ on strings: GCC 12 -O3 warns falsely on the latter,
// -Wrestrict)
std::string show_merge(const Merge& m) {
  std::ostringstream s;
  s << "(" << lesson::quoted(m.first) << ", " << lesson::quoted(m.second) << ")";
  return s.str();
}

std::unique_ptr<llm::Tokenizer> reference_tokenizer(const llm::BpeVocabulary& vocab,
                                                    const std::string& tag) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("lesson02_test_" + tag + "_" + std::to_string(::getpid()));
  llm::write_gpt2_files(vocab, dir);
  auto tokenizer = llm::make_gpt2_tokenizer(dir / "encoder.json", dir / "vocab.bpe", false);
  fs::remove_all(dir);
  return tokenizer;
}

void expect_ids(const std::string& what, const llm::BpeVocabulary& vocab,
                const std::vector<int32_t>& got, const std::vector<int32_t>& want) {
  expect_equal(what, got, want, [&](int32_t id) {
    std::ostringstream s;
    s << id << " ";
    if (id >= 0 && id < int32_t(vocab.tokens.size()))
      s << lesson::quoted(vocab.tokens[id]);
    else
      s << "(out of range)";
    return s.str();
  });
}

}  // namespace

TEST_CASE("train_bpe_merges on random text: every merge, in order, as llm::train_bpe makes them") {
  for (uint64_t seed : {1, 2}) {
    const std::string text = random_text(400, seed);
    expect_equal("train_bpe_merges(random text, seed " + std::to_string(seed) + ", vocab 320)",
                 train_bpe_merges(text, 320), llm::train_bpe({text}, 320, 1).merges, show_merge);
  }
  // edge cases: overlapping pairs merge left to right; the vocabulary can be full before any merge;
  // training stops when no pair is left
  expect_equal("train_bpe_merges(\"aaaaa aaa\", 300)", train_bpe_merges("aaaaa aaa", 300),
               llm::train_bpe({"aaaaa aaa"}, 300, 1).merges, show_merge);
  expect_equal("train_bpe_merges(\"hello\", 257)", train_bpe_merges("hello", 257), {}, show_merge);
}

TEST_CASE("train_bpe_merges on 60 kB of tinyshakespeare (vocab 350)") {
  const std::string text = lesson::read_tinyshakespeare(60000);
  expect_equal("train_bpe_merges(tinyshakespeare[:60000], 350)", train_bpe_merges(text, 350),
               llm::train_bpe({text}, 350, 1).merges, show_merge);
}

TEST_CASE("bpe_encode: ids identical to the GPT-2 tokenizer's") {
  const std::string shakespeare = lesson::read_tinyshakespeare(120000);
  const llm::BpeVocabulary vocab =
      llm::train_bpe({std::string_view(shakespeare).substr(0, 100000)}, 400, 1);
  const auto reference = reference_tokenizer(vocab, "encode");
  const std::string unseen = shakespeare.substr(100000);  // text the merges were not trained on
  expect_ids("bpe_encode(tinyshakespeare[100000:120000])", vocab, bpe_encode(vocab, unseen),
             reference->encode(unseen));
  const std::string text = random_text(300, 3) + "\xf0\x9f\x98\x80 \t\t  x";
  expect_ids("bpe_encode(random text)", vocab, bpe_encode(vocab, text), reference->encode(text));
  // edge cases: the empty text; a run of one letter (merges by rank, left to right)
  expect_ids("bpe_encode(\"\")", vocab, bpe_encode(vocab, ""), {});
  expect_ids("bpe_encode(\"eeeeeee\")", vocab, bpe_encode(vocab, "eeeeeee"),
             reference->encode("eeeeeee"));
}

TEST_CASE("bpe_decode: back to the exact bytes") {
  const std::string shakespeare = lesson::read_tinyshakespeare(50000);
  const llm::BpeVocabulary vocab = llm::train_bpe({shakespeare}, 300, 1);
  const auto reference = reference_tokenizer(vocab, "decode");
  const std::string text = random_text(200, 4);
  const std::vector<int32_t> ids = reference->encode(text);
  lesson::expect_same_text("bpe_decode(ids of a random text)", bpe_decode(vocab, ids), text);
  const std::vector<int32_t> some = {0, 1, 255, 256,
                                     299};  // single bytes, merged tokens, <|endoftext|>
  lesson::expect_same_text("bpe_decode({0, 1, 255, 256, 299})", bpe_decode(vocab, some),
                           reference->decode(some));
}
