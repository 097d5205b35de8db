// implements: llm::read_documents, llm::prepare_dataset (see prepare.hpp for the steps).
#include "llm/data/prepare.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>

#include "llm/core/clock.hpp"
#include "llm/core/error.hpp"
#include "llm/data/shard.hpp"
#include "llm/data/shard_tokenizer.hpp"
#include "llm/tokenizer/byte_tokenizer.hpp"
#include "llm/tokenizer/char_tokenizer.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"  // defines: make_gpt2_tokenizer, Gpt2Tokenizer

namespace llm {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  check(bool(in), "input " + path.string() + ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  check(!in.bad(), "input " + path.string() + ": read failed");
  return std::move(text).str();
}

// One document per non-empty line: the line's "text" field.
void read_jsonl(const fs::path& path, std::vector<std::string>& docs) {
  std::ifstream in(path, std::ios::binary);
  check(bool(in), "input " + path.string() + ": cannot open for reading");
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = "input " + path.string() + " line " + std::to_string(line_no) + ": ";
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(where + "not valid JSON (" + e.what() + ")");
    }
    check(record.is_object() && record.contains("text") && record["text"].is_string(),
          where + "no \"text\" string field");
    docs.push_back(record["text"].get<std::string>());
  }
}

void read_input_file(const fs::path& path, std::vector<std::string>& docs) {
  if (path.extension() == ".jsonl")
    read_jsonl(path, docs);
  else
    docs.push_back(read_file(path));
}

std::string megabytes(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  return buf;
}

std::unique_ptr<Tokenizer> make_tokenizer(const PrepareOptions& options,
                                          const std::vector<std::string>& docs, bool for_encoding) {
  if (options.tokenizer == "char") {
    // The vocabulary of all documents together (a character is a character in any of them).
    std::string all;
    size_t total = 0;
    for (const auto& d : docs) total += d.size();
    all.reserve(total);
    for (const auto& d : docs) all += d;
    return std::make_unique<CharTokenizer>(CharTokenizer::from_corpus(all));
  }
  if (options.tokenizer == "byte") return std::make_unique<ByteTokenizer>();
  if (options.tokenizer == "gpt2") {
    // Documents are encoded as ordinary text (a literal "<|endoftext|>" inside one stays text, like
    // llm.c's encode_ordinary); the tokenizer saved next to the shards allows the special token.
    return make_gpt2_tokenizer(options.gpt2_encoder, options.gpt2_vocab_bpe,
                               /*allow_special=*/!for_encoding);
  }
  throw Error("unknown tokenizer '" + options.tokenizer + "' (expected char, byte or gpt2)");
}

// Writes tokens[begin, end) as prefix_000000.bin, ... of at most shard_size tokens each, each
// stamped with the tokenizer.
std::vector<fs::path> write_shards(const fs::path& dir, const std::string& prefix,
                                   const std::vector<int32_t>& tokens, size_t begin, size_t end,
                                   int64_t shard_size, const TokenizerStamp& tokenizer) {
  std::vector<fs::path> paths;
  for (size_t start = begin; start < end; start += static_cast<size_t>(shard_size)) {
    const size_t stop = std::min(end, start + static_cast<size_t>(shard_size));
    char name[64];
    std::snprintf(name, sizeof name, "%s_%06zu.bin", prefix.c_str(), paths.size());
    paths.push_back(dir / name);
    write_shard(paths.back(),
                std::vector<int32_t>(tokens.begin() + static_cast<std::ptrdiff_t>(start),
                                     tokens.begin() + static_cast<std::ptrdiff_t>(stop)),
                tokenizer);
  }
  return paths;
}

}  // namespace

std::vector<std::string> read_documents(const std::vector<fs::path>& inputs) {
  check(!inputs.empty(), "no input files given");
  std::vector<std::string> docs;
  for (const fs::path& input : inputs) {
    std::error_code ec;
    if (fs::is_directory(input, ec)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::recursive_directory_iterator(input))
        if (entry.is_regular_file()) files.push_back(entry.path());
      std::sort(files.begin(), files.end());
      check(!files.empty(), "input directory " + input.string() + " holds no files");
      for (const auto& file : files) read_input_file(file, docs);
    } else {
      check(fs::is_regular_file(input, ec),
            "input " + input.string() + ": no such file or directory");
      read_input_file(input, docs);
    }
  }
  return docs;
}

