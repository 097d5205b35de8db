// Lesson 08's result: a look inside a small trained character model, through your functions.
// (1) The logit lens: what each layer would predict at each position of a prompt, and how sure it
// is. (2) Attention rollout: where the last position's representation comes from. (3) A picture:
// the same model in glassbox-viz's attention panel (the command is printed at the end). Model:
// `lesson_08_main CHECKPOINT_DIR` (e.g. runs/shakespeare_char/checkpoint), or one trained here for
// 300 steps and saved to runs/lesson08/checkpoint so that glassbox-viz can open it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>

#include "common/data.hpp"
#include "lesson.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/tokenizer/char_tokenizer.hpp"
#include "llm/tokenizer/tokenizer.hpp"
#include "llm/train/optimizer.hpp"
#include "llm/train/schedule.hpp"

using namespace lesson08;

namespace {
std::string shown(const std::string& s) { return s == "\n" ? "\\n" : s == " " ? "_" : s; }
}  // namespace

int main(int argc, char** argv) try {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string source = lesson::source_dir();
  std::string checkpoint = argc > 1 ? argv[1] : "";
  auto f32 = llm::make_cpu_backend(llm::DType::f32);
  std::unique_ptr<llm::Tokenizer> tokenizer;
  std::unique_ptr<llm::GPT> trained;
  if (!checkpoint.empty()) {
    tokenizer = llm::load_tokenizer(checkpoint);
    trained = std::make_unique<llm::GPT>(llm::read_checkpoint_config(checkpoint), *f32);
    llm::load_model_weights(checkpoint, *trained);
    std::printf("loaded %s\n", checkpoint.c_str());
  } else {
    const std::string text = lesson::read_tinyshakespeare();
    auto chars = std::make_unique<llm::CharTokenizer>(llm::CharTokenizer::from_corpus(text));
    const std::vector<int32_t> ids = chars->encode(text);
    llm::GPTConfig config;
    config.vocab_size = chars->vocab_size();
    config.padded_vocab_size = llm::pad_vocab(config.vocab_size);
    config.max_seq_len = 64;
    config.n_layer = 4;
    config.n_head = 4;
    config.n_embd = 128;
    tokenizer = std::move(chars);
    trained = std::make_unique<llm::GPT>(config, *f32);
    trained->init_weights(11);
    llm::AdamW adamw(*trained, llm::AdamWConfig{});
    const int steps = 300, B = 8, T = 64;
    const llm::LearningRateSchedule schedule{3e-3f, 3e-4f, 20, steps};
    std::mt19937_64 rng(12);
    std::vector<int32_t> x(B * T), y(B * T);
    const auto start = std::chrono::steady_clock::now();
    for (int step = 0; step < steps; step++) {
      for (int b = 0; b < B; b++) {
        const size_t s = rng() % (ids.size() - T - 1);
        for (int t = 0; t < T; t++) x[b * T + t] = ids[s + t], y[b * T + t] = ids[s + t + 1];
      }
      trained->zero_grad();
      const double loss = trained->forward_backward(x.data(), y.data(), B, T);
      const double norm = llm::global_grad_norm(*trained);
      adamw.step(schedule.at(step), norm > 1.0 ? float(1.0 / norm) : 1.0f);
      if ((step + 1) % 100 == 0)
        std::printf(
            "training: step %d/%d  loss %.3f  (%.0f s)\n", step + 1, steps, loss,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    checkpoint = source + "/runs/lesson08/checkpoint";
    std::filesystem::create_directories(source + "/runs/lesson08");
    llm::save_model_checkpoint(checkpoint, *trained, tokenizer.get());
    std::printf("saved %s\n", checkpoint.c_str());
  }

  // The same weights in double, where your functions read them.
  auto f64 = llm::make_cpu_backend(llm::DType::f64);
  llm::GPT model(trained->config(), *f64);
  std::vector<llm::Tensor*> from;
  trained->params.visit([&](const char*, llm::Tensor& t, llm::Shape) { from.push_back(&t); });
  size_t i = 0;
  model.params.visit([&](const char*, llm::Tensor& t, llm::Shape) {
    llm::tensor_from_host_f64(*f64, t, llm::tensor_to_host_f64(*f32, *from[i++]));
  });

  const std::string prompt = "ROMEO: What say you";
  const std::vector<int32_t> tokens = tokenizer->encode(prompt);
  const int T = int(tokens.size()), L = model.config().n_layer, V = model.config().vocab_size;
  model.forward(tokens.data(), nullptr, 1, T);

  std::printf(
      "\n(1) logit lens on \"%s\": each layer's top guess for the NEXT character (entropy in "
      "nats)\n",
      prompt.c_str());
  std::printf("   input  ");
  for (int t = 0; t < T; t++) std::printf("%3s", shown(tokenizer->decode_token(tokens[t])).c_str());
  std::printf("\n");
  for (int l = 0; l < L; l++) {
    const std::vector<double> probs = logit_lens(model, l);
    if (probs.size() != size_t(T) * V) {
      std::printf("(logit_lens returned %zu values, expected %d: finish lesson 08's functions)\n",
                  probs.size(), T * V);
      return 1;
    }
    const std::vector<double> h = entropy(probs, T, V);
    double mean_h = 0;
    for (double x : h) mean_h += x / T;
    std::printf("   layer %d", l);
    for (int t = 0; t < T; t++) {
      const int best = int(std::max_element(probs.begin() + t * V, probs.begin() + (t + 1) * V) -
                           probs.begin()) -
                       t * V;
      std::printf("%3s", shown(tokenizer->decode_token(best)).c_str());
    }
    std::printf("   mean entropy %.2f\n", mean_h);
  }

  const std::vector<double> R = attention_rollout(model, 0);
  std::printf("\n(2) attention rollout: where the last position ('%s') draws from\n   ",
              shown(tokenizer->decode_token(tokens[T - 1])).c_str());
  for (int t = 0; t < T; t++) std::printf("%3s", shown(tokenizer->decode_token(tokens[t])).c_str());
  std::printf("\n   ");
  const char* shades = " .:-=+*#%@";
  double top = 0;
  for (int t = 0; t < T; t++) top = std::max(top, R[size_t(T - 1) * T + t]);
  for (int t = 0; t < T; t++)
    std::printf("  %c", shades[int(std::round(9 * R[size_t(T - 1) * T + t] / top))]);
  std::printf("\n   (darkest = %.2f of the total)\n", top);

  std::printf(
      "\n(3) the picture: every layer and head of this model on this prompt, with glassbox-viz\n"
      "    (build it with the project; on a machine without a display, prefix xvfb-run -a):\n"
      "    build/glassbox-viz %s --panel attention --prompt \"ROMEO: What say you\" --screenshot "
      "attention.png\n",
      checkpoint.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "lesson 08: %s\n", e.what());
  return 1;
}
