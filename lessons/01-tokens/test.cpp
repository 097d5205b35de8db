// Lesson 01 tests: your tokenizers against the library's (llm::CharTokenizer, llm::ByteTokenizer),
// your bigram model against a direct count and the library's cross-entropy, on random texts.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "common/check.hpp"
#include "common/data.hpp"
#include "lesson.hpp"
#include "llm/backend/cpu/classifier.hpp"
#include "llm/tokenizer/byte_tokenizer.hpp"
#include "llm/tokenizer/char_tokenizer.hpp"

using namespace lesson01;
using lesson::expect_close;
using lesson::expect_equal;

namespace {

// A random UTF-8 text of n characters drawn from ASCII letters, punctuation, newlines and a few
// multi-byte characters (2, 3 and 4 bytes long in UTF-8).
std::string random_text(size_t n, uint64_t seed) {
  const std::vector<std::string> alphabet = {"a",
                                             "b",
                                             "c",
                                             "x",
                                             "y",
                                             "Z",
                                             " ",
                                             " ",
                                             "\n",
                                             ".",
                                             "'",
                                             "\xc3\xa9" /* é */,
                                             "\xc3\xbc" /* ü */,
                                             "\xe2\x86\x92" /* → */,
                                             "\xf0\x9f\x98\x80" /* 😀 */};
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::string text;
  for (size_t i = 0; i < n; i++) text += alphabet[pick(rng)];
  return text;
}

std::string show_char(char32_t c) {
  std::string s;
  llm::utf8_append(s, c);
  char code[16];  // U+ notation is hexadecimal, at least four digits: U+00E9 for 'é'
  std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
  return lesson::quoted(s) + " (" + code + ")";
}

void expect_chars(const std::string& what, const std::vector<char32_t>& got,
                  const std::vector<char32_t>& want) {
  expect_equal(what, got, want, show_char);
}

std::vector<double> naive_counts(const std::vector<int32_t>& ids, int V) {
  std::map<std::pair<int, int>, int> seen;
  for (size_t i = 1; i < ids.size(); i++) seen[{ids[i - 1], ids[i]}]++;
  std::vector<double> counts(size_t(V) * V, 0.0);
  for (auto& [pair, n] : seen) counts[size_t(pair.first) * V + pair.second] = n;
  return counts;
}

double reference_loss(const std::vector<double>& P, int V, const std::vector<int32_t>& ids) {
  const int64_t N = int64_t(ids.size()) - 1;
  std::vector<double> logits(size_t(N) * V), losses(N);
  for (int64_t i = 0; i < N; i++)
    for (int b = 0; b < V; b++) logits[size_t(i) * V + b] = std::log(P[size_t(ids[i]) * V + b]);
  const std::vector<int32_t> targets(ids.begin() + 1, ids.end());
  llm::cpu::classifier_forward<double>(losses.data(), logits.data(), targets.data(), 0.0, N, V, V);
  double sum = 0;
  for (double l : losses) sum += l;
  return sum / double(N);
}

}  // namespace

TEST_CASE("char_vocabulary: the sorted distinct characters") {
  for (uint64_t seed : {1, 2, 3}) {
    const std::string text = random_text(300, seed);
    expect_chars("char_vocabulary(random text, seed " + std::to_string(seed) + ")",
                 char_vocabulary(text), llm::CharTokenizer::from_corpus(text).chars());
  }
  // edge cases: one repeated character; code points sort by value, not by UTF-8 byte length
  expect_chars("char_vocabulary(\"aaaa\")", char_vocabulary("aaaa"), {U'a'});
  expect_chars(
      "char_vocabulary(\"\xf0\x9f\x98\x80z\xc3\xa9"
      "a\")",
      char_vocabulary("\xf0\x9f\x98\x80z\xc3\xa9"
                      "a"),
      {U'a', U'z', U'\u00e9', U'\U0001F600'});
  expect_chars("char_vocabulary(\"\")", char_vocabulary(""), {});
}

TEST_CASE("char_encode and char_decode: ids are positions in the vocabulary") {
  for (uint64_t seed : {4, 5}) {
    const std::string text = random_text(400, seed);
    const std::vector<char32_t> vocab = llm::CharTokenizer::from_corpus(text).chars();
    const std::vector<int32_t> want = llm::CharTokenizer(vocab).encode(text);
    const std::vector<int32_t> got = char_encode(vocab, text);
    expect_equal("char_encode(random text, seed " + std::to_string(seed) + ")", got, want);
    lesson::expect_same_text("char_decode(ids of the text)", char_decode(vocab, want), text);
  }
  // edge case: a vocabulary larger than the text needs; the first and last ids
  const std::vector<char32_t> vocab = {U'\n', U' ', U'a', U'b', U'\u00e9'};
  expect_equal("char_encode(\"\xc3\xa9 \\n\")", char_encode(vocab, "\xc3\xa9 \n"), {4, 1, 0});
  lesson::expect_same_text("char_decode({4, 2, 3})", char_decode(vocab, {4, 2, 3}),
                           "\xc3\xa9"
                           "ab");
}

