// Tests of the fused softmax + cross-entropy classifier: the CPU reference
// (llm/backend/cpu/classifier.cpp, suite "cpu") against its formula and finite differences, and the
// CUDA kernels (kernels/classifier.cu, suite "cuda") against it. The method and the tolerances:
// tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "llm/model/config.hpp"
#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

// ---------------------------------------------------------------------------------------------
TEST_CASE("classifier: cross-entropy over the V real columns; dlogits by finite differences") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t N = B * T, V = 11, Vp = 16;
  // The padding columns hold large values: if they leaked into the softmax the loss would change.
  std::vector<double> logits = randn(N * Vp, 80, 2.0);
  for (int64_t n = 0; n < N; n++)
    for (int64_t j = V; j < Vp; j++) logits[n * Vp + j] = 5.0 + j;
  std::vector<int32_t> targets(N);
  for (int64_t n = 0; n < N; n++) targets[n] = static_cast<int32_t>((7 * n + 3) % V);

  std::vector<double> losses(N), z = logits;
  be->classifier_forward(view(losses, {B, T}), view(z, {B, T, Vp}), view(targets, {B, T}), V, 0.0f);
  CHECK(z == logits);  // dloss = 0: forward only, logits untouched
  std::vector<double> expected(N);
  for (int64_t n = 0; n < N; n++) {
    double sum = 0;
    for (int64_t j = 0; j < V; j++) sum += std::exp(logits[n * Vp + j]);
    expected[n] = std::log(sum) - logits[n * Vp + targets[n]];
  }
  CHECK(max_error(losses, expected) < 1e-12);

  // with dloss != 0 the logits become d(dloss * sum_n losses_n) / d logits
  const float dloss = 0.375f;  // exact in float and double
  auto loss = [&](std::vector<double> x) {
    std::vector<double> l(N);
    be->classifier_forward(view(l, {N}), view(x, {N, Vp}), view(targets, {N}), V, 0.0f);
    double s = 0;
    for (double v : l) s += dloss * v;
    return s;
  };
  std::vector<double> dlogits = logits, losses2(N);
  be->classifier_forward(view(losses2, {N}), view(dlogits, {N, Vp}), view(targets, {N}), V, dloss);
  CHECK(losses2 == losses);
  expect_gradient("dlogits", loss, logits, dlogits);
  for (int64_t n = 0; n < N; n++)
    for (int64_t j = V; j < Vp; j++) CHECK(dlogits[n * Vp + j] == 0.0);  // padding: exactly 0

  std::vector<int32_t> bad_targets = targets;
  bad_targets[3] = static_cast<int32_t>(V);  // a padding column is not a valid target
  CHECK_THROWS_AS(be->classifier_forward(view(losses2, {N}), view(dlogits, {N, Vp}),
                                         view(bad_targets, {N}), V, dloss),
                  Error);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda classifier: losses, dlogits with dloss != 0, padding columns exactly 0") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  // V is no multiple of anything, Vp is V padded to 128; the last is GPT-2's vocabulary.
  struct Case {
    int B, T, V;
  };
  // 8293 = 2 x 512 threads x 8 per pack + 101: each thread loops over its row more than once.
  const std::vector<Case> cases =
      cases_for<Case>({{1, 1, 3}, {1, 7, 61}, {3, 11, 997}, {1, 2, 8293}}, {{1, 4, 50257}});
  uint32_t seed = 700;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, N = B * T, V = k.V, Vp = pad_vocab(k.V);
    const std::string label = shape_label({{"N", N}, {"V", V}, {"Vp", Vp}});
    // Large values in the padding columns: had they leaked into the softmax, the losses would move.
    std::vector<double> logits = randn(N * Vp, seed++, 2.0);
    for (int64_t n = 0; n < N; n++)
      for (int64_t j = V; j < Vp; j++) logits[n * Vp + j] = 5.0 + double(j - V);
    std::vector<int32_t> targets(N);
    for (int64_t n = 0; n < N; n++) targets[n] = static_cast<int32_t>((7 * n + 3) % V);
    targets.front() = 0;  // both ends of the real columns
    targets.back() = static_cast<int32_t>(V - 1);
    const DeviceTensor targets_gpu = upload_tokens(*gpu, targets, {B, T});

    // Losses: f32 from exact inputs, log(sum of V exps) - (z_y - max): ~V 2^-24 relative at worst
    // for the sum, far less as summed in practice; 1e-4 absolute + relative.
    const Tolerance loss_tol{1e-4, 1e-4, "f32 log-sum-exp over V"};

    // dloss = 0: the forward only, logits untouched
    Twin z(*gpu, bf16, {B, T, Vp}, logits), losses(*gpu, f32, {B, T});
    cpu->classifier_forward(losses.cpu(), z.cpu(), view(targets, {B, T}), static_cast<int>(V), 0.0);
    gpu->classifier_forward(losses.gpu(), z.gpu(), targets_gpu, static_cast<int>(V), 0.0);
    expect_close("classifier losses " + label, losses.gpu_values(), losses.cpu_values(), loss_tol);
    CHECK(z.gpu_values() == z.cpu_values());

    // dloss = 1/N, as the model's mean loss gives: logits become dlogits
    const double dloss = 1.0 / double(N);
    Twin dz(*gpu, bf16, {B, T, Vp}, logits), losses2(*gpu, f32, {B, T});
    cpu->classifier_forward(losses2.cpu(), dz.cpu(), view(targets, {B, T}), static_cast<int>(V),
                            dloss);
    gpu->classifier_forward(losses2.gpu(), dz.gpu(), targets_gpu, static_cast<int>(V), dloss);
    expect_close("classifier losses (dloss != 0) " + label, losses2.gpu_values(),
                 losses2.cpu_values(), loss_tol);
    const std::vector<double> dlogits = dz.gpu_values();
    expect_close("classifier dlogits " + label, dlogits, dz.cpu_values(),
                 bf16_result(rms(dz.cpu_values())));
    int64_t nonzero_padding = 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t j = V; j < Vp; j++) nonzero_padding += dlogits[n * Vp + j] != 0.0;
    INFO("classifier " << label << ": " << nonzero_padding
                       << " padding columns of dlogits are not exactly 0");
    CHECK(nonzero_padding == 0);
  }
}

TEST_SUITE_END();
