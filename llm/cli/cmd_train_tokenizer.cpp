// glassbox train-tokenizer: learn GPT-2-style byte-level BPE merges from text files.
//
//   glassbox train-tokenizer --vocab-size 4096 --input data/tinyshakespeare/input.txt --out tok/
// writes tok/encoder.json, tok/vocab.bpe (OpenAI's formats) and tok/glassbox_tokenizer.json, so the
// result loads with load_tokenizer(tok/) like GPT-2's own files. See llm/tokenizer/bpe_trainer.hpp.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "llm/cli/commands.hpp"
#include "llm/core/error.hpp"
#include "llm/tokenizer/bpe_trainer.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"

namespace llm::cli {

namespace {

struct TrainTokenizerOptions {
  int vocab_size = 4096;
  std::vector<std::string> inputs;
  std::string out;
  int threads = 0;
};

void run_train_tokenizer(const TrainTokenizerOptions& opt) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  std::vector<std::string> texts;
  size_t bytes = 0;
  for (const std::string& path : opt.inputs) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open input file");
    std::ostringstream ss;
    ss << in.rdbuf();
    texts.push_back(ss.str());
    bytes += texts.back().size();
  }
  std::vector<std::string_view> views(texts.begin(), texts.end());
  auto t1 = Clock::now();
  BpeVocabulary vocab = train_bpe(views, opt.vocab_size, opt.threads);
  auto t2 = Clock::now();
  write_gpt2_files(vocab, opt.out);
  std::filesystem::path dir = opt.out;
  auto tok = make_gpt2_tokenizer(dir / "encoder.json", dir / "vocab.bpe", true);
  tok->save(dir);  // adds glassbox_tokenizer.json
  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  std::printf("train-tokenizer: %zu file(s), %.2f MB read in %.2f s\n", texts.size(), bytes / 1e6,
              secs(t0, t1));
  std::printf("train-tokenizer: %zu tokens (%zu merges) learned in %.2f s\n", vocab.tokens.size(),
              vocab.merges.size(), secs(t1, t2));
  std::printf(
      "train-tokenizer: wrote %s/{encoder.json,vocab.bpe,glassbox_tokenizer.json}; total %.2f s\n",
      opt.out.c_str(), secs(t0, Clock::now()));
}

}  // namespace

void register_train_tokenizer(CLI::App& app) {
  auto opt = std::make_shared<TrainTokenizerOptions>();
  CLI::App* cmd = app.add_subcommand(
      "train-tokenizer",
      "Learn GPT-2-style byte-level BPE merges (writes encoder.json + vocab.bpe)");
  cmd->add_option("--vocab-size", opt->vocab_size,
                  "Vocabulary size: 256 bytes + merges + <|endoftext|>")
      ->check(CLI::Range(257, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--input", opt->inputs,
                  "Training text files (UTF-8; <|endoftext|> separates documents)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", opt->out, "Output directory")->required();
  cmd->add_option("--threads", opt->threads, "Pre-tokenization threads (0: all cores)")
      ->capture_default_str();
  cmd->callback([opt] { run_train_tokenizer(*opt); });
}

}  // namespace llm::cli
