// Tests of causal self-attention (multi-head, grouped-query, cached decoding): the CPU reference
// (llm/backend/cpu/attention.cpp, suite "cpu") against its formula and finite differences, and the
// CUDA kernels (kernels/attention.cu, suite "cuda") against it. The method and the tolerances:
// tests/ops/op_tests.hpp.
#include <doctest/doctest.h>

#include "tests/ops/op_tests.hpp"

using namespace llm;
using namespace op_tests;

TEST_SUITE_BEGIN("cpu");

// ---------------------------------------------------------------------------------------------
namespace {

// Naive causal attention, straight from the definition: out (B, T, C), probabilities (B, NH, T, T).
void naive_attention(std::vector<double>& out, std::vector<double>& probs,
                     const std::vector<double>& qkv, int64_t Tlen) {
  out.assign(B * Tlen * C, 0.0);
  probs.assign(B * NH * Tlen * Tlen, 0.0);
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < NH; h++)
      for (int64_t i = 0; i < Tlen; i++) {
        auto q = [&](int64_t c) { return qkv[(b * Tlen + i) * 3 * C + h * hs + c]; };
        auto k = [&](int64_t j, int64_t c) { return qkv[(b * Tlen + j) * 3 * C + C + h * hs + c]; };
        auto v = [&](int64_t j, int64_t c) {
          return qkv[(b * Tlen + j) * 3 * C + 2 * C + h * hs + c];
        };
        std::vector<double> s(i + 1);
        double max = -1e300, sum = 0;
        for (int64_t j = 0; j <= i; j++) {  // keys after i are masked out
          s[j] = 0;
          for (int64_t c = 0; c < hs; c++) s[j] += q(c) * k(j, c) / std::sqrt(double(hs));
          max = std::max(max, s[j]);
        }
        for (int64_t j = 0; j <= i; j++) sum += std::exp(s[j] - max);
        for (int64_t j = 0; j <= i; j++) {
          const double p = std::exp(s[j] - max) / sum;
          probs[((b * NH + h) * Tlen + i) * Tlen + j] = p;
          for (int64_t c = 0; c < hs; c++) out[(b * Tlen + i) * C + h * hs + c] += p * v(j, c);
        }
      }
}

}  // namespace

