#pragma once
// defines: llm::PrepareOptions, llm::PrepareSummary, llm::read_documents, llm::prepare_dataset
//
// What `glassbox tokenize` does: text files -> tokenizer -> llm.c token shards +
// glassbox_tokenizer.json.
//   1. read the documents: each text file is one document, each line of a .jsonl file is one
//      document (its "text" field); a directory stands for all files under it, recursively, sorted;
//   2. build the tokenizer (char: the vocabulary of ALL the documents, so val never meets an
//   unknown
//      character; byte; gpt2: from encoder.json + vocab.bpe);
//   3. encode every document and concatenate; when the tokenizer has an end-of-text token it goes
//      BEFORE each document, as llm.c's data scripts do, so every document starts after an eot;
//   4. split the stream: the LAST val_fraction of the tokens is validation (nanoGPT's
//      shakespeare_char takes data[:int(n*0.9)] as train), the rest train;
//   5. write DIR/train_000000.bin, ... and DIR/val_000000.bin, ... of at most shard_size tokens
//      each (older train_*.bin / val_*.bin in DIR are removed first), and save the tokenizer in
//      DIR.
// Everything is held in memory (text and tokens): fine up to a few GB of text.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace llm {

struct PrepareOptions {
  std::string tokenizer = "char";             // "char", "byte" or "gpt2"
  std::vector<std::filesystem::path> inputs;  // text files, .jsonl files or directories
  std::filesystem::path out_dir;
  double val_fraction = 0.1;                                            // in [0, 1)
  int64_t shard_size = 100'000'000;                                     // tokens per shard
  std::filesystem::path gpt2_encoder = "data/cache/gpt2/encoder.json";  // for tokenizer "gpt2"
  std::filesystem::path gpt2_vocab_bpe = "data/cache/gpt2/vocab.bpe";
  bool progress = true;  // progress lines (MB/s) on stdout
};

struct PrepareSummary {
  std::string tokenizer;
  int vocab_size = 0;
  int64_t documents = 0;
  int64_t input_bytes = 0;
  int64_t train_tokens = 0, val_tokens = 0;
  std::vector<std::filesystem::path> train_shards, val_shards;
};

// The documents of the inputs, in order (see step 1 above). Throws llm::Error naming a missing
// input, an unreadable file, or a .jsonl line that is not JSON or has no "text" string.
std::vector<std::string> read_documents(const std::vector<std::filesystem::path>& inputs);

PrepareSummary prepare_dataset(const PrepareOptions& options);

}  // namespace llm
