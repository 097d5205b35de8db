// Lesson 02's result: BPE merges learned by your trainer on 90% of tinyshakespeare, and the
// compression they give on the other 10% (bytes per token; 1.0 for the byte tokenizer).
#include <chrono>
#include <cstdio>

#include "common/data.hpp"
#include "lesson.hpp"

using namespace lesson02;

int main(int argc, char** argv) try {
  const int vocab_size = argc > 1 ? std::atoi(argv[1]) : 512;
  const std::string text = lesson::read_tinyshakespeare();
  const size_t split = text.size() * 9 / 10;
  const std::string_view train = std::string_view(text).substr(0, split),
                         val = std::string_view(text).substr(split);

  const auto start = std::chrono::steady_clock::now();
  const std::vector<Merge> merges = train_bpe_merges(train, vocab_size);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("trained %zu merges on %zu bytes in %.1f s (vocab %d)\n", merges.size(), train.size(),
              seconds, vocab_size);
  if (merges.empty()) {
    std::printf("(no merges: finish train_bpe_merges, see scripts/lesson 02)\n");
    return 1;
  }
  std::printf("the first merges:");
  for (size_t i = 0; i < 12 && i < merges.size(); i++) {
    std::string m = merges[i].first + merges[i].second;
    for (char& c : m)
      if (c == '\n') c = '~';
    std::printf(" [%s]", m.c_str());
  }
  std::printf("\n");

  // The vocabulary these merges define: 256 bytes, one token per distinct merge result,
  // <|endoftext|>.
  llm::BpeVocabulary vocab;
  for (int b = 0; b < 256; b++) vocab.tokens.push_back(std::string(1, char(b)));
  for (const Merge& m : merges) {
    const std::string t = m.first + m.second;
    bool seen = false;
    for (size_t i = 256; i < vocab.tokens.size() && !seen; i++) seen = vocab.tokens[i] == t;
    if (!seen) vocab.tokens.push_back(t);
  }
  vocab.tokens.push_back("<|endoftext|>");
  vocab.merges = merges;

  const std::vector<int32_t> ids = bpe_encode(vocab, val);
  const bool round_trip = bpe_decode(vocab, ids) == val;
  std::printf(
      "validation text: %zu bytes -> %zu tokens: %.3f bytes per token (decode gives the text back: "
      "%s)\n",
      val.size(), ids.size(), double(val.size()) / double(ids.size()), round_trip ? "yes" : "NO");
  const std::string line = "Before we proceed any further, hear me speak.";
  std::printf("\"%s\", token by token:\n  ", line.c_str());
  for (int32_t id : bpe_encode(vocab, line)) std::printf("|%s", vocab.tokens[id].c_str());
  std::printf("|\n");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "lesson 02: %s\n", e.what());
  return 1;
}
