// HellaSwag scoring on tests/hellaswag/tiny.jsonl (six hand-made examples in the published format)
// with a model whose outputs are known in closed form, so every loss and every answer is checked
// against a hand count. The same file against the PyTorch reference is
// tests/reference/hellaswag_check.py.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "llm/backend/host_copy.hpp"
#include "llm/model/gpt.hpp"
#include "llm/tokenizer/byte_tokenizer.hpp"
#include "llm/train/hellaswag.hpp"

using namespace llm;

namespace {

const std::string kTinyFile = std::string(GLASSBOX_SOURCE_DIR) + "/tests/hellaswag/tiny.jsonl";

// A unigram model over bytes: every weight 0 except wte[v][0] = s_v and lnf's bias e_0. Each block
// then adds nothing to the residual stream (its projections are 0), the final layernorm outputs its
// bias e_0 whatever its input, and the tied head gives logits[v] = wte[v] . e_0 = s_v at every
// position. So -log p(v) = ln(sum_u e^{s_u}) - s_v, whatever the context:
//   s = 3 for 'a', 1 for ' ', 0 for the other 254 bytes;   lse = ln(254 + e + e^3) = 5.6233...
//   loss('a') = lse - 3,  loss(' ') = lse - 1,  loss(any other byte) = lse
// An ending " " + text of n bytes with n_a a's and n_s spaces costs sum = n lse - 3 n_a - n_s:
// acc goes to the shortest ending, acc_norm to the one densest in a's and spaces.
void make_unigram(GPT& model) {
  model.params.visit([&](const char* name, Tensor& t, Shape shape) {
    std::vector<double> values(size_t(shape.numel()), 0.0);
    const int64_t C = model.config().n_embd;
    if (std::string(name) == "wte") {
      values[size_t('a') * C] = 3.0;
      values[size_t(' ') * C] = 1.0;
    }
    if (std::string(name) == "lnfb") values[0] = 1.0;
    tensor_from_host_f64(model.backend(), t, values);
  });
}

GPTConfig byte_model_config(int max_seq_len) {
  GPTConfig c;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_embd = 8;
  c.max_seq_len = max_seq_len;
  c.vocab_size = 256;
  return c;
}

// The hand count for one ending under the unigram model.
double unigram_sum_loss(const std::string& ending) {
  const std::string text = " " + ending;
  const double lse = std::log(254.0 + std::exp(1.0) + std::exp(3.0));
  const auto n_a = std::count(text.begin(), text.end(), 'a');
  const auto n_s = std::count(text.begin(), text.end(), ' ');
  return double(text.size()) * lse - 3.0 * double(n_a) - double(n_s);
}

}  // namespace

TEST_CASE("read_hellaswag reads the published format and skips blank lines") {
  const std::vector<HellaSwagExample> examples = read_hellaswag(kTinyFile);
  REQUIRE(examples.size() == 6);
  CHECK(examples[0].ctx == "A man sits down at a grand piano in a hall.");
  CHECK(examples[0].endings[1] == "He plays a samba at a fast pace.");
  CHECK(examples[0].label == 1);
  CHECK(examples[5].label == 0);
  CHECK(examples[3].where == kTinyFile + ":5");  // the blank line 4 still counts
}

TEST_CASE("tokenize_hellaswag: context as is, endings with a leading space") {
  const std::vector<HellaSwagExample> examples = read_hellaswag(kTinyFile);
  const ByteTokenizer bytes;
  const std::vector<HellaSwagTokens> tokens = tokenize_hellaswag(examples, bytes);
  CHECK(tokens[4].ctx.size() == examples[4].ctx.size());
  CHECK(tokens[4].endings[0] ==
        std::vector<int32_t>{' ', 'd', 'i', 'v', 'e', 's', ' ', 'i', 'n', '.'});
}

