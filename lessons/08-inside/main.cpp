// Lesson 08's result: a look inside a small trained character model, through your functions.
// (1) The logit lens: what each layer would predict at each position of a prompt, and how sure it
// is. (2) Attention rollout: where the last position's representation comes from. (3) A picture:
// the same model in glassbox-viz's attention panel (the command is printed at the end). Model:
// `lesson_08_main CHECKPOINT_DIR` (e.g. runs/shakespeare_char/checkpoint), or one trained here for
// 300 steps and saved to runs/lesson08/checkpoint so that glassbox-viz can open it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common/char_model.hpp"
#include "common/data.hpp"
#include "lesson.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/tokenizer/tokenizer.hpp"

using namespace lesson08;

namespace {
std::string shown(const std::string& s) { return s == "\n" ? "\\n" : s == " " ? "_" : s; }
}  // namespace

int main(int argc, char** argv) try {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string source = lesson::source_dir();
  std::string checkpoint = argc > 1 ? argv[1] : "";
  auto f32 = llm::make_cpu_backend(llm::DType::f32);
  const lesson::CharModel loaded = lesson::load_or_train_char_model(
      checkpoint, *f32,
      {.steps = 300, .B = 8, .T = 64, .init_seed = 11, .data_seed = 12, .log_every = 100});
  const std::unique_ptr<llm::Tokenizer>& tokenizer = loaded.tokenizer;
  const std::unique_ptr<llm::GPT>& trained = loaded.model;
  if (loaded.trained_here) {  // saved, so that glassbox-viz can open it
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
