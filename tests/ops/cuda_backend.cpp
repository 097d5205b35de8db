// The CUDA backend as a whole (kernels/cuda_backend.cu): its dtypes, convert, run-to-run
// determinism, and the whole GPT model, AdamW steps and Muon steps against the CPU model. Suite
// "cuda"; the method and tolerances: tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "llm/model/gpt.hpp"
#include "llm/train/muon.hpp"
#include "llm/train/optimizer.hpp"
#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

// The SKIPPED lines name the test case (gpu_or_skip, tests/ops/op_tests.hpp).
REGISTER_LISTENER("test_name", 1, TestNameListener);

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda backend: bf16 activations, f32 statistics, log-sum-exp attention state") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  CHECK(gpu->device() == Device::cuda);
  CHECK(gpu->dtype() == DType::bf16);
  CHECK(gpu->master_dtype() == DType::f32);
  CHECK(gpu->attention_state_shape(4, 129, 12) == Shape{4, 12, 129});
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda convert: f32 -> bf16 rounds exactly as float_to_bf16, bf16 -> f32 is exact") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  // Every bf16 pattern as the high half, with low halves that round down, tie (to even, both
  // ways), round up and carry into the exponent: every sign, exponent (subnormals, infinities,
  // NaNs) and rounding case. 3 more values make n odd. At small shapes (CI, on the emulation) the
  // high halves keep every sign and exponent but only the mantissas at the ends and the middle of
  // their range, of both parities (0, 1, 0x3f, 0x40, 0x7e, 0x7f): 1/21 of the values.
  std::vector<float> src;
  for (uint32_t high = 0; high < 65536; high++) {
    const uint32_t mantissa = high & 0x7f;
    const bool kept = mantissa <= 0x01 || mantissa == 0x3f || mantissa == 0x40 || mantissa >= 0x7e;
    if (!large_shapes() && !kept) continue;
    for (uint32_t low : {0x0000u, 0x0001u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) {
      const uint32_t bits = (high << 16) | low;
      float f;
      std::memcpy(&f, &bits, 4);
      src.push_back(f);
    }
  }
  for (float f : {1.0f, 3.14159265f, -1e-40f}) src.push_back(f);
  const int64_t n = static_cast<int64_t>(src.size());

  DeviceTensor wide(*gpu, DType::f32, {n}), narrow(*gpu, DType::bf16, {n}),
      back(*gpu, DType::f32, {n});
  gpu->copy_from_host(wide, src.data());
  gpu->convert(narrow, wide);
  std::vector<uint16_t> narrow_bits(n);
  gpu->copy_to_host(narrow_bits.data(), narrow);
  int64_t wrong = 0, first_wrong = -1;
  for (int64_t i = 0; i < n; i++) {
    // A NaN must stay a NaN; its payload is the hardware's business.
    const bool ok = std::isnan(src[i]) ? std::isnan(bf16_to_float(narrow_bits[i]))
                                       : narrow_bits[i] == float_to_bf16(src[i]);
    if (!ok && wrong++ == 0) first_wrong = i;
  }
  INFO("f32 -> bf16: " << wrong << " of " << n << " differ from float_to_bf16 (exact expected)"
                       << "; first at " << first_wrong);
  CHECK(wrong == 0);

  gpu->convert(back, narrow);
  std::vector<float> back_values(n);
  gpu->copy_to_host(back_values.data(), back);
  wrong = 0;
  for (int64_t i = 0; i < n; i++) {
    const float expected = bf16_to_float(narrow_bits[i]);
    const bool ok = std::isnan(expected) ? std::isnan(back_values[i])
                                         : std::memcmp(&back_values[i], &expected, 4) == 0;
    if (!ok && wrong++ == 0) first_wrong = i;
  }
  INFO("bf16 -> f32: " << wrong << " of " << n << " not exact; first at " << first_wrong);
  CHECK(wrong == 0);

  // same dtype: a copy
  DeviceTensor copy(*gpu, DType::f32, {n});
  gpu->convert(copy, wide);
  CHECK(raw_bytes(*gpu, copy) == raw_bytes(*gpu, wide));
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda determinism: the reducing backwards and sum_of_squares give the same bits twice") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  // Large: GPT-2 small's sizes, so every reduction spans many blocks; small: still several blocks
  // per reduction (N > 256 rows: two dbias chunks).
  const bool large = large_shapes();
  const int64_t B = large ? 4 : 3, T = large ? 129 : 97, C = large ? 768 : 96, NH = large ? 12 : 3;
  const int64_t N = B * T, OC = 3 * C, Vp = 128;
  uint32_t seed = 1000;
  // Runs `op` twice from the same starting `buffers` and checks that each ends with the same bytes.
  auto run_twice = [&](const char* what, std::vector<Twin*> buffers,
                       const std::function<void()>& op) {
    std::vector<std::vector<double>> start;
    for (Twin* t : buffers) start.push_back(t->cpu_values());
    std::vector<std::vector<uint8_t>> first;
    op();
    for (Twin* t : buffers) first.push_back(raw_bytes(*gpu, t->gpu()));
    for (size_t i = 0; i < buffers.size(); i++) buffers[i]->set(start[i]);
    op();
    for (size_t i = 0; i < buffers.size(); i++) {
      INFO(std::string(what) << ": output " << i << " differs between two runs on the same inputs");
      CHECK(raw_bytes(*gpu, buffers[i]->gpu()) == first[i]);
    }
  };

  {  // attention
    Twin qkv(*gpu, bf16, {B, T, 3 * C}, randn(N * 3 * C, seed++)), out(*gpu, bf16, {B, T, C});
    DeviceTensor lse(*gpu, f32, gpu->attention_state_shape(B, T, NH)),
        scratch(*gpu, f32, gpu->attention_state_shape(B, T, NH));
    gpu->attention_forward(out.gpu(), lse, qkv.gpu(), NH);
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        dqkv(*gpu, bf16, {B, T, 3 * C}, randn(N * 3 * C, seed++));
    run_twice("attention_backward", {&dqkv}, [&] {
      gpu->attention_backward(dqkv.gpu(), scratch, dout.gpu(), qkv.gpu(), out.gpu(), lse, NH);
    });
  }
  {  // layernorm
    Twin inp(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        weight(*gpu, bf16, {C}, randn(C, seed++, 0.2, 1.0));
    Twin bias(*gpu, bf16, {C}, randn(C, seed++)), out(*gpu, bf16, {B, T, C});
    Twin mean(*gpu, f32, {B, T}), rstd(*gpu, f32, {B, T});
    gpu->layernorm_forward(out.gpu(), mean.gpu(), rstd.gpu(), inp.gpu(), weight.gpu(), bias.gpu());
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        dinp(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin dweight(*gpu, bf16, {C}, randn(C, seed++)), dbias(*gpu, bf16, {C}, randn(C, seed++));
    run_twice("layernorm_backward", {&dinp, &dweight, &dbias}, [&] {
      gpu->layernorm_backward(dinp.gpu(), dweight.gpu(), dbias.gpu(), dout.gpu(), inp.gpu(),
                              weight.gpu(), mean.gpu(), rstd.gpu());
    });
  }
  {  // multi-query attention: dk and dv summed over all NH query heads
    const int64_t QKV = C + 2 * (C / NH);
    Twin qkv(*gpu, bf16, {B, T, QKV}, randn(N * QKV, seed++)), out(*gpu, bf16, {B, T, C});
    DeviceTensor lse(*gpu, f32, gpu->attention_state_shape(B, T, NH)),
        scratch(*gpu, f32, gpu->attention_state_shape(B, T, NH));
    gpu->attention_forward(out.gpu(), lse, qkv.gpu(), NH);
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        dqkv(*gpu, bf16, {B, T, QKV}, randn(N * QKV, seed++));
    run_twice("attention_backward (multi-query)", {&dqkv}, [&] {
      gpu->attention_backward(dqkv.gpu(), scratch, dout.gpu(), qkv.gpu(), out.gpu(), lse, NH);
    });
  }
  {  // rmsnorm
    Twin inp(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        weight(*gpu, bf16, {C}, randn(C, seed++, 0.2, 1.0));
    Twin out(*gpu, bf16, {B, T, C}), rstd(*gpu, f32, {B, T});
    gpu->rmsnorm_forward(out.gpu(), rstd.gpu(), inp.gpu(), weight.gpu(), 1e-5);
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        dinp(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin dweight(*gpu, bf16, {C}, randn(C, seed++));
    run_twice("rmsnorm_backward", {&dinp, &dweight}, [&] {
      gpu->rmsnorm_backward(dinp.gpu(), dweight.gpu(), dout.gpu(), inp.gpu(), weight.gpu(),
                            rstd.gpu());
    });
  }
  {  // matmul, GPT-2's qkv projection
    Twin inp(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        weight(*gpu, bf16, {OC, C}, randn(OC * C, seed++, 0.036));
    Twin dout(*gpu, bf16, {B, T, OC}, randn(N * OC, seed++)),
        dinp(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin dweight(*gpu, bf16, {OC, C}, randn(OC * C, seed++)),
        dbias(*gpu, bf16, {OC}, randn(OC, seed++));
    run_twice("matmul_backward", {&dinp, &dweight, &dbias}, [&] {
      gpu->matmul_backward(dinp.gpu(), dweight.gpu(), dbias.gpu(), dout.gpu(), inp.gpu(),
                           weight.gpu());
    });
  }
  {  // encoder: 7 tokens over 516 positions, so each row of dwte sums ~70 rows of dout
    const std::vector<int32_t> tokens = random_tokens(N, 7, seed++);
    const DeviceTensor tokens_gpu = upload_tokens(*gpu, tokens, {B, T});
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin dwte(*gpu, bf16, {Vp, C}, randn(Vp * C, seed++)),
        dwpe(*gpu, bf16, {T, C}, randn(T * C, seed++));
    run_twice("encoder_backward", {&dwte, &dwpe},
              [&] { gpu->encoder_backward(dwte.gpu(), dwpe.gpu(), dout.gpu(), tokens_gpu); });
  }
  {  // sum_of_squares
    Twin x(*gpu, bf16, {3'000'001}, randn(3'000'001, seed++));
    const double first = gpu->sum_of_squares(x.gpu()), second = gpu->sum_of_squares(x.gpu());
    CHECK(std::memcmp(&first, &second, sizeof(double)) == 0);
  }
}

// ---------------------------------------------------------------------------------------------
// The whole model. Here the errors of every bf16 rounding in two layers (about 15 roundings of
// activations forward and 30 of gradients backward, each up to 2^-8 relative) add up like a random
// walk, so the bounds are norm-wise, ||gpu - cpu|| / ||cpu|| per tensor, and were set from a
// measurement: the CPU f32 model against a CPU backend that rounds every output the GPU keeps in
// bf16 to bf16 (the GPU's rounding pattern without its kernels; a scratch program, not in the
// repo), over 14 weight seeds. The bounds are 3.5-10x the worst measured; a wrong op, index or
// dtype gives errors of order 1.
namespace {

// V = 61 padded to 128; hs = 16; every dimension distinct.
GPTConfig tiny_gpt() {
  GPTConfig c;
  c.vocab_size = 61;
  c.max_seq_len = 32;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 32;
  return c;
}

// The same with every Llama-style switch on: RMSNorm, RoPE, SwiGLU (hidden 48), grouped-query
// attention (2 key/value heads for 4 query heads, hs = 8), an untied lm_head, no biases.
GPTConfig tiny_llama() {
  GPTConfig c = tiny_gpt();
  c.n_head = 4;
  c.n_kv_head = 2;
  c.norm = "rmsnorm";
  c.norm_eps = 1e-5;
  c.position = "rope";
  c.mlp = "swiglu";
  c.mlp_hidden = 48;
  c.tie_embeddings = false;
  c.bias = false;
  return c;
}

// The models the whole-model tests run, with a name for their messages.
std::vector<std::pair<std::string, GPTConfig>> tiny_models() {
  return {{"GPT-2", tiny_gpt()}, {"Llama-style", tiny_llama()}};
}

// How load_same_weights draws the matrices and embeddings. Either way the layernorm gains are
// 1 + N(0, 0.1^2) and the biases N(0, 0.1^2), off the special values 1 and 0.
enum class WeightScale {
  // matrices N(0, 1/fan_in), embeddings N(0, 0.3^2): every activation is O(1) and the logits spread
  // ~2, so every op matters to the loss (GPT-2's initialisation leaves the logits near 0 and the
  // loss near ln V whatever the layers compute)
  order_one,
  // GPT-2's N(0, 0.02^2): a network near its ln V starting loss, which training lowers smoothly
  gpt2,
};

// The same weights in two models, rounded to bf16 once (wte's padding rows stay 0).
void load_same_weights(GPT& a, GPT& b, WeightScale scale, uint32_t seed) {
  const GPTConfig& config = a.config();
  std::map<std::string, std::vector<double>> weights;
  a.params.visit([&](const char* name_c, Tensor&, Shape shape) {
    const std::string name = name_c;
    const size_t n = static_cast<size_t>(shape.numel());
    const bool gpt2 = scale == WeightScale::gpt2;
    std::vector<double> w;
    if (name == "ln1w" || name == "ln2w" || name == "lnfw")
      w = randn(n, seed++, 0.1, 1.0);
    else if (is_bias(name_c))
      w = randn(n, seed++, 0.1);
    else if (name == "wte" || name == "wpe")
      w = randn(n, seed++, gpt2 ? 0.02 : 0.3);
    else
      w = randn(n, seed++,
                gpt2 ? 0.02 : 1.0 / std::sqrt(double(shape[shape.rank - 1])));  // (L, out, in)
    if (name == "wte" || name == "lm_head")
      std::fill(w.begin() + int64_t(config.vocab_size) * config.n_embd, w.end(), 0.0);
    for (double& x : w) x = round_to(DType::bf16, x);
    weights[name] = w;
  });
  for (GPT* model : {&a, &b})
    model->params.visit([&](const char* name, Tensor& t, Shape) {
      tensor_from_host_f64(model->backend(), t, weights.at(name));
    });
}

std::vector<std::pair<std::string, Tensor>> named_tensors(ParameterTensors& tensors) {
  std::vector<std::pair<std::string, Tensor>> out;
  tensors.visit([&](const char* name, Tensor& t, Shape) { out.push_back({name, t}); });
  return out;
}

void expect_relative_rms(const std::string& what, const std::vector<double>& gpu,
                         const std::vector<double>& cpu, double bound) {
  const double error = relative_rms_error(gpu, cpu);
  std::printf("  [worst/bound %.3g] %s: ||gpu - cpu|| / ||cpu|| = %.3g\n", error / bound,
              what.c_str(), error);
  INFO(what << ": ||gpu - cpu|| / ||cpu|| = " << error << ", allowed " << bound);
  CHECK(error <= bound);
}

}  // namespace

TEST_CASE(
    "cuda GPT: loss, logits and every parameter gradient match the CPU model (GPT-2 and "
    "Llama-style)") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  for (const auto& [model_name, config] : tiny_models()) {
    INFO("model: " << model_name);
    std::printf("  model: %s\n", model_name.c_str());
    GPT cpu_model(config, *cpu), gpu_model(config, *gpu);
    load_same_weights(cpu_model, gpu_model, WeightScale::order_one, 1);
    const int B = 3, T = 29;  // T below max_seq_len and no multiple of a tile
    const std::vector<int32_t> tokens = random_tokens(B * T, config.vocab_size, 2),
                               targets = random_tokens(B * T, config.vocab_size, 3);
    // Measured worst (see above): loss 3.5e-4 relative, logits 7.3e-3, gradients 1.13e-2 (qkvw,
    // ln1w, wpe, ln2b; the others 3e-3 .. 1e-2). Bounds: 2e-3, 2.5e-2, 4e-2. The Llama-style
    // model, one weight seed on the CUDA emulation: logits 8.0e-3, gradients up to 1.9e-2 (ln1w;
    // wte, ln2w, qkvw 1.6e-2): inside the same bounds with a margin of 2.
    const double loss_bound = 2e-3, logits_bound = 2.5e-2, gradient_bound = 4e-2;

    const double cpu_loss = cpu_model.forward(tokens.data(), targets.data(), B, T);
    const double gpu_loss = gpu_model.forward(tokens.data(), targets.data(), B, T);
    INFO("forward loss: gpu " << gpu_loss << ", cpu " << cpu_loss << " (relative " << loss_bound
                              << " allowed)");
    CHECK(std::abs(gpu_loss - cpu_loss) <= loss_bound * cpu_loss);
    CHECK(gpu_model.forward(tokens.data(), targets.data(), B, T) == gpu_loss);  // deterministic
    expect_relative_rms("GPT logits", tensor_to_host_f64(*gpu, gpu_model.acts.logits),
                        tensor_to_host_f64(*cpu, cpu_model.acts.logits), logits_bound);

    cpu_model.zero_grad();
    gpu_model.zero_grad();
    const double cpu_loss2 = cpu_model.forward_backward(tokens.data(), targets.data(), B, T);
    const double gpu_loss2 = gpu_model.forward_backward(tokens.data(), targets.data(), B, T);
    INFO("forward_backward loss: gpu " << gpu_loss2 << ", cpu " << cpu_loss2);
    CHECK(std::abs(gpu_loss2 - cpu_loss2) <= loss_bound * cpu_loss2);
    const auto cpu_grads = named_tensors(cpu_model.grads),
               gpu_grads = named_tensors(gpu_model.grads);
    for (size_t i = 0; i < cpu_grads.size(); i++)
      expect_relative_rms("GPT gradient " + cpu_grads[i].first,
                          tensor_to_host_f64(*gpu, gpu_grads[i].second),
                          tensor_to_host_f64(*cpu, cpu_grads[i].second), gradient_bound);
  }
}

TEST_CASE(
    "cuda GPT: AdamW steps (10; 2 at small shapes) give the CPU run's losses (GPT-2; "
    "Llama-style at large shapes)") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  // At small shapes (CI, under the emulation) only GPT-2: the Llama-style model's kernels are
  // covered by the gradient test above, and a second model here doubles the label's time.
  auto models = tiny_models();
  if (!large_shapes()) models.resize(1);
  for (const auto& [model_name, config] : models) {
    INFO("model: " << model_name);
    std::printf("  model: %s\n", model_name.c_str());
    GPT cpu_model(config, *cpu), gpu_model(config, *gpu);
    // GPT-2-scale weights: with O(1) weights the two runs drift apart ~10x faster (~5e-3 after 10
    // steps, measured) and the test would measure the chaos of training rather than the GPU.
    load_same_weights(cpu_model, gpu_model, WeightScale::gpt2, 11);
    // After the weights: on the GPU AdamW initialises its f32 master weights from the bf16 params.
    const AdamWConfig adam;  // beta1 0.9, beta2 0.99, weight decay 0.1 on the matrices
    AdamW cpu_opt(cpu_model, adam), gpu_opt(gpu_model, adam);
    // One batch, seen every step: the loss falls ~12% in 10 steps, so the run is a real
    // optimisation (and falls already at the second of the 2 steps at small shapes).
    const int B = 4, T = 32;
    const int steps = large_shapes() ? 10 : 2;
    const double final_loss_ratio = steps == 10 ? 0.95 : 1.0;
    const std::vector<int32_t> tokens = random_tokens(B * T, config.vocab_size, 12),
                               targets = random_tokens(B * T, config.vocab_size, 13);
    // Measured worst over 8 weight seeds: losses 5e-4 relative over the 10 steps; the gradient norm
    // 7e-4 at step 0. Bounds 5e-3 for both. The norm is checked at step 0 only: later, Adam's
    // sign-like steps turn tiny gradient differences of the parameters with small gradients into
    // whole-lr differences, and the norms drift apart by up to 2.5e-2 while the losses agree.
    const double loss_bound = 5e-3, norm_bound = 5e-3;
    auto train_step = [&](GPT& model, AdamW& optimizer) {
      model.zero_grad();
      const double loss = model.forward_backward(tokens.data(), targets.data(), B, T);
      const double norm = global_grad_norm(model);
      optimizer.step(3e-3f, 1.0f);
      return std::pair{loss, norm};
    };
    std::vector<double> cpu_losses, gpu_losses;
    for (int step = 0; step < steps; step++) {
      const auto [cpu_loss, cpu_norm] = train_step(cpu_model, cpu_opt);
      const auto [gpu_loss, gpu_norm] = train_step(gpu_model, gpu_opt);
      cpu_losses.push_back(cpu_loss);
      gpu_losses.push_back(gpu_loss);
      std::printf("  step %d: loss gpu %.6f cpu %.6f, grad norm gpu %.6f cpu %.6f\n", step,
                  gpu_loss, cpu_loss, gpu_norm, cpu_norm);
      INFO("step " << step << ": loss gpu " << gpu_loss << ", cpu " << cpu_loss << " (relative "
                   << loss_bound << " allowed); grad norm gpu " << gpu_norm << ", cpu "
                   << cpu_norm);
      CHECK(std::abs(gpu_loss - cpu_loss) <= loss_bound * cpu_loss);
      if (step == 0) CHECK(std::abs(gpu_norm - cpu_norm) <= norm_bound * cpu_norm);
    }
    CHECK(cpu_losses.back() < final_loss_ratio * cpu_losses.front());
    CHECK(gpu_losses.back() < final_loss_ratio * gpu_losses.front());
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda GPT: Muon steps (f32 momentum and masters, bf16 Newton-Schulz) follow the CPU's") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  // One layer: its four hidden matrices have the four shapes (tall, square, tall, wide), and the
  // emulation's time goes per launch, which a second layer would double.
  GPTConfig config = tiny_gpt();
  config.n_layer = 1;
  GPT cpu_model(config, *cpu), gpu_model(config, *gpu);
  load_same_weights(cpu_model, gpu_model, WeightScale::gpt2, 21);
  // After the weights: on the GPU Muon initialises its f32 masters from the bf16 params.
  Muon cpu_muon(cpu_model, MuonConfig{}), gpu_muon(gpu_model, MuonConfig{});
  REQUIRE(gpu_muon.has_master());
  std::map<std::string, Tensor> cpu_momentum, gpu_momentum, gpu_master;
  cpu_muon.visit_momentum([&](const char* name, Tensor t) { cpu_momentum[name] = t; });
  gpu_muon.visit_momentum([&](const char* name, Tensor t) { gpu_momentum[name] = t; });
  gpu_muon.visit_master([&](const char* name, Tensor t) { gpu_master[name] = t; });
  REQUIRE(gpu_master.size() == 4);
  // The hidden matrices as they were before the last step: CPU weights and GPU masters.
  std::map<std::string, std::vector<double>> cpu_before, gpu_before;

  // Each step's gradients come from the CPU model (the GPU's forward and backward are the GPT
  // test's subject), rounded to bf16 and handed to both sides, so the two optimizers see the same
  // numbers and a difference measures Muon's precision alone: the f32 momentum, the bf16 U and
  // Newton-Schulz iteration, the f32 masters. A new batch every step, so that successive
  // gradients differ and the Nesterov look-ahead changes the update's direction, not only its size
  // (which Newton-Schulz normalises away).
  const int B = 2, T = 16, steps = 2;
  const float lr = 0.02f, grad_scale = 0.5f;  // as clipping would scale: exact in both dtypes
  double first_loss = 0;                      // the first batch's, before any step
  for (int step = 0; step < steps; step++) {
    const std::vector<int32_t> tokens = random_tokens(B * T, config.vocab_size, 40 + 2 * step),
                               targets = random_tokens(B * T, config.vocab_size, 41 + 2 * step);
    cpu_model.zero_grad();
    const double loss = cpu_model.forward_backward(tokens.data(), targets.data(), B, T);
    if (step == 0) first_loss = loss;
    for (const auto& [name, g] : named_tensors(cpu_model.grads)) {
      std::vector<double> rounded = tensor_to_host_f64(*cpu, g);
      for (double& x : rounded) x = round_to(DType::bf16, x);
      tensor_from_host_f64(*cpu, g, rounded);
      gpu_model.grads.visit([&](const char* n, Tensor& t, Shape) {
        if (name == n) tensor_from_host_f64(*gpu, t, rounded);
      });
    }
    if (step == steps - 1) {
      for (const auto& [name, t] : named_tensors(cpu_model.params)) {
        if (!is_muon_matrix(name.c_str())) continue;
        cpu_before[name] = tensor_to_host_f64(*cpu, t);
        gpu_before[name] = tensor_to_host_f64(*gpu, gpu_master.at(name));
      }
    }
    cpu_muon.step(lr, grad_scale);
    gpu_muon.step(lr, grad_scale);
  }

  // Measured on the emulation: the momentum is bit-equal (f32 from the same bf16 gradients, the
  // same formula); the last step's update differs by 5.9e-2 .. 1.0e-1 (relative RMS), the bf16
  // rounding of U and of the 15 products and sums of the 5 Newton-Schulz iterations (PyTorch's
  // bf16 iteration, measured the same way, is 4-8% off its f64 one on matrices of these shapes).
  // Bounds: 1e-5 and 2e-1. Planted bugs: a missed master update errs by 1 (the masters stay), the
  // Nesterov term left out (U = buf) by 0.39 .. 0.45.
  const double momentum_bound = 1e-5, update_bound = 2e-1;
  for (const auto& [name, t] : named_tensors(cpu_model.params)) {
    if (!is_muon_matrix(name.c_str())) continue;
    expect_relative_rms("Muon momentum " + name, tensor_to_host_f64(*gpu, gpu_momentum.at(name)),
                        tensor_to_host_f64(*cpu, cpu_momentum.at(name)), momentum_bound);
    // The last step's update (the weights' size would hide it), whose U has a momentum term.
    std::vector<double> cpu_update = tensor_to_host_f64(*cpu, t),
                        master = tensor_to_host_f64(*gpu, gpu_master.at(name));
    std::vector<double> gpu_update = master;
    for (size_t i = 0; i < master.size(); i++) {
      cpu_update[i] -= cpu_before.at(name)[i];
      gpu_update[i] -= gpu_before.at(name)[i];
    }
    expect_relative_rms("Muon update " + name, gpu_update, cpu_update, update_bound);
    // The bf16 weights are exactly the masters' rounding.
    Tensor param;
    gpu_model.params.visit([&](const char* n, Tensor& p, Shape) {
      if (name == n) param = p;
    });
    const std::vector<double> weights = tensor_to_host_f64(*gpu, param);
    int64_t wrong = 0;
    for (size_t i = 0; i < master.size(); i++)
      wrong += weights[i] != round_to(DType::bf16, master[i]);
    INFO("Muon " << name << ": " << wrong << " weights differ from bf16(master)");
    CHECK(wrong == 0);
  }

  // The models with their new weights: the same loss on the first batch, lower than before the
  // steps. Measured: 3e-6 relative; bound 2e-3, the GPT test's for a forward pass.
  const std::vector<int32_t> tokens = random_tokens(B * T, config.vocab_size, 40),
                             targets = random_tokens(B * T, config.vocab_size, 41);
  const double cpu_loss = cpu_model.forward(tokens.data(), targets.data(), B, T);
  const double gpu_loss = gpu_model.forward(tokens.data(), targets.data(), B, T);
  std::printf("  the first batch's loss: %.6f before, after %d Muon steps gpu %.6f cpu %.6f\n",
              first_loss, steps, gpu_loss, cpu_loss);
  CHECK(std::abs(gpu_loss - cpu_loss) <= 2e-3 * cpu_loss);
  CHECK(gpu_loss < first_loss);
  CHECK(cpu_loss < first_loss);
}

TEST_SUITE_END();
