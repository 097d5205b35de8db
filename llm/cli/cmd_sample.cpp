// glassbox sample: generate text from a checkpoint, streamed token by token, with a KV cache.
//
//   glassbox sample --ckpt runs/shakespeare_char/checkpoint --prompt "ROMEO:" --max-new-tokens 300
//   glassbox sample --ckpt ... --prompt "ROMEO:" --max-new-tokens 3 --top-probs 5
//
// --top-probs K prints, before each token is drawn, one line with the K most likely next tokens
// under the model's softmax at temperature 1 (whatever --temperature/--top-k/--top-p the draw
// uses):
//   step 0: "E" 17 0.412301  "O" 27 0.093310  ...  -> "E"
// each token as a C-escaped string, its id and its probability; the text follows the step lines.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "llm/cli/commands.hpp"
#include "llm/core/clock.hpp"
#include "llm/core/printable.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/model/decoder.hpp"
#include "llm/sample/sampling.hpp"
#include "llm/tokenizer/tokenizer.hpp"

namespace llm::cli {

namespace {

struct SampleOptions {
  std::string ckpt;
  std::string prompt;
  std::string device = "cpu";
  SamplingSettings sampling{0.8f, 200, 1.0f};
  int max_new_tokens = 500;
  int num_samples = 1;
  uint64_t seed = 1337;
  int top_probs = 0;  // > 0: print the top-k next-token probabilities at every step
};

// A token's text in double quotes with C escapes (\n, \", \\, \xhh for other control bytes, as
// llm::printable writes them), so a step line stays one line whatever the token is.
std::string quoted(const std::string& text) {
  std::string escaped;
  for (const char ch : text) {
    if (ch == '"' || ch == '\\') escaped += '\\';
    escaped += ch;
  }
  return "\"" + printable(escaped) + "\"";
}

// One --top-probs line: the k most likely next tokens, then the one drawn.
void print_step(const Tokenizer& tokenizer, int step, const std::vector<float>& logits, int V,
                int k, int32_t drawn) {
  auto text = [&](int32_t id) {
    return id < tokenizer.vocab_size() ? tokenizer.decode_token(id) : std::string();
  };
  std::printf("step %d:", step);
  for (const TokenProbability& t : top_probabilities(logits.data(), V, k))
    std::printf("  %s %d %.6f", quoted(text(t.id)).c_str(), t.id, t.p);
  std::printf("  -> %s\n", quoted(text(drawn)).c_str());
}

// The prompt's tokens, after the tokenizer's BOS when it asks for one (Llama 3's
// <|begin_of_text|>). Without one, an empty prompt starts from the document separator (GPT-2) or a
// newline (character models).
std::vector<int32_t> prompt_tokens(const Tokenizer& tokenizer, const std::string& text) {
  std::vector<int32_t> prompt = tokenizer.encode(text);
  if (const auto bos = tokenizer.bos_token()) prompt.insert(prompt.begin(), *bos);
  if (prompt.empty()) {
    if (auto eot = tokenizer.eot_token())
      prompt = {*eot};
    else
      prompt = tokenizer.encode("\n");
  }
  check(!prompt.empty(), "--prompt is empty and the tokenizer has no start token; give a prompt");
  return prompt;
}

void run_sample(const SampleOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const GPTConfig config = read_checkpoint_config(o.ckpt);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(o.ckpt);
  check(tokenizer->vocab_size() <= config.vocab_size,
        o.ckpt + ": the tokenizer has more tokens than the model's vocabulary");
  std::unique_ptr<Backend> backend = make_backend(o.device);
  GPT model(config, *backend);
  const auto load_start = std::chrono::steady_clock::now();
  load_model_weights(o.ckpt, model);
  const double load_seconds = seconds_since(load_start);
  // Reject bad settings before any output.
  const float probe = 0.0f;
  sampling_distribution(&probe, 1, o.sampling);
  check(o.top_probs >= 0, "--top-probs must not be negative");

  const std::vector<int32_t> prompt = prompt_tokens(*tokenizer, o.prompt);
  std::mt19937_64 rng(o.seed);
  // The decoder holds the prompt and the new tokens, up to the model's whole context (beyond it,
  // the context is cut in half below and the cache rebuilt).
  const int64_t positions = int64_t(prompt.size()) + std::max(0, o.max_new_tokens);
  Decoder decoder(model, 1, int(std::min<int64_t>(positions, config.max_seq_len)));
  double first_token_seconds = 0;  // from the start of the command
  int64_t generated = 0;
  for (int n = 0; n < o.num_samples; n++) {
    if (n > 0) std::printf("\n---------------\n");
    std::string text = o.prompt;  // with --top-probs the text is printed after the step lines
    if (o.top_probs == 0) std::printf("%s", o.prompt.c_str());
    std::vector<int32_t> context = prompt;
    decoder.reset();
    const std::vector<float>* logits = &decoder.step(context.data(), int(context.size()));
    for (int i = 0; i < o.max_new_tokens; i++) {
      const int32_t next = sample_token(logits->data(), config.vocab_size, o.sampling, rng);
      if (generated++ == 0) first_token_seconds = seconds_since(start);
      if (o.top_probs > 0) print_step(*tokenizer, i, *logits, config.vocab_size, o.top_probs, next);
      if (tokenizer->eot_token() && next == *tokenizer->eot_token()) break;
      const std::string piece = next < tokenizer->vocab_size() ? tokenizer->decode_token(next) : "";
      if (o.top_probs > 0) {
        text += piece;
      } else {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
      }
      context.push_back(next);
      if (decoder.pos() + 1 > decoder.capacity()) {
        // The context is full: keep the most recent half (at least the last token: a model with
        // max_seq_len 1 sees one token at a time) and rebuild the cache from it.
        context.erase(context.begin(), context.end() - std::max(1, config.max_seq_len / 2));
        decoder.reset();
        logits = &decoder.step(context.data(), int(context.size()));
      } else {
        logits = &decoder.step(&next, 1);
      }
    }
    if (o.top_probs > 0) std::printf("%s", text.c_str());
    std::printf("\n");
  }
  std::fflush(stdout);
  const double total = seconds_since(start);
  // The decoding rate counts the tokens after the first (the first carries the prompt's forward).
  std::string decoding = std::to_string(generated) + (generated == 1 ? " token" : " tokens");
  if (generated > 1) {
    char rate[64];
    std::snprintf(rate, sizeof rate, ", then %.1f tokens/s",
                  double(generated - 1) / (total - first_token_seconds));
    decoding += rate;
  }
  std::fprintf(stderr, "sample: %s; first token after %.2f s; %s\n",
               describe_load(o.ckpt, load_seconds).c_str(), first_token_seconds, decoding.c_str());
}

}  // namespace

void register_sample(CLI::App& app) {
  auto o = std::make_shared<SampleOptions>();
  CLI::App* cmd = app.add_subcommand("sample", "Generate text from a checkpoint");
  cmd->add_option("--ckpt", o->ckpt, "Checkpoint directory")->required();
  cmd->add_option("--prompt", o->prompt, "Text to continue (empty: start a new document)");
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "Tokens to generate")
      ->capture_default_str();
  cmd->add_option("--temperature", o->sampling.temperature, "Softmax temperature; 0 = greedy")
      ->capture_default_str();
  cmd->add_option("--top-k", o->sampling.top_k, "Sample from the k most likely tokens (0: all)")
      ->capture_default_str();
  cmd->add_option("--top-p", o->sampling.top_p, "Nucleus: the most likely tokens up to this mass")
      ->capture_default_str();
  cmd->add_option("--num-samples", o->num_samples, "Independent samples")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->add_option(
         "--top-probs", o->top_probs,
         "Print the K most likely next tokens (softmax at temperature 1) at every step; 0: off")
      ->capture_default_str();
  cmd->add_option("--device", o->device, "cpu or cuda")->capture_default_str();
  cmd->callback([o] { run_sample(*o); });
}

}  // namespace llm::cli
