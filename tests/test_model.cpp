// The GPT model as a whole: gradients by finite differences (double), the KV-cache decoder against
// the full forward pass, checkpoint round trips, and the sampling distribution.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "gradcheck.hpp"
#include "llm/io/checkpoint.hpp"
#include "llm/model/decoder.hpp"
#include "llm/model/gpt.hpp"
#include "llm/sample/sampling.hpp"
#include "llm/train/optimizer.hpp"
#include "llm/train/train_config.hpp"
#include "test_inputs.hpp"

namespace fs = std::filesystem;
using namespace llm;
using test_inputs::random_tokens;

namespace {

// A model small enough for a full finite-difference check, with every dimension distinct so a
// transposed index shows up, and V = 11 padded to 128 so the padding path is exercised.
GPTConfig tiny_config() {
  GPTConfig c;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 8;
  c.max_seq_len = 7;
  c.vocab_size = 11;
  return c;
}

// The same with every architecture switch turned to Llama's: rmsnorm, rope, swiglu, grouped-query
// attention (NKV = 1 of NH = 2, hs = 4), an untied head and no biases.
GPTConfig tiny_llama_config() {
  GPTConfig c = tiny_config();
  c.norm = "rmsnorm";
  c.norm_eps = 1e-6;
  c.position = "rope";
  c.rope_frequencies.theta = 100.0;
  c.mlp = "swiglu";
  c.mlp_hidden = 6;
  c.n_kv_head = 1;
  c.tie_embeddings = false;
  c.bias = false;
  return c;
}

// The Llama-style config with QK-norm (as OLMo 2 and Qwen3): each q and k head RMS-normalised
// before rope.
GPTConfig tiny_qk_norm_config() {
  GPTConfig c = tiny_llama_config();
  c.qk_norm = true;
  return c;
}

// GPT-2 with the squared-ReLU MLP of modded-nanogpt and nanochat: max(x, 0)^2 between fc and proj.
GPTConfig tiny_relu2_config() {
  GPTConfig c = tiny_config();
  c.mlp = "relu2";
  return c;
}

void check_whole_model_gradient(const GPTConfig& config) {
  auto backend = make_cpu_backend(DType::f64);
  GPT model(config, *backend);
  model.init_weights(7);
  // GPT-2's init puts the biases at 0 and layernorm gains at 1; move every parameter off those
  // special values so no gradient is checked only at a symmetric point.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0.0, 0.05);
  model.params.visit([&](const char*, Tensor& t, Shape) {
    std::vector<double> v = tensor_to_host_f64(*backend, t);
    for (double& x : v) x += noise(rng);
    tensor_from_host_f64(*backend, t, v);
  });
  const int B = 2, T = 5;
  const auto tokens = random_tokens(B * T, config.vocab_size, 1);
  const auto targets = random_tokens(B * T, config.vocab_size, 2);

  model.zero_grad();
  model.forward_backward(tokens.data(), targets.data(), B, T);

  model.params.visit([&](const char* name, Tensor& param, Shape) {
    Tensor grad;
    model.grads.visit([&](const char* n, Tensor& g, Shape) {
      if (std::string(n) == name) grad = g;
    });
    const std::vector<double> x0 = tensor_to_host_f64(*backend, param);
    const std::vector<double> analytic = tensor_to_host_f64(*backend, grad);
    auto loss_at = [&](const std::vector<double>& x) {
      tensor_from_host_f64(*backend, param, x);
      return model.forward(tokens.data(), targets.data(), B, T);
    };
    gradcheck::Options options;
    options.tolerance = 1e-6;
    const auto result = gradcheck::check_gradient(loss_at, x0, analytic, options);
    tensor_from_host_f64(*backend, param, x0);
    INFO(name << ": " << result.message());
    CHECK(result.ok);
  });
}

}  // namespace

TEST_CASE("whole-model gradient matches central finite differences (double)") {
  check_whole_model_gradient(tiny_config());
}