TEST_CASE(
    "attention: forward against the definition, causal mask, backward by finite differences") {
  auto be = make_cpu_backend(DType::f64);
  CHECK(be->attention_state_shape(B, T, NH) == Shape{B, NH, T, T});
  std::vector<double> qkv = randn(B * T * 3 * C, 40);
  std::vector<double> out(B * T * C),
      att = randn(B * NH * T * T, 41);  // garbage: must be overwritten
  be->attention_forward(view(out, {B, T, C}), view(att, {B, NH, T, T}), view(qkv, {B, T, 3 * C}),
                        NH);
  std::vector<double> expected_out, expected_att;
  naive_attention(expected_out, expected_att, qkv, T);
  CHECK(max_error(out, expected_out) < 1e-12);
  CHECK(max_error(att, expected_att) < 1e-12);  // includes the upper triangle being exactly 0
  for (int64_t bh = 0; bh < B * NH; bh++)
    for (int64_t i = 0; i < T; i++)
      for (int64_t j = i + 1; j < T; j++) CHECK(att[(bh * T + i) * T + j] == 0.0);

  // causality: changing the last position's k and v leaves every earlier output untouched (up to
  // rounding: Eigen's small products sum in an order that depends on the buffers' alignment, so two
  // equal computations in different buffers may differ in the last bit; a leak of the future would
  // move them by ~1e-2)
  std::vector<double> qkv_future = qkv, out_future(B * T * C), att_future(B * NH * T * T);
  for (int64_t b = 0; b < B; b++)
    for (int64_t c = C; c < 3 * C; c++) qkv_future[(b * T + T - 1) * 3 * C + c] += 1.0;
  be->attention_forward(view(out_future, {B, T, C}), view(att_future, {B, NH, T, T}),
                        view(qkv_future, {B, T, 3 * C}), NH);
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t c = 0; c < C; c++) {
        const int64_t i = (b * T + t) * C + c;
        if (t < T - 1)
          CHECK(std::abs(out_future[i] - out[i]) <= 1e-14);
        else
          CHECK(std::abs(out_future[i] - out[i]) > 1e-6);
      }

  std::vector<double> w = randn(B * T * C, 42);
  auto loss = [&](std::vector<double> x) {
    std::vector<double> y(B * T * C), a(B * NH * T * T);
    be->attention_forward(view(y, {B, T, C}), view(a, {B, NH, T, T}), view(x, {B, T, 3 * C}), NH);
    return dot(w, y);
  };
  const std::vector<double> dqkv0 = randn(B * T * 3 * C, 43);
  std::vector<double> dqkv = dqkv0, scratch = randn(B * NH * T * T, 44);
  be->attention_backward(view(dqkv, {B, T, 3 * C}), view(scratch, {B, NH, T, T}),
                         view(w, {B, T, C}), view(qkv, {B, T, 3 * C}), view(out, {B, T, C}),
                         view(att, {B, NH, T, T}), NH);
  expect_gradient("dqkv", loss, qkv, minus(dqkv, dqkv0));
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("attention_forward_cached: a prefill then token by token equals attention_forward") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t maxT = 7, prefill = 3;
  std::vector<double> qkv = randn(B * T * 3 * C, 50);
  std::vector<double> full(B * T * C), att(B * NH * T * T);
  be->attention_forward(view(full, {B, T, C}), view(att, {B, NH, T, T}), view(qkv, {B, T, 3 * C}),
                        NH);

  std::vector<double> k_cache(B * NH * maxT * hs, 0.0), v_cache(B * NH * maxT * hs, 0.0);
  std::vector<double> cached(B * T * C);  // the outputs of all steps, laid out like `full`
  // Run positions [t0, t0 + Tn) of every batch row through the cache.
  auto step = [&](int64_t t0, int64_t Tn) {
    std::vector<double> chunk(B * Tn * 3 * C), out(B * Tn * C);
    for (int64_t b = 0; b < B; b++)
      for (int64_t t = 0; t < Tn; t++)
        for (int64_t c = 0; c < 3 * C; c++)
          chunk[(b * Tn + t) * 3 * C + c] = qkv[(b * T + t0 + t) * 3 * C + c];
    be->attention_forward_cached(view(out, {B, Tn, C}), view(k_cache, {B, NH, maxT, hs}),
                                 view(v_cache, {B, NH, maxT, hs}), view(chunk, {B, Tn, 3 * C}), NH,
                                 static_cast<int>(t0));
    for (int64_t b = 0; b < B; b++)
      for (int64_t t = 0; t < Tn; t++)
        for (int64_t c = 0; c < C; c++)
          cached[(b * T + t0 + t) * C + c] = out[(b * Tn + t) * C + c];
  };
  step(0, prefill);
  for (int64_t t = prefill; t < T; t++) step(t, 1);
  CHECK(max_error(cached, full) < 1e-12);  // the same math in a different order

  // the caches hold every position's key and value, head by head
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < NH; h++)
      for (int64_t t = 0; t < T; t++)
        for (int64_t c = 0; c < hs; c++) {
          const int64_t at = ((b * NH + h) * maxT + t) * hs + c;
          CHECK(k_cache[at] == qkv[(b * T + t) * 3 * C + C + h * hs + c]);
          CHECK(v_cache[at] == qkv[(b * T + t) * 3 * C + 2 * C + h * hs + c]);
        }

  // a chunk that would run past the cache is an error
  std::vector<double> chunk(B * 3 * 3 * C), out(B * 3 * C);
  CHECK_THROWS_AS(be->attention_forward_cached(
                      view(out, {B, 3, C}), view(k_cache, {B, NH, maxT, hs}),
                      view(v_cache, {B, NH, maxT, hs}), view(chunk, {B, 3, 3 * C}), NH, 5),
                  Error);
}

// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "grouped-query attention: equals multi-head attention on repeated key/value heads; "
    "backward by finite differences; cached decoding") {
  auto be = make_cpu_backend(DType::f64);
  const int64_t NH6 = 6, hs2 = C / NH6, maxT = 6;  // 6 query heads of 2 channels
  for (int64_t NKV : {int64_t(1), int64_t(2), int64_t(3)}) {
    CAPTURE(NKV);
    const int64_t QKV = C + 2 * NKV * hs2, group = NH6 / NKV;
    std::vector<double> qkv = randn(B * T * QKV, 150 + NKV);
    std::vector<double> out(B * T * C), att(B * NH6 * T * T);
    be->attention_forward(view(out, {B, T, C}), view(att, {B, NH6, T, T}), view(qkv, {B, T, QKV}),
                          int(NH6));
    // The same attention with each key/value head copied to every query head of its group.
    std::vector<double> repeated(B * T * 3 * C), mha_out(B * T * C), mha_att(B * NH6 * T * T);
    for (int64_t bt = 0; bt < B * T; bt++)
      for (int64_t h = 0; h < NH6; h++)
        for (int64_t c = 0; c < hs2; c++) {
          const int64_t kvh = h / group;
          repeated[bt * 3 * C + h * hs2 + c] = qkv[bt * QKV + h * hs2 + c];
          repeated[bt * 3 * C + C + h * hs2 + c] = qkv[bt * QKV + C + kvh * hs2 + c];
          repeated[bt * 3 * C + 2 * C + h * hs2 + c] =
              qkv[bt * QKV + C + NKV * hs2 + kvh * hs2 + c];
        }
    be->attention_forward(view(mha_out, {B, T, C}), view(mha_att, {B, NH6, T, T}),
                          view(repeated, {B, T, 3 * C}), int(NH6));
    CHECK(max_error(out, mha_out) < 1e-12);

    std::vector<double> w = randn(B * T * C, 160 + NKV);
    auto loss = [&](std::vector<double> x) {
      std::vector<double> y(B * T * C), a(B * NH6 * T * T);
      be->attention_forward(view(y, {B, T, C}), view(a, {B, NH6, T, T}), view(x, {B, T, QKV}),
                            int(NH6));
      return dot(w, y);
    };
    const std::vector<double> dqkv0 = randn(B * T * QKV, 170 + NKV);
    std::vector<double> dqkv = dqkv0, scratch(B * NH6 * T * T);
    be->attention_backward(view(dqkv, {B, T, QKV}), view(scratch, {B, NH6, T, T}),
                           view(w, {B, T, C}), view(qkv, {B, T, QKV}), view(out, {B, T, C}),
                           view(att, {B, NH6, T, T}), int(NH6));
    expect_gradient("dqkv", loss, qkv, minus(dqkv, dqkv0));

    // decoding: a prefill of 2 positions, then one at a time, into caches of NKV heads
    std::vector<double> k_cache(B * NKV * maxT * hs2), v_cache(B * NKV * maxT * hs2);
    std::vector<double> cached(B * T * C);
    auto step = [&](int64_t t0, int64_t Tn) {
      std::vector<double> chunk(B * Tn * QKV), y(B * Tn * C);
      for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < Tn; t++)
          for (int64_t c = 0; c < QKV; c++)
            chunk[(b * Tn + t) * QKV + c] = qkv[(b * T + t0 + t) * QKV + c];
      be->attention_forward_cached(view(y, {B, Tn, C}), view(k_cache, {B, NKV, maxT, hs2}),
                                   view(v_cache, {B, NKV, maxT, hs2}), view(chunk, {B, Tn, QKV}),
                                   int(NH6), int(t0));
      for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < Tn; t++)
          for (int64_t c = 0; c < C; c++)
            cached[(b * T + t0 + t) * C + c] = y[(b * Tn + t) * C + c];
    };
    step(0, 2);
    for (int64_t t = 2; t < T; t++) step(t, 1);
    CHECK(max_error(cached, out) < 1e-12);
  }
  // a qkv whose key/value part does not split into whole heads of a divisor of NH is an error
  std::vector<double> bad(B * T * (C + 2 * 4 * hs2)), out(B * T * C), att(B * NH6 * T * T);
  CHECK_THROWS_WITH_AS(be->attention_forward(view(out, {B, T, C}), view(att, {B, NH6, T, T}),
                                             view(bad, {B, T, C + 8 * hs2}), int(NH6)),
                       doctest::Contains("attention_forward: qkv has shape"), Error);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("cuda");

// ---------------------------------------------------------------------------------------------
namespace {

// lse[b, h, i] = log sum_{j <= i} exp(q_i . k_j / sqrt(hs)), in double, from (B, T, C + 2 NKV hs)
// qkv, k_j of key/value head h / (NH / NKV): the attention state a flash kernel saves, made from
// the same scores the CPU's softmax normalises.
std::vector<double> host_log_sum_exp(const std::vector<double>& qkv, int64_t B, int64_t T,
                                     int64_t NH, int64_t NKV, int64_t C) {
  const int64_t hs = C / NH, QKV = C + 2 * NKV * hs;
  std::vector<double> lse(B * NH * T);
  std::vector<double> scores(T);
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < NH; h++)
      for (int64_t i = 0; i < T; i++) {
        double max = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j <= i; j++) {
          double s = 0;
          for (int64_t c = 0; c < hs; c++)
            s += qkv[(b * T + i) * QKV + h * hs + c] *
                 qkv[(b * T + j) * QKV + C + h / (NH / NKV) * hs + c];
          scores[j] = s / std::sqrt(double(hs));
          max = std::max(max, scores[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j <= i; j++) sum += std::exp(scores[j] - max);
        lse[(b * NH + h) * T + i] = max + std::log(sum);
      }
  return lse;
}

}  // namespace

