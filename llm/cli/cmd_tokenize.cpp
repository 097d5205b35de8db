// glassbox tokenize: text -> llm.c token shards + glassbox_tokenizer.json (the work is
// llm::prepare_dataset).
//
//   glassbox tokenize --tokenizer char --input data/cache/tinyshakespeare/input.txt
//                     --out data/cache/shakespeare_char
#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "llm/cli/commands.hpp"
#include "llm/data/prepare.hpp"

namespace llm::cli {

void register_tokenize(CLI::App& app) {
  auto options = std::make_shared<PrepareOptions>();
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto out_dir = std::make_shared<std::string>();
  auto encoder = std::make_shared<std::string>(options->gpt2_encoder.string());
  auto vocab_bpe = std::make_shared<std::string>(options->gpt2_vocab_bpe.string());

  CLI::App* cmd = app.add_subcommand(
      "tokenize",
      "Tokenize text files into llm.c token shards (DIR/train_*.bin, DIR/val_*.bin) "
      "and save the tokenizer into DIR");
  cmd->add_option("--tokenizer", options->tokenizer, "char | byte | gpt2")
      ->check(CLI::IsMember({"char", "byte", "gpt2"}))
      ->capture_default_str();
  cmd->add_option("--input", *inputs,
                  "Text files, .jsonl files (one document per line, its \"text\" field) or "
                  "directories (all files under them, sorted)")
      ->required();
  cmd->add_option("--out", *out_dir, "Output directory for the shards and glassbox_tokenizer.json")
      ->required();
  cmd->add_option("--val-fraction", options->val_fraction,
                  "Fraction of the tokens, taken from the END of the stream, kept for validation")
      ->capture_default_str();
  cmd->add_option("--shard-size", options->shard_size, "Tokens per shard")->capture_default_str();
  cmd->add_option("--encoder", *encoder, "GPT-2 encoder.json (tokenizer gpt2)")
      ->capture_default_str();
  cmd->add_option("--vocab-bpe", *vocab_bpe, "GPT-2 vocab.bpe (tokenizer gpt2)")
      ->capture_default_str();

  cmd->callback([options, inputs, out_dir, encoder, vocab_bpe] {
    options->inputs.assign(inputs->begin(), inputs->end());
    options->out_dir = *out_dir;
    options->gpt2_encoder = *encoder;
    options->gpt2_vocab_bpe = *vocab_bpe;
    prepare_dataset(*options);
  });
}

}  // namespace llm::cli