TEST_CASE("whole-model gradient of a Llama-style config matches finite differences (double)") {
  check_whole_model_gradient(tiny_llama_config());
}

TEST_CASE("whole-model gradient with qk_norm matches finite differences (double)") {
  check_whole_model_gradient(tiny_qk_norm_config());
}

TEST_CASE("whole-model gradient with mlp = relu2 matches finite differences (double)") {
  check_whole_model_gradient(tiny_relu2_config());
}

TEST_CASE("the gradient check catches a wrong gradient") {
  // The same harness on a gradient with one entry nudged must fail: the test above can fail.
  auto f = [](const std::vector<double>& x) { return x[0] * x[0] + 3 * x[1]; };
  std::vector<double> wrong = {2.0 * 0.5, 3.0 + 1e-3};
  CHECK_FALSE(gradcheck::check_gradient(f, {0.5, 0.2}, wrong).ok);
}

TEST_CASE("loss at initialisation is about ln(V)") {
  auto backend = make_cpu_backend(DType::f32);
  GPTConfig config = tiny_config();
  config.vocab_size = 65;
  GPT model(config, *backend);
  model.init_weights(1);
  const auto tokens = random_tokens(4 * 7, 65, 5), targets = random_tokens(4 * 7, 65, 6);
  CHECK(model.forward(tokens.data(), targets.data(), 4, 7) ==
        doctest::Approx(std::log(65.0)).epsilon(0.02));
}

TEST_CASE("the backward reports every gradient once, and only when no later op writes it") {
  // GradientSync starts communicating a gradient as soon as it is reported: a report that comes too
  // early (before the gradient's last write) or one that misses a tensor would send wrong numbers.
  auto backend = make_cpu_backend(DType::f32);
  const GPTConfig config = tiny_config();
  GPT model(config, *backend);
  model.init_weights(3);
  const int B = 2, T = 5;
  const auto tokens = random_tokens(B * T, config.vocab_size, 1),
             targets = random_tokens(B * T, config.vocab_size, 2);
  const Tensor flat = flat_view(model.grads);
  std::vector<int> reports(size_t(flat.numel()), 0);  // per element of the flat gradient arena
  std::vector<ShardRange> reported;
  std::vector<std::vector<double>> values_when_reported;
  std::vector<std::vector<std::string>> groups;  // which tensors each report named, for the message
  model.zero_grad();
  model.forward_backward(tokens.data(), targets.data(), B, T, 1.0,
                         [&](const std::vector<Tensor>& final_grads) {
                           for (const Tensor& g : final_grads) {
                             const ShardRange r = range_within(flat, g);
                             for (int64_t i = r.begin; i < r.end; i++) reports[size_t(i)]++;
                             reported.push_back(r);
                             values_when_reported.push_back(tensor_to_host_f64(*backend, g));
                           }
                         });
  for (size_t i = 0; i < reports.size(); i++) {
    INFO("flat gradient element " << i);
    REQUIRE(reports[i] == 1);
  }
  // 2 (lnf) + 12 per layer + 2 (wte, wpe), each unchanged from its report to the end of the
  // backward
  CHECK(reported.size() == size_t(2 + 12 * config.n_layer + 2));
  for (size_t k = 0; k < reported.size(); k++) {
    INFO("report " << k << ": [" << reported[k].begin << ", " << reported[k].end << ")");
    CHECK(tensor_to_host_f64(*backend, flat_range(flat, reported[k].begin, reported[k].end)) ==
          values_when_reported[k]);
  }
  // the first report is lnf's, the last the embeddings' (wte's second term comes at the very end)
  CHECK(reported.front() == range_within(flat, model.grads.lnfw));
  CHECK(reported.back() == range_within(flat, model.grads.wpe));
}