PrepareSummary prepare_dataset(const PrepareOptions& options) {
  using Clock = std::chrono::steady_clock;
  check(options.val_fraction >= 0 && options.val_fraction < 1,
        "--val-fraction must be in [0, 1), got " + std::to_string(options.val_fraction));
  check(options.shard_size > 0, "--shard-size must be positive");
  check(!options.out_dir.empty(), "no output directory given (--out)");

  const auto start = Clock::now();
  const std::vector<std::string> docs = read_documents(options.inputs);
  PrepareSummary summary;
  summary.documents = int64_t(docs.size());
  for (const auto& d : docs) summary.input_bytes += int64_t(d.size());
  if (options.progress)
    std::printf("read %lld documents, %s\n", static_cast<long long>(docs.size()),
                megabytes(double(summary.input_bytes)).c_str());

  const std::unique_ptr<Tokenizer> tokenizer = make_tokenizer(options, docs, /*for_encoding=*/true);
  const std::optional<int32_t> eot = tokenizer->eot_token();

  // Encode in chunks of about 16 MB of text so progress can be shown; the GPT-2 tokenizer encodes
  // the documents of a chunk in parallel.
  std::vector<int32_t> tokens;
  tokens.reserve(static_cast<size_t>(summary.input_bytes / (options.tokenizer == "gpt2" ? 3 : 1)) +
                 docs.size());
  const auto encode_start = Clock::now();
  auto last_print = encode_start;
  int64_t done_bytes = 0;
  for (size_t first = 0; first < docs.size();) {
    size_t last = first;
    int64_t chunk_bytes = 0;
    while (last < docs.size() && (last == first || chunk_bytes < (16 << 20)))
      chunk_bytes += int64_t(docs[last++].size());
    std::vector<std::vector<int32_t>> encoded;
    if (const auto* gpt2 = dynamic_cast<const Gpt2Tokenizer*>(tokenizer.get())) {
      std::vector<std::string_view> views(docs.begin() + static_cast<std::ptrdiff_t>(first),
                                          docs.begin() + static_cast<std::ptrdiff_t>(last));
      encoded = gpt2->encode_batch(views, /*threads=*/0);
    }
    if (encoded.empty())
      for (size_t i = first; i < last; ++i) encoded.push_back(tokenizer->encode(docs[i]));
    for (const auto& ids : encoded) {
      if (eot) tokens.push_back(*eot);
      tokens.insert(tokens.end(), ids.begin(), ids.end());
    }
    done_bytes += chunk_bytes;
    first = last;
    const auto now = Clock::now();
    if (options.progress && (now - last_print > std::chrono::seconds(1) || first == docs.size())) {
      const double seconds = std::chrono::duration<double>(now - encode_start).count();
      std::printf(
          "tokenized %s / %s, %lld tokens, %.1f MB/s\n", megabytes(double(done_bytes)).c_str(),
          megabytes(double(summary.input_bytes)).c_str(), static_cast<long long>(tokens.size()),
          seconds > 0 ? double(done_bytes) / 1e6 / seconds : 0.0);
      std::fflush(stdout);
      last_print = now;
    }
  }

  // The last val_fraction of the stream is validation: nanoGPT's train = data[:int(n*0.9)].
  const size_t n = tokens.size();
  const size_t n_train = static_cast<size_t>(double(n) * (1.0 - options.val_fraction));
  check(n_train > 0,
        "the inputs give no training tokens (" + std::to_string(n) + " tokens in all)");

  // Replace any shards of an earlier run, so a data pattern like DIR/train_*.bin sees only these.
  fs::create_directories(options.out_dir);
  for (const auto& entry : fs::directory_iterator(options.out_dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && entry.path().extension() == ".bin" &&
        (name.rfind("train_", 0) == 0 || name.rfind("val_", 0) == 0))
      fs::remove(entry.path());
  }
  // Each shard records the tokenizer (llm/data/shard_tokenizer.hpp).
  const TokenizerStamp stamp = tokenizer_stamp(*tokenizer);
  summary.train_shards =
      write_shards(options.out_dir, "train", tokens, 0, n_train, options.shard_size, stamp);
  summary.val_shards =
      write_shards(options.out_dir, "val", tokens, n_train, n, options.shard_size, stamp);
  summary.train_tokens = int64_t(n_train);
  summary.val_tokens = int64_t(n - n_train);

  // Save the tokenizer the shards were made with (for gpt2: the one that allows <|endoftext|>).
  if (options.tokenizer == "gpt2")
    make_tokenizer(options, docs, /*for_encoding=*/false)->save(options.out_dir);
  else
    tokenizer->save(options.out_dir);
  summary.tokenizer = tokenizer->name();
  summary.vocab_size = tokenizer->vocab_size();

  if (options.progress) {
    const double seconds = seconds_since(start);
    std::printf(
        "wrote %zu train shard(s), %zu val shard(s) and glassbox_tokenizer.json to %s in %.1f s\n",
        summary.train_shards.size(), summary.val_shards.size(), options.out_dir.string().c_str(),
        seconds);
    std::printf("tokenizer %s, vocab size %d; train tokens %lld, val tokens %lld\n",
                summary.tokenizer.c_str(), summary.vocab_size,
                static_cast<long long>(summary.train_tokens),
                static_cast<long long>(summary.val_tokens));
  }
  return summary;
}

}  // namespace llm
