// glassbox convert: weights between llm.c's model file and checkpoint directories.
//
//   glassbox convert --from gpt2_124M.bin --to ckpt/gpt2     llm.c .bin -> glassbox checkpoint
//                    [--gpt2-tokenizer data/cache/gpt2 | --tokenizer-from DIR]
//   glassbox convert --from ckpt/gpt2 --to gpt2_124M.bin     glassbox or HF directory -> llm.c .bin
//   glassbox convert --from hf/gpt2 --to ckpt/gpt2           HF directory -> glassbox checkpoint
//   glassbox convert --from hf/smollm2 --to ckpt/smollm2     HF Llama directory -> the same layout
// A --to path ending in ".bin" is an llm.c file (fp32, version 3; GPT-2 models only); anything
// else is a directory: GPT-2's layout, or LlamaForCausalLM's for a Llama-style model
// (llm/io/hf_llama.hpp). A --from path that is a file is an llm.c file (fp32 or bf16); a directory
// is a glassbox checkpoint, a Hugging Face GPT-2 directory (config.json + model.safetensors,
// vocab.json + merges.txt) or a Hugging Face Llama directory (config.json + model.safetensors,
// tokenizer.json).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "llm/cli/commands.hpp"
#include "llm/core/error.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/io/llmc_checkpoint.hpp"
#include "llm/tokenizer/gpt2_tokenizer.hpp"
#include "llm/tokenizer/tokenizer.hpp"

namespace llm::cli {

namespace {

namespace fs = std::filesystem;

struct ConvertOptions {
  std::string from, to;
  std::string tokenizer_from;                      // a directory load_tokenizer() reads
  std::string gpt2_tokenizer = "data/cache/gpt2";  // encoder.json + vocab.bpe, for llm.c input
};

// The tokenizer to save next to the weights of a directory output.
std::unique_ptr<Tokenizer> output_tokenizer(const ConvertOptions& o, bool from_llmc) {
  if (!o.tokenizer_from.empty()) return load_tokenizer(o.tokenizer_from);
  if (!from_llmc) return load_tokenizer(o.from);
  // An llm.c file carries no tokenizer; its models are GPT-2's.
  const fs::path dir = o.gpt2_tokenizer;
  check(
      fs::exists(dir / "encoder.json") && fs::exists(dir / "vocab.bpe"),
      "convert: " + o.from + " carries no tokenizer and " + dir.string() +
          " has no encoder.json + vocab.bpe (run data/fetch.sh gpt2, or give --gpt2-tokenizer DIR "
          "or --tokenizer-from DIR)");
  return make_gpt2_tokenizer(dir / "encoder.json", dir / "vocab.bpe", /*allow_special=*/true);
}

void run_convert(const ConvertOptions& o) {
  std::error_code ec;
  check(fs::exists(o.from, ec), "convert: --from " + o.from + ": no such file or directory");
  check(fs::weakly_canonical(o.from, ec) != fs::weakly_canonical(o.to, ec),
        "convert: --from and --to are the same path");
  const bool from_llmc = !fs::is_directory(o.from, ec);
  const bool to_llmc = fs::path(o.to).extension() == ".bin";

  std::string from_kind;
  GPTConfig config;
  if (from_llmc) {
    const LlmcHeader header = read_llmc_header(o.from);
    config = header.config;
    from_kind = header.version == kLlmcModelVersionF32 ? "llm.c fp32" : "llm.c bf16";
  } else {
    config = read_checkpoint_config(o.from);
    from_kind = "checkpoint directory";
  }
  // Resolve the tokenizer before the (slow) weight conversion, so a missing one fails fast.
  std::unique_ptr<Tokenizer> tokenizer = to_llmc ? nullptr : output_tokenizer(o, from_llmc);
  if (tokenizer)
    check(tokenizer->vocab_size() <= config.vocab_size,
          "convert: the tokenizer has " + std::to_string(tokenizer->vocab_size()) +
              " tokens, more than the model's vocabulary (" + std::to_string(config.vocab_size) +
              ")");

  std::unique_ptr<Backend> backend = make_cpu_backend(DType::f32);
  GPT model(config, *backend);
  if (from_llmc)
    load_llmc_weights(o.from, model);
  else
    load_model_weights(o.from, model);

  if (to_llmc)
    write_llmc_checkpoint(o.to, model);
  else
    save_model_checkpoint(o.to, model, tokenizer.get());
  std::printf(
      "convert: %s (%s: %d layers, %d heads, %d channels, max_seq_len %d, vocab %d, %.1fM "
      "parameters) -> %s (%s)\n",
      o.from.c_str(), from_kind.c_str(), config.n_layer, config.n_head, config.n_embd,
      config.max_seq_len, config.vocab_size, double(count_parameters(config)) / 1e6, o.to.c_str(),
      to_llmc ? "llm.c fp32" : "glassbox checkpoint");
}

}  // namespace

void register_convert(CLI::App& app) {
  auto o = std::make_shared<ConvertOptions>();
  CLI::App* cmd = app.add_subcommand(
      "convert",
      "Convert GPT-2 weights: llm.c .bin <-> checkpoint directory, Hugging Face -> glassbox");
  cmd->add_option("--from", o->from,
                  "llm.c .bin file, glassbox checkpoint or Hugging Face GPT-2 directory")
      ->required();
  cmd->add_option("--to", o->to,
                  "Output: a path ending in .bin is an llm.c file, else a checkpoint directory")
      ->required();
  cmd->add_option(
      "--tokenizer-from", o->tokenizer_from,
      "Directory whose tokenizer to save with a directory output (default: --from's, or "
      "GPT-2's for an llm.c file)");
  cmd->add_option("--gpt2-tokenizer", o->gpt2_tokenizer,
                  "Directory with GPT-2's encoder.json + vocab.bpe, for an llm.c --from")
      ->capture_default_str();
  cmd->callback([o] { run_convert(*o); });
}

}  // namespace llm::cli