TEST_CASE("byte_encode and byte_decode: one id per byte, in [0, 256)") {
  std::mt19937_64 rng(6);
  std::string bytes(500, '\0');
  for (char& c : bytes) c = char(rng() & 0xff);  // every byte value, including 0 and >= 128
  expect_equal("byte_encode(random bytes)", byte_encode(bytes), llm::ByteTokenizer().encode(bytes));
  const std::vector<int32_t> ids = llm::ByteTokenizer().encode(bytes);
  lesson::expect_same_text("byte_decode(ids of random bytes)", byte_decode(ids), bytes);
  // edge case: a non-ASCII character is several bytes, each >= 128 (not negative!)
  expect_equal("byte_encode(\"\xc3\xa9\")", byte_encode("\xc3\xa9"), {195, 169});
}

TEST_CASE("bigram_counts: how often b follows a") {
  const int V = 7;
  const std::vector<int32_t> ids = lesson::randint(300, 0, V, 7);
  const std::vector<double> counts = bigram_counts(ids, V);
  expect_close("bigram_counts(300 random ids, V = 7)", counts, naive_counts(ids, V),
               {{"a", V}, {"b", V}});
  // edge cases: repeated token; the last id has no successor
  expect_close("bigram_counts({2, 2, 2}, V = 3)", bigram_counts({2, 2, 2}, 3),
               {0, 0, 0, 0, 0, 0, 0, 0, 2}, {{"a", 3}, {"b", 3}});
  expect_close("bigram_counts({1}, V = 2)", bigram_counts({1}, 2), {0, 0, 0, 0},
               {{"a", 2}, {"b", 2}});
}

TEST_CASE("bigram_probabilities: smoothed, row-normalised counts") {
  const int V = 6;
  std::vector<double> counts(V * V);
  const std::vector<int32_t> r = lesson::randint(V * V, 0, 9, 8);
  for (int i = 0; i < V * V; i++) counts[i] = r[i];
  for (int b = 0; b < V; b++) counts[2 * V + b] = 0;  // a token never followed by anything
  for (double alpha : {1.0, 0.1}) {
    std::vector<double> want(V * V);
    for (int a = 0; a < V; a++) {
      double row = 0;
      for (int b = 0; b < V; b++) row += counts[a * V + b];
      for (int b = 0; b < V; b++) want[a * V + b] = (counts[a * V + b] + alpha) / (row + V * alpha);
    }
    expect_close("bigram_probabilities(alpha = " + lesson::num(alpha) + ")",
                 bigram_probabilities(counts, V, alpha), want, {{"a", V}, {"b", V}});
  }
  // edge case: an all-zero row becomes uniform, 1/V
  expect_close("bigram_probabilities(zero counts)[0, 0]",
               bigram_probabilities(std::vector<double>(4, 0.0), 2, 1.0)[0], 0.5);
}

TEST_CASE("bigram_loss: mean -log P(next | current)") {
  const int V = 5;
  std::vector<double> P = lesson::randn(V * V, 9);
  for (int a = 0; a < V; a++) {  // rows: softmax of random numbers
    double sum = 0;
    for (int b = 0; b < V; b++) sum += P[a * V + b] = std::exp(P[a * V + b]);
    for (int b = 0; b < V; b++) P[a * V + b] /= sum;
  }
  const std::vector<int32_t> ids = lesson::randint(200, 0, V, 10);
  expect_close("bigram_loss(random P, 200 random ids)", bigram_loss(P, V, ids),
               reference_loss(P, V, ids));
  // edge case: the uniform model's loss is exactly ln V, whatever the text
  expect_close("bigram_loss(uniform P, V = 5)",
               bigram_loss(std::vector<double>(V * V, 0.2), V, ids), std::log(5.0));
}

TEST_CASE("the whole pipeline on tinyshakespeare: 65 characters, a bigram loss below ln 65") {
  const std::string text = lesson::read_tinyshakespeare();
  const std::vector<char32_t> vocab = char_vocabulary(text);
  CHECK_MESSAGE(vocab.size() == 65,
                "tinyshakespeare has 65 distinct characters, you found " << vocab.size());
  const std::vector<char32_t> ref_vocab = llm::CharTokenizer::from_corpus(text).chars();
  const std::vector<int32_t> ids = llm::CharTokenizer(ref_vocab).encode(text);
  const int V = int(ref_vocab.size());
  const size_t split = ids.size() * 9 / 10;
  const std::vector<int32_t> train(ids.begin(), ids.begin() + split),
      val(ids.begin() + split, ids.end());
  std::vector<double> want_counts = naive_counts(train, V);
  std::vector<double> want_P(size_t(V) * V);
  for (int a = 0; a < V; a++) {
    double row = 0;
    for (int b = 0; b < V; b++) row += want_counts[a * V + b];
    for (int b = 0; b < V; b++) want_P[a * V + b] = (want_counts[a * V + b] + 1.0) / (row + V);
  }
  const double want = reference_loss(want_P, V, val);
  const double got = bigram_loss(bigram_probabilities(bigram_counts(train, V), V, 1.0), V, val);
  expect_close("validation loss of the bigram model", got, want, 1e-9);
  CHECK_MESSAGE(got < std::log(65.0) - 1.0,
                "the bigram loss " << got << " should be far below ln 65 = " << std::log(65.0));
}