namespace {
void check_cached_decoding(const GPTConfig& config) {
  auto backend = make_cpu_backend(DType::f64);
  GPT model(config, *backend);
  model.init_weights(11);
  const int T = config.max_seq_len;
  const auto tokens = random_tokens(T, config.vocab_size, 9);
  model.forward(tokens.data(), nullptr, 1, T);
  const std::vector<double> full = tensor_to_host_f64(*backend, model.acts.logits);  // (1, T, Vp)

  // prefill 3 tokens, then one at a time: position t's logits must equal the full pass's row t
  Decoder decoder(model, 1);
  const int prefill = 3;
  auto compare = [&](const std::vector<float>& logits, int t) {
    for (int v = 0; v < config.vocab_size; v++)
      REQUIRE(logits[v] ==
              doctest::Approx(full[size_t(t) * config.padded_vocab_size() + v]).epsilon(1e-6));
  };
  compare(decoder.step(tokens.data(), prefill), prefill - 1);
  for (int t = prefill; t < T; t++) compare(decoder.step(&tokens[t], 1), t);
  CHECK_THROWS_AS(decoder.step(&tokens[0], 1), Error);  // the context is full
}
}  // namespace

TEST_CASE("KV-cache decoding gives the same logits as the full forward pass") {
  check_cached_decoding(tiny_config());
}

TEST_CASE("KV-cache decoding of a Llama-style config: rotated keys, grouped heads in the cache") {
  check_cached_decoding(tiny_llama_config());
}

TEST_CASE("KV-cache decoding with qk_norm: normalised, then rotated keys in the cache") {
  check_cached_decoding(tiny_qk_norm_config());
}

TEST_CASE("KV-cache decoding with mlp = relu2") { check_cached_decoding(tiny_relu2_config()); }

TEST_CASE("a relu2 checkpoint stores the switch; the same weights under gelu give another loss") {
  auto backend = make_cpu_backend(DType::f64);
  const GPTConfig config = tiny_relu2_config();
  GPT a(config, *backend);
  a.init_weights(25);
  const fs::path dir = test_inputs::fresh_dir("model_roundtrip_relu2") / "ckpt";
  save_model_checkpoint(dir, a, nullptr);
  const GPTConfig loaded = read_checkpoint_config(dir);
  CHECK(loaded.mlp == "relu2");
  CHECK(loaded.hidden_size() == 4 * config.n_embd);
  CHECK(loaded.same_shape(config));
  GPT b(loaded, *backend);
  load_model_weights(dir, b);
  const auto tokens = random_tokens(2 * 5, config.vocab_size, 26);
  const auto targets = random_tokens(2 * 5, config.vocab_size, 27);
  const double loss = a.forward(tokens.data(), targets.data(), 2, 5);
  CHECK(b.forward(tokens.data(), targets.data(), 2, 5) == loss);
  // the switch is not cosmetic: the gelu model with these weights computes something else
  GPTConfig as_gelu = loaded;
  as_gelu.mlp = "gelu";
  GPT c(as_gelu, *backend);
  load_model_weights(dir, c);
  CHECK(std::abs(c.forward(tokens.data(), targets.data(), 2, 5) - loss) > 1e-6);
}

TEST_CASE("a qk_norm checkpoint stores the switch and the q_norm, k_norm gains (hs) per layer") {
  auto backend = make_cpu_backend(DType::f32);
  const GPTConfig config = tiny_qk_norm_config();
  GPT a(config, *backend);
  a.init_weights(23);
  // gains off 1, so a load that skipped them would show
  std::vector<double> gains = tensor_to_host_f64(*backend, a.params.qnormw);
  for (size_t i = 0; i < gains.size(); i++) gains[i] += 0.01 * double(i + 1);
  tensor_from_host_f64(*backend, a.params.qnormw, gains);
  const fs::path dir = test_inputs::fresh_dir("model_roundtrip_qk_norm") / "ckpt";
  save_model_checkpoint(dir, a, nullptr);
  const GPTConfig loaded = read_checkpoint_config(dir);
  CHECK(loaded.qk_norm);
  CHECK(loaded.same_shape(config));
  GPT b(loaded, *backend);
  load_model_weights(dir, b);
  CHECK(tensor_to_host_f64(*backend, b.params.qnormw) ==
        tensor_to_host_f64(*backend, a.params.qnormw));
  CHECK(tensor_to_host_f64(*backend, b.params.qnormw) != std::vector<double>(4 * 2, 1.0));
  CHECK(tensor_to_host_f64(*backend, b.params.knormw) ==
        tensor_to_host_f64(*backend, a.params.knormw));
  SafeTensorsFile file(dir / "model.safetensors");
  CHECK(file.info("transformer.h.1.attn.q_norm.weight").shape == std::vector<int64_t>{4});
  CHECK(file.info("transformer.h.0.attn.k_norm.weight").shape == std::vector<int64_t>{4});
  // the parameter count has the 2 hs gains of every layer
  GPTConfig without = config;
  without.qk_norm = false;
  CHECK(count_parameters(config) - count_parameters(without) == 2 * 2 * 4);
}

