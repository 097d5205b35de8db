// Lesson 02, reference solution: the library's BPE trainer (llm::train_bpe) and GPT-2 tokenizer
// (llm::Gpt2Tokenizer, built from the files llm::write_gpt2_files writes).
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "lesson.hpp"

namespace lesson02 {

std::vector<Merge> train_bpe_merges(std::string_view text, int vocab_size) {
  return llm::train_bpe({text}, vocab_size, 1).merges;
}

namespace {
// The tokenizer a vocabulary defines: write encoder.json + vocab.bpe, load them back.
std::unique_ptr<llm::Tokenizer> tokenizer_of(const llm::BpeVocabulary& vocab) {
  namespace fs = std::filesystem;
  std::random_device seed;
  const fs::path dir = fs::temp_directory_path() / ("lesson02_" + std::to_string(seed()));
  llm::write_gpt2_files(vocab, dir);
  auto tokenizer = llm::make_gpt2_tokenizer(dir / "encoder.json", dir / "vocab.bpe", false);
  fs::remove_all(dir);
  return tokenizer;
}
}  // namespace

std::vector<int32_t> bpe_encode(const llm::BpeVocabulary& vocab, std::string_view text) {
  return tokenizer_of(vocab)->encode(text);
}

std::string bpe_decode(const llm::BpeVocabulary& vocab, const std::vector<int32_t>& ids) {
  return tokenizer_of(vocab)->decode(ids);
}

}  // namespace lesson02