TEST_CASE(
    "cuda attention: forward (out, log-sum-exps), backward, and cached decoding vs the CPU; "
    "multi-head, grouped-query and multi-query") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  // head sizes 16, 16, 32, 32, 64, 128; T = 1, 7, 33, 64 and 129 (one past a power of two); the
  // large ones GPT-2's: T = 1024 with head sizes 64 (C = 768 and GPT-2 XL's 1600) and 128.
  // NKV < NH: grouped-query (2 key/value heads for 4 query heads, Llama 3's 8 for 32 at large
  // shapes) and multi-query (NKV = 1); NKV = NH is ordinary multi-head attention.
  struct Case {
    int B, T, NH, NKV, C;
  };
  const std::vector<Case> cases = cases_for<Case>({{1, 1, 1, 1, 16},
                                                   {2, 7, 3, 3, 48},
                                                   {3, 64, 3, 3, 96},
                                                   {1, 129, 4, 4, 128},
                                                   {2, 7, 1, 1, 64},
                                                   {1, 33, 1, 1, 128},
                                                   {2, 37, 4, 2, 64},
                                                   {3, 7, 4, 1, 32}},
                                                  {{4, 129, 12, 12, 768},
                                                   {1, 1024, 12, 12, 768},
                                                   {1, 1024, 25, 25, 1600},
                                                   {1, 1024, 6, 6, 768},
                                                   {1, 1024, 32, 8, 2048}});
  uint32_t seed = 400;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, NH = k.NH, NKV = k.NKV, C = k.C, hs = C / NH;
    const int64_t KVC = NKV * hs, QKV = C + 2 * KVC;
    const std::string label =
        shape_label({{"B", B}, {"T", T}, {"NH", NH}, {"NKV", NKV}, {"hs", hs}});
    // q, k ~ N(0, 1) make the scores ~ N(0, 1): softmaxes neither flat nor one-hot
    Twin qkv(*gpu, bf16, {B, T, QKV}, randn(B * T * QKV, seed++));
    const double v_rms = rms(qkv_part(qkv.cpu_values(), C, KVC, 2));

    // forward. The states differ by design: the CPU keeps the probabilities (B, NH, T, T), the GPU
    // the log-sum-exps (B, NH, T).
    Twin out(*gpu, bf16, {B, T, C});
    const Shape probs_shape = cpu->attention_state_shape(B, T, NH),
                state_shape = gpu->attention_state_shape(B, T, NH);
    std::vector<float> probs(probs_shape.numel());
    DeviceTensor lse(*gpu, f32, state_shape);
    cpu->attention_forward(out.cpu(), view(probs, probs_shape), qkv.cpu(), NH);
    gpu->attention_forward(out.gpu(), lse, qkv.gpu(), NH);
    expect_close("attention out " + label, out.gpu_values(), out.cpu_values(), bf16_result(v_rms));
    // lse_i = log sum_j exp(s_ij) of the scaled scores, natural log (attention.cu's convention),
    // f32 from exact inputs: 1e-4 absolute + relative.
    expect_close("attention log-sum-exp " + label, tensor_to_host_f64(*gpu, lse),
                 host_log_sum_exp(qkv.cpu_values(), B, T, NH, NKV, C),
                 {1e-4, 1e-4, "f32 log-sum-exp of hs-term scores"});

    // backward: the GPU from its own forward (out, lse), the CPU from its probabilities, both
    // accumulating into the same random dqkv (dk and dv sum over the query heads of a group).
    Twin dout(*gpu, bf16, {B, T, C}, randn(B * T * C, seed++));
    Twin dqkv(*gpu, bf16, {B, T, QKV}, randn(B * T * QKV, seed++, 0.5));
    std::vector<float> dscores(probs.size());
    DeviceTensor scratch(*gpu, f32, state_shape);
    cpu->attention_backward(dqkv.cpu(), view(dscores, probs_shape), dout.cpu(), qkv.cpu(),
                            out.cpu(), view(probs, probs_shape), NH);
    gpu->attention_backward(dqkv.gpu(), scratch, dout.gpu(), qkv.gpu(), out.gpu(), lse, NH);
    const std::vector<double> dqkv_gpu = dqkv.gpu_values(), dqkv_cpu = dqkv.cpu_values();
    const char* part_names[] = {"dq", "dk", "dv"};
    for (int which = 0; which < 3; which++) {
      const std::vector<double> part_cpu = qkv_part(dqkv_cpu, C, KVC, which);
      expect_close(std::string("attention ") + part_names[which] + " " + label,
                   qkv_part(dqkv_gpu, C, KVC, which), part_cpu, bf16_result(rms(part_cpu), 2e-2));
    }

    // Cached decoding: a prefill of T - 4 positions (at least 1), a chunk of 2, then one at a time,
    // must give the full forward's rows. The caches hold maxT = T + 5 positions, all of them
    // starting as large finite garbage: a kernel that attends past pos0 + Tn - 1 is thrown off, and
    // one that masks those keys after exp() rather than before gets inf * 0 = NaN.
    const int64_t maxT = T + 5;
    const std::vector<double> qkv_values = qkv.cpu_values();
    std::vector<double> garbage(B * NKV * maxT * hs);
    for (size_t i = 0; i < garbage.size(); i++) garbage[i] = 1000.0 + double(i % 97);
    DeviceTensor k_cache(*gpu, bf16, {B, NKV, maxT, hs}), v_cache(*gpu, bf16, {B, NKV, maxT, hs});
    tensor_from_host_f64(*gpu, k_cache, garbage);
    tensor_from_host_f64(*gpu, v_cache, garbage);
    std::vector<std::pair<int64_t, int64_t>> chunks;  // (pos0, Tn)
    const int64_t prefill = std::max<int64_t>(1, T - 4);
    chunks.push_back({0, prefill});
    if (prefill + 2 <= T) chunks.push_back({prefill, 2});
    for (int64_t p = chunks.back().first + chunks.back().second; p < T; p++)
      chunks.push_back({p, 1});
    std::vector<double> decoded(B * T * C, std::numeric_limits<double>::quiet_NaN());
    for (auto [pos0, Tn] : chunks) {
      std::vector<double> chunk(B * Tn * QKV);
      for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < Tn; t++)
          for (int64_t c = 0; c < QKV; c++)
            chunk[(b * Tn + t) * QKV + c] = qkv_values[(b * T + pos0 + t) * QKV + c];
      DeviceTensor chunk_gpu(*gpu, bf16, {B, Tn, QKV}), chunk_out(*gpu, bf16, {B, Tn, C});
      tensor_from_host_f64(*gpu, chunk_gpu, chunk);
      gpu->attention_forward_cached(chunk_out, k_cache, v_cache, chunk_gpu, static_cast<int>(NH),
                                    static_cast<int>(pos0));
      const std::vector<double> y = tensor_to_host_f64(*gpu, chunk_out);
      for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < Tn; t++)
          for (int64_t c = 0; c < C; c++)
            decoded[(b * T + pos0 + t) * C + c] = y[(b * Tn + t) * C + c];
    }
    expect_close("attention cached vs CPU full " + label, decoded, out.cpu_values(),
                 bf16_result(v_rms));
    expect_close("attention cached vs GPU full " + label, decoded, out.gpu_values(),
                 bf16_result(v_rms, 2e-2));
    // the caches hold the keys and values of positions 0 .. T-1 exactly, and the garbage after
    const std::vector<double> kc = tensor_to_host_f64(*gpu, k_cache),
                              vc = tensor_to_host_f64(*gpu, v_cache);
    int64_t cache_errors = 0;
    for (int64_t b = 0; b < B; b++)
      for (int64_t h = 0; h < NKV; h++)
        for (int64_t t = 0; t < maxT; t++)
          for (int64_t c = 0; c < hs; c++) {
            const int64_t i = ((b * NKV + h) * maxT + t) * hs + c;
            const int64_t from = (b * T + t) * QKV + C + h * hs + c;  // key/value head h's k
            const double want_k = t < T ? qkv_values[from] : round_to(bf16, garbage[i]);
            const double want_v = t < T ? qkv_values[from + KVC] : round_to(bf16, garbage[i]);
            cache_errors += (kc[i] != want_k) + (vc[i] != want_v);
          }
    INFO("attention_forward_cached "
         << label << ": " << cache_errors
         << " cache elements differ from the keys/values written (exact expected)");
    CHECK(cache_errors == 0);
  }
}

TEST_SUITE_END();