TEST_CASE("a Llama-style checkpoint round trip restores its switches and every weight exactly") {
  auto backend = make_cpu_backend(DType::f32);
  const GPTConfig config = tiny_llama_config();
  GPT a(config, *backend);
  a.init_weights(21);
  const fs::path dir = test_inputs::fresh_dir("model_roundtrip_llama") / "ckpt";
  save_model_checkpoint(dir, a, nullptr);
  const GPTConfig loaded = read_checkpoint_config(dir);
  CHECK(loaded.same_shape(config));
  CHECK(loaded.norm_eps == config.norm_eps);
  GPT b(loaded, *backend);
  load_model_weights(dir, b);
  int compared = 0;
  a.params.visit([&](const char* name, Tensor& ta, Shape) {
    b.params.visit([&](const char* nb, Tensor& tb, Shape) {
      if (std::string(nb) != name) return;
      INFO(name);
      CHECK(tensor_to_host_f64(*backend, ta) == tensor_to_host_f64(*backend, tb));
      compared++;
    });
  });
  CHECK(compared == 9);  // wte, ln1w, qkvw, attprojw, ln2w, fcw, fcprojw, lnfw, lm_head
  SafeTensorsFile file(dir / "model.safetensors");
  CHECK(file.info("lm_head.weight").shape == std::vector<int64_t>{config.vocab_size, 8});
  CHECK_FALSE(file.contains("transformer.wpe.weight"));
}

TEST_CASE("llama3 rope scaling: a training setting, kept by checkpoints, and it changes the loss") {
  auto backend = make_cpu_backend(DType::f64);
  // swiglu: saved as LlamaForCausalLM; gelu: glassbox's own config.json keys.
  for (const std::string mlp : {"swiglu", "gelu"}) {
    CAPTURE(mlp);
    TrainConfig t;
    t.n_layer = 2, t.n_head = 2, t.n_embd = 8, t.block_size = 24, t.bias = false;
    t.norm = "rmsnorm", t.position = "rope", t.mlp = mlp, t.mlp_hidden = 12;
    const GPTConfig plain = t.model_config(11);
    // hs = 4: the pairs turn at 1 and 0.01 radians per position, wavelengths 6.3 and 628. With
    // N = 8 and high_freq_factor 2, the first is blended (4 < 6.3 < 8), the second slowed 4x.
    t.rope_scaling = "llama3";
    t.rope_scaling_factor = 4.0, t.rope_low_freq_factor = 1.0, t.rope_high_freq_factor = 2.0;
    t.rope_original_max_position = 8;
    const GPTConfig scaled = t.model_config(11);
    const RopeFrequencies& f = scaled.rope_frequencies;
    CHECK(f.llama3);
    CHECK(f.factor == 4.0);
    CHECK(f.high_freq_factor == 2.0);
    CHECK(f.original_max_position_embeddings == 8);
    // train_state.json keeps the settings.
    CHECK(nlohmann::json(t).get<TrainConfig>().model_config(11).rope_frequencies == f);

    GPT a(plain, *backend), b(scaled, *backend);
    a.init_weights(31);
    const fs::path dir = test_inputs::fresh_dir("model_rope_scaling");
    save_model_checkpoint(dir / "plain", a, nullptr);
    load_model_weights(dir / "plain", b);  // the same weights
    const auto tokens = random_tokens(t.block_size + 1, 11, 17);
    const double plain_loss = a.forward(tokens.data(), tokens.data() + 1, 1, t.block_size);
    const double scaled_loss = b.forward(tokens.data(), tokens.data() + 1, 1, t.block_size);
    CHECK(scaled_loss != plain_loss);

    save_model_checkpoint(dir / "scaled", b, nullptr);
    const GPTConfig loaded = read_checkpoint_config(dir / "scaled");
    CHECK(loaded.rope_frequencies == f);
    CHECK(read_checkpoint_config(dir / "plain").rope_frequencies == plain.rope_frequencies);
    GPT c(loaded, *backend);
    load_model_weights(dir / "scaled", c);
    CHECK(c.forward(tokens.data(), tokens.data() + 1, 1, t.block_size) == scaled_loss);
  }
  TrainConfig t;
  t.rope_scaling = "yarn";
  CHECK(test_inputs::error_of([&] { t.check_ranges(); }) ==
        "--rope-scaling must be none or llama3 (got 'yarn')");
  t.rope_scaling = "llama3";  // with learned positions
  CHECK(test_inputs::error_of([&] {
          t.model_config(11);
        }).find("llama3 rope_scaling needs position = rope") != std::string::npos);
}