TEST_CASE("HellaSwag on a model with known outputs: every loss and answer as counted by hand") {
  // Per example (pred = shortest ending; pred_norm = densest in a's and spaces, from the counts):
  //   0: "Zzz." is shortest -> pred 3; "He plays a samba at a fast pace." (8 a, 8 spaces of 33) ->
  //   1 1: "opens the oven." (16 bytes) -> 3; "takes out a batch of hot snacks." (4 a, 7 sp of 33)
  //   -> 0 2: "A lamp is on." (14) -> 1;          "The lake is a banana." (5 a, 5 sp of 22) -> 2 3:
  //   "flies." (7) -> 3;                 "paints a bag." (3 a, 3 sp of 14) -> 0 4: "dives in." (10)
  //   -> 0;             "eats a sandwich." (3 a, 3 sp of 17) -> 3 5: "reads." (7) -> 3; "plants a
  //   bean." (3 a, 3 sp of 15) -> 0
  // Labels 1, 3, 0, 2, 0, 0: acc 2/6 (examples 1, 4), acc_norm 2/6 (examples 0, 5).
  const std::vector<int> want_pred = {3, 3, 1, 3, 0, 3}, want_pred_norm = {1, 0, 2, 0, 3, 0};
  const std::vector<HellaSwagExample> examples = read_hellaswag(kTinyFile);
  const ByteTokenizer bytes;
  const std::vector<HellaSwagTokens> tokens = tokenize_hellaswag(examples, bytes);
  // 128 positions hold every row; with 56 the longer contexts are cut from the left, which a
  // unigram model does not notice: the same scores either way.
  for (const int max_seq_len : {128, 56}) {
    CAPTURE(max_seq_len);
    auto backend = make_cpu_backend(DType::f32);
    GPT model(byte_model_config(max_seq_len), *backend);
    make_unigram(model);
    SingleComm single;
    const HellaSwagResult r = evaluate_hellaswag(model, tokens, single);
    REQUIRE(r.examples == 6);
    CHECK(r.correct == 2);
    CHECK(r.correct_norm == 2);
    CHECK(r.acc == doctest::Approx(2.0 / 6));
    CHECK(r.acc_norm == doctest::Approx(2.0 / 6));
    for (int k = 0; k < 6; k++) {
      CAPTURE(k);
      const HellaSwagScores& s = r.scores[k];
      CHECK(s.label == examples[k].label);
      CHECK(s.pred == want_pred[k]);
      CHECK(s.pred_norm == want_pred_norm[k]);
      for (int i = 0; i < kHellaSwagEndings; i++) {
        const double n = double(examples[k].endings[i].size() + 1);
        CHECK(s.sum_loss[i] ==
              doctest::Approx(unigram_sum_loss(examples[k].endings[i])).epsilon(1e-6));
        CHECK(s.mean_loss[i] ==
              doctest::Approx(unigram_sum_loss(examples[k].endings[i]) / n).epsilon(1e-6));
      }
    }
  }
}

TEST_CASE("HellaSwag: limit scores the first examples only") {
  const ByteTokenizer bytes;
  const std::vector<HellaSwagTokens> tokens = tokenize_hellaswag(read_hellaswag(kTinyFile), bytes);
  auto backend = make_cpu_backend(DType::f32);
  GPT model(byte_model_config(128), *backend);
  make_unigram(model);
  SingleComm single;
  const HellaSwagResult r = evaluate_hellaswag(model, tokens, single, /*limit=*/2);
  CHECK(r.examples == 2);
  CHECK(r.scores.size() == 2);
  CHECK(r.correct == 1);       // example 1
  CHECK(r.correct_norm == 1);  // example 0
}

TEST_CASE("HellaSwag: an ending longer than the model's context is an error") {
  const ByteTokenizer bytes;
  const std::vector<HellaSwagTokens> tokens = tokenize_hellaswag(read_hellaswag(kTinyFile), bytes);
  auto backend = make_cpu_backend(DType::f32);
  GPT model(byte_model_config(40), *backend);  // example 2's last ending has 49 bytes
  SingleComm single;
  CHECK_THROWS_WITH_AS(evaluate_hellaswag(model, tokens, single),
                       doctest::Contains("leaves no room for context"), Error);
}
