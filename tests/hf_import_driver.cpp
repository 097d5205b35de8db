// hf_import_driver: glassbox's half of tests/reference/hf_import_check.py.
//
//   hf_import_driver --model PATH --tokens 1,2,3 --out logits.safetensors [--encode TEXT]
//
// PATH is a checkpoint directory (glassbox or Hugging Face GPT-2) or an llm.c model file (.bin).
// Runs the f32 CPU model on the tokens (B = 1) and writes "logits" (T, Vp) as F32. With --encode,
// also prints the ids that the directory's tokenizer gives TEXT, as one line "ids: 1 2 3".
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "llm/core/error.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/io/llmc_checkpoint.hpp"
#include "llm/io/safetensors.hpp"
#include "llm/model/gpt.hpp"
#include "llm/tokenizer/tokenizer.hpp"

namespace fs = std::filesystem;
using namespace llm;

int main(int argc, char** argv) {
  std::string model_path, tokens_arg, out, encode;
  bool have_encode = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--model")
      model_path = argv[i + 1];
    else if (key == "--tokens")
      tokens_arg = argv[i + 1];
    else if (key == "--out")
      out = argv[i + 1];
    else if (key == "--encode")
      encode = argv[i + 1], have_encode = true;
    else
      return std::fprintf(stderr, "hf_import_driver: unknown option %s\n", key.c_str()), 2;
  }
  if (model_path.empty() || tokens_arg.empty() || out.empty())
    return std::fprintf(
               stderr,
               "usage: hf_import_driver --model PATH --tokens 1,2,3 --out FILE [--encode TEXT]\n"),
           2;
  try {
    std::vector<int32_t> tokens;
    for (size_t pos = 0; pos < tokens_arg.size();) {
      size_t comma = tokens_arg.find(',', pos);
      if (comma == std::string::npos) comma = tokens_arg.size();
      tokens.push_back(std::stoi(tokens_arg.substr(pos, comma - pos)));
      pos = comma + 1;
    }
    const bool llmc = !fs::is_directory(model_path);
    const GPTConfig config =
        llmc ? read_llmc_header(model_path).config : read_checkpoint_config(model_path);
    auto backend = make_cpu_backend(DType::f32);
    GPT model(config, *backend);
    if (llmc)
      load_llmc_weights(model_path, model);
    else
      load_model_weights(model_path, model);
    const int T = int(tokens.size());
    model.forward(tokens.data(), nullptr, 1, T);
    std::vector<float> logits(size_t(T) * config.padded_vocab_size());
    backend->copy_to_host(logits.data(), model.acts.logits);
    write_safetensors(out,
                      {safetensor_f32("logits", {T, config.padded_vocab_size()}, logits.data())});
    if (have_encode) {
      std::printf("ids:");
      for (int32_t id : load_tokenizer(model_path)->encode(encode)) std::printf(" %d", id);
      std::printf("\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hf_import_driver: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