TEST_CASE(
    "a decoder with room for fewer positions gives the same logits and says when it is full") {
  auto backend = make_cpu_backend(DType::f64);
  const GPTConfig config = tiny_config();
  GPT model(config, *backend);
  model.init_weights(12);
  const int room = config.max_seq_len / 2 + 1;
  const auto tokens = random_tokens(room, config.vocab_size, 10);
  Decoder whole(model, 1), part(model, 1, room);
  CHECK(whole.capacity() == config.max_seq_len);
  CHECK(part.capacity() == room);
  CHECK(part.step(tokens.data(), 2) == whole.step(tokens.data(), 2));
  for (int t = 2; t < room; t++) CHECK(part.step(&tokens[t], 1) == whole.step(&tokens[t], 1));
  const std::string full = test_inputs::error_of([&] { part.step(&tokens[0], 1); });
  CHECK(full.find("room for " + std::to_string(room)) != std::string::npos);
  CHECK_THROWS_AS(Decoder(model, 1, config.max_seq_len + 1), Error);
}

TEST_CASE("checkpoint round trip restores every weight exactly, in HF layout") {
  auto backend = make_cpu_backend(DType::f32);
  const GPTConfig config = tiny_config();
  GPT a(config, *backend);
  a.init_weights(21);
  const fs::path dir = test_inputs::fresh_dir("model_roundtrip") / "ckpt";
  save_model_checkpoint(dir, a, nullptr);
  CHECK(fs::exists(dir / "model.safetensors"));
  CHECK_FALSE(fs::exists(dir.string() + ".tmp"));

  const GPTConfig loaded = read_checkpoint_config(dir);
  CHECK(loaded.n_layer == config.n_layer);
  CHECK(loaded.n_embd == config.n_embd);
  CHECK(loaded.vocab_size == config.vocab_size);
  CHECK(loaded.padded_vocab_size() == config.padded_vocab_size());
  GPT b(loaded, *backend);
  load_model_weights(dir, b);
  a.params.visit([&](const char* name, Tensor& ta, Shape) {
    b.params.visit([&](const char* nb, Tensor& tb, Shape) {
      if (std::string(nb) != name) return;
      INFO(name);
      CHECK(tensor_to_host_f64(*backend, ta) == tensor_to_host_f64(*backend, tb));
    });
  });

  // HF layout: c_attn.weight is (C, 3C), the transpose of our qkvw (3C, C); wte is (V, C).
  SafeTensorsFile file(dir / "model.safetensors");
  const int64_t C = config.n_embd;
  CHECK(file.info("transformer.h.1.attn.c_attn.weight").shape == std::vector<int64_t>{C, 3 * C});
  CHECK(file.info("transformer.wte.weight").shape == std::vector<int64_t>{config.vocab_size, C});
  const auto stored = file.read_f64("transformer.h.1.attn.c_attn.weight", {C, 3 * C});
  const auto ours = tensor_to_host_f64(*backend, a.params.qkvw.slice(1));  // (3C, C)
  CHECK(stored[2 * 3 * C + 5] == ours[5 * C + 2]);  // stored[c=2][o=5] == ours[o=5][c=2]
}

TEST_CASE("a corrupt or missing checkpoint gives a clear error") {
  const fs::path dir = test_inputs::fresh_dir("model_corrupt");
  CHECK_THROWS_WITH_AS(read_checkpoint_config(dir / "nope"),
                       doctest::Contains("no such checkpoint"), Error);
  std::ofstream(dir / "config.json") << "{ not json";
  CHECK_THROWS_WITH_AS(read_checkpoint_config(dir), doctest::Contains("not valid JSON"), Error);
}

TEST_CASE("sampling: greedy, top-k, top-p and a fixed seed") {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, -1.0f, 2.5f};
  std::mt19937_64 rng(1);
  CHECK(sample_token(logits.data(), 5, {0.0f, 0, 1.0f}, rng) == 1);  // temperature 0: argmax

  auto p = sampling_distribution(logits.data(), 5, {1.0f, 2, 1.0f});  // top-2: tokens 1 and 4
  CHECK(p[1] > 0);
  CHECK(p[4] > 0);
  CHECK(p[0] + p[2] + p[3] == 0.0f);
  CHECK(p[1] + p[4] == doctest::Approx(1.0));
  CHECK(p[1] / p[4] == doctest::Approx(std::exp(0.5)));

  // top-p 0.5: the most likely token alone holds softmax mass 0.47 < 0.5, so two are kept
  p = sampling_distribution(logits.data(), 5, {1.0f, 0, 0.5f});
  int kept = 0;
  for (float x : p) kept += x > 0;
  CHECK(kept == 2);

  std::mt19937_64 r1(42), r2(42);
  std::vector<int32_t> s1, s2;
  for (int i = 0; i < 50; i++) {
    s1.push_back(sample_token(logits.data(), 5, {1.0f, 0, 1.0f}, r1));
    s2.push_back(sample_token(logits.data(), 5, {1.0f, 0, 1.0f}, r2));
  }
  CHECK(s1 == s2);
  CHECK_THROWS_AS(sampling_distribution(logits.data(), 5, {1.0f, 0, 0.0f}), Error);
}

TEST_CASE("top_probabilities: the k largest of softmax(logits), most likely first") {
  const int V = 300, k = 7;
  const std::vector<double> values = test_inputs::randn(V, 11, 2.0);
  const std::vector<float> logits(values.begin(), values.end());
  // softmax in double, then every id ordered by it
  double z = 0;
  for (double x : values) z += std::exp(x);
  std::vector<int32_t> order(V);
  for (int i = 0; i < V; i++) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return values[a] > values[b]; });

  const std::vector<TokenProbability> top = top_probabilities(logits.data(), V, k);
  REQUIRE(top.size() == size_t(k));
  for (int i = 0; i < k; i++) {
    CHECK(top[i].id == order[i]);
    CHECK(top[i].p == doctest::Approx(std::exp(values[order[i]]) / z).epsilon(1e-5));
  }
  double all = 0;
  for (const TokenProbability& t : top_probabilities(logits.data(), V, V + 5))
    all += t.p;  // k > V: all V
  CHECK(all == doctest::Approx(1.0).epsilon(1e-5));
  CHECK_THROWS_AS(top_probabilities(logits.data(), V, 0), Error);
}
