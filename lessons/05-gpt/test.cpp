// Lesson 05 tests: your block and your GPT against the library's model (llm::GPT on the f64 CPU
// backend), with every parameter random (not GPT-2's init, where biases are 0 and gains 1 and would
// hide a missing term). Forward: every saved activation, in order, so the first one that differs
// points at the op to fix. Backward: every parameter gradient. Each backward test feeds your
// function the library's activations, so a forward bug does not show up as a backward failure.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>

#include "common/check.hpp"
#include "lesson.hpp"
#include "llm/backend/cpu/layernorm.hpp"
#include "llm/backend/cpu/matmul.hpp"

using namespace lesson05;
using lesson::expect_close;

namespace {

struct Model {
  std::unique_ptr<llm::Backend> backend = llm::make_cpu_backend(llm::DType::f64);
  std::unique_ptr<llm::GPT> gpt;
  Model(int L, bool random_parameters, uint64_t seed) {
    llm::GPTConfig config;
    config.max_seq_len = 8;
    config.vocab_size = 50;
    config.n_layer = L;
    config.n_head = 2;
    config.n_embd = 16;
    gpt = std::make_unique<llm::GPT>(config, *backend);
    gpt->init_weights(seed);
    if (!random_parameters) return;
    uint64_t s = seed;
    gpt->params.visit([&](const char* name, llm::Tensor& t, llm::Shape) {
      const bool gain =
          std::string(name).find("ln") == 0 && name[std::string(name).size() - 1] == 'w';
      std::vector<double> v = lesson::randn(t.numel(), ++s, 0.3, gain ? 1.0 : 0.0);
      backend->copy_from_host(t, v.data());
    });
  }
  int64_t C() const { return gpt->config().n_embd; }
  int64_t NH() const { return gpt->config().n_head; }
};

std::vector<double> host(const llm::Tensor& t) {
  const double* p = static_cast<const double*>(t.data);
  return std::vector<double>(p, p + t.numel());
}

// The library's saved activations of layer l, in your BlockActs.
BlockActs block_acts_of(llm::ActivationTensors& a, int l) {
  BlockActs b;
  b.ln1 = host(a.ln1.slice(l)), b.ln1_mean = host(a.ln1_mean.slice(l)),
  b.ln1_rstd = host(a.ln1_rstd.slice(l));
  b.qkv = host(a.qkv.slice(l)), b.att = host(a.att.slice(l)), b.atty = host(a.atty.slice(l));
  b.attproj = host(a.attproj.slice(l)), b.residual2 = host(a.residual2.slice(l));
  b.ln2 = host(a.ln2.slice(l)), b.ln2_mean = host(a.ln2_mean.slice(l)),
  b.ln2_rstd = host(a.ln2_rstd.slice(l));
  b.fch = host(a.fch.slice(l)), b.fch_gelu = host(a.fch_gelu.slice(l)),
  b.fcproj = host(a.fcproj.slice(l));
  b.residual3 = host(a.residual3.slice(l));
  return b;
}

// Visits the 12 tensors of a block with their names and sizes.
template <typename Fn> void for_block(Block& a, Block& b, int64_t C, Fn fn) {
  fn("ln1w", a.ln1w, b.ln1w, C), fn("ln1b", a.ln1b, b.ln1b, C),
      fn("qkvw", a.qkvw, b.qkvw, 3 * C * C);
  fn("qkvb", a.qkvb, b.qkvb, 3 * C), fn("attprojw", a.attprojw, b.attprojw, C * C),
      fn("attprojb", a.attprojb, b.attprojb, C);
  fn("ln2w", a.ln2w, b.ln2w, C), fn("ln2b", a.ln2b, b.ln2b, C), fn("fcw", a.fcw, b.fcw, 4 * C * C);
  fn("fcb", a.fcb, b.fcb, 4 * C), fn("fcprojw", a.fcprojw, b.fcprojw, 4 * C * C),
      fn("fcprojb", a.fcprojb, b.fcprojb, C);
}

// Gradient buffers shaped like the model's, filled with random values (a backward must ADD).
struct Grads {
  std::vector<std::vector<double>> storage;
  Gpt view;
  std::vector<double>* add(double*& slot, int64_t n, uint64_t seed) {
    storage.push_back(lesson::randn(n, seed));
    slot = storage.back().data();
    return &storage.back();
  }
  explicit Grads(const Gpt& shape) : view(shape) {
    storage.reserve(4 + 12 * shape.L);
    const int64_t C = shape.C;
    uint64_t s = 1000;
    add(view.wte, shape.Vp * C, ++s), add(view.wpe, shape.maxT * C, ++s);
    add(view.lnfw, C, ++s), add(view.lnfb, C, ++s);
    for (Block& b : view.layers)
      for_block(b, b, C, [&](const char*, double*& x, double*&, int64_t n) { add(x, n, ++s); });
  }
};

}  // namespace

TEST_CASE("block_forward: every activation of the block as llm::GPT computes it") {
  Model m(1, true, 1);
  const int64_t B = 2, T = 5, C = m.C(), NH = m.NH();
  const auto tokens = lesson::randint(B * T, 0, 50, 2), targets = lesson::randint(B * T, 0, 50, 3);
  m.gpt->forward(tokens.data(), targets.data(), B, T);
  llm::ActivationTensors& ref = m.gpt->acts;
  Gpt p = view_of(m.gpt->params);
  BlockActs a;
  a.resize(B, T, C, NH);
  const std::vector<double> x = host(ref.encoded);
  block_forward(a, x.data(), p.layers[0], B, T, C, NH);
  const lesson::Dims btc = {{"B", B}, {"T", T}, {"C", C}}, bt = {{"B", B}, {"T", T}};
  expect_close("ln1", a.ln1, host(ref.ln1.slice(0)), btc);
  expect_close("ln1_mean", a.ln1_mean, host(ref.ln1_mean.slice(0)), bt);
  expect_close("ln1_rstd", a.ln1_rstd, host(ref.ln1_rstd.slice(0)), bt);
  expect_close("qkv", a.qkv, host(ref.qkv.slice(0)), {{"B", B}, {"T", T}, {"3C", 3 * C}});
  expect_close("att", a.att, host(ref.att.slice(0)), {{"B", B}, {"NH", NH}, {"i", T}, {"j", T}});
  expect_close("atty", a.atty, host(ref.atty.slice(0)), btc);
  expect_close("attproj", a.attproj, host(ref.attproj.slice(0)), btc);
  expect_close("residual2", a.residual2, host(ref.residual2.slice(0)), btc);
  expect_close("ln2", a.ln2, host(ref.ln2.slice(0)), btc);
  expect_close("fch", a.fch, host(ref.fch.slice(0)), {{"B", B}, {"T", T}, {"4C", 4 * C}});
  expect_close("fch_gelu", a.fch_gelu, host(ref.fch_gelu.slice(0)),
               {{"B", B}, {"T", T}, {"4C", 4 * C}});
  expect_close("fcproj", a.fcproj, host(ref.fcproj.slice(0)), btc);
  expect_close("residual3 (the block's output)", a.residual3, host(ref.residual3.slice(0)), btc);
}

TEST_CASE("block_backward: the block's parameter gradients and dx, accumulated") {
  Model m(1, true, 4);
  const int64_t B = 2, T = 5, C = m.C(), NH = m.NH(), N = B * T, Vp = 128;
  const auto tokens = lesson::randint(B * T, 0, 50, 5), targets = lesson::randint(B * T, 0, 50, 6);
  m.gpt->zero_grad();
  m.gpt->forward_backward(tokens.data(), targets.data(), B, T);
  llm::ActivationTensors& ref = m.gpt->acts;  // ref.logits now holds dlogits
  Gpt p = view_of(m.gpt->params), want = view_of(m.gpt->grads);
  // dLoss/d(the block's output), through the head and the final layernorm
  std::vector<double> dlnf(N * C, 0.0), dout(N * C, 0.0), scratch(Vp * C, 0.0), s1(C), s2(C);
  llm::cpu::matmul_backward<double>(dlnf.data(), scratch.data(), nullptr,
                                    static_cast<double*>(ref.logits.data),
                                    static_cast<double*>(ref.lnf.data), p.wte, N, C, Vp);
  llm::cpu::layernorm_backward<double>(dout.data(), s1.data(), s2.data(), dlnf.data(),
                                       static_cast<double*>(ref.residual3.data), p.lnfw,
                                       static_cast<double*>(ref.lnf_mean.data),
                                       static_cast<double*>(ref.lnf_rstd.data), N, C);
  Grads g(p);
  Grads before(p);  // the same random start values
  std::vector<double> dx = lesson::randn(N * C, 7);
  const std::vector<double> dx0 = dx;
  const BlockActs a = block_acts_of(ref, 0);
  const std::vector<double> x = host(ref.encoded);
  block_backward(dx.data(), g.view.layers[0], dout.data(), x.data(), a, p.layers[0], B, T, C, NH);
  for_block(g.view.layers[0], want.layers[0], C,
            [&](const char* name, double*& got, double*& w, int64_t n) {
              std::vector<double> expected(n);
              double* start = nullptr;
              for_block(before.view.layers[0], before.view.layers[0], C,
                        [&](const char* nm, double*& b, double*&, int64_t) {
                          if (std::string(nm) == name) start = b;
                        });
              for (int64_t i = 0; i < n; i++) expected[i] = start[i] + w[i];
              expect_close(std::string("d") + name, got, expected.data(), n);
            });
  // dx: the model sends it on to the encoder, whose position table collects sum_b dx[b, t, :]
  std::vector<double> dx_sum(T * C, 0.0), want_sum(T * C);
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < T * C; i++) dx_sum[i] += dx[b * T * C + i] - dx0[b * T * C + i];
  for (int64_t i = 0; i < T * C; i++) want_sum[i] = want.wpe[i];
  expect_close("dx summed over the batch", dx_sum, want_sum, {{"T", T}, {"C", C}});
}

TEST_CASE("gpt_forward: logits and loss as llm::GPT::forward; loss at init is about ln V") {
  Model m(2, true, 8);
  for (auto [B, T] : {std::pair<int64_t, int64_t>{2, 6}, {1, 1}}) {
    const auto tokens = lesson::randint(B * T, 0, 50, 9 + T),
               targets = lesson::randint(B * T, 0, 50, 10 + T);
    const double want = m.gpt->forward(tokens.data(), targets.data(), int(B), int(T));
    GptActs acts;
    const Gpt p = view_of(m.gpt->params);
    acts.resize(p, B, T);
    const double got = gpt_forward(acts, p, tokens.data(), targets.data(), B, T);
    const std::string shape = " (B=" + std::to_string(B) + ", T=" + std::to_string(T) + ")";
    expect_close("logits" + shape, acts.logits, host(m.gpt->acts.logits),
                 {{"B", B}, {"T", T}, {"Vp", 128}});
    expect_close("mean loss" + shape, got, want);
  }
  // GPT-2's initialisation: weights ~ N(0, 0.02), so the logits are ~0 and every token ~1/V
  Model fresh(2, false, 11);
  const auto tokens = lesson::randint(32, 0, 50, 12), targets = lesson::randint(32, 0, 50, 13);
  GptActs acts;
  const Gpt p = view_of(fresh.gpt->params);
  acts.resize(p, 4, 8);
  const double loss = gpt_forward(acts, p, tokens.data(), targets.data(), 4, 8);
  CHECK_MESSAGE(std::abs(loss - std::log(50.0)) < 0.05,
                "loss at init " << loss << " should be about ln 50 = " << std::log(50.0));
}

TEST_CASE("gpt_backward: every parameter gradient as llm::GPT::forward_backward, accumulated") {
  Model m(2, true, 14);
  const int64_t B = 2, T = 6, C = m.C();
  const auto tokens = lesson::randint(B * T, 0, 50, 15),
             targets = lesson::randint(B * T, 0, 50, 16);
  const Gpt p = view_of(m.gpt->params);
  // your GptActs, filled with the library's forward
  m.gpt->forward(tokens.data(), targets.data(), B, T);
  GptActs acts;
  acts.resize(p, B, T);
  llm::ActivationTensors& ref = m.gpt->acts;
  acts.encoded = host(ref.encoded);
  for (int l = 0; l < p.L; l++) acts.layers[l] = block_acts_of(ref, l);
  acts.lnf = host(ref.lnf), acts.lnf_mean = host(ref.lnf_mean), acts.lnf_rstd = host(ref.lnf_rstd);
  acts.logits = host(ref.logits), acts.losses = host(ref.losses);
  // the reference gradients
  m.gpt->zero_grad();
  m.gpt->forward_backward(tokens.data(), targets.data(), B, T);
  Gpt want = view_of(m.gpt->grads);
  Grads g(p), before(p);
  gpt_backward(g.view, acts, p, tokens.data(), targets.data(), B, T);
  // Tolerance 1e-5 relative: llm::GPT passes the loss's 1/(B T) to the classifier as a float (a
  // 3e-8 relative difference from your double), and gradients that are sums of cancelling terms
  // amplify it. A real mistake is off by far more.
  auto check = [&](const std::string& name, const double* got, const double* start, const double* w,
                   int64_t n) {
    std::vector<double> expected(n);
    for (int64_t i = 0; i < n; i++) expected[i] = start[i] + w[i];
    expect_close("d" + name, got, expected.data(), n, {}, 1e-5, 1e-9);
  };
  check("wte", g.view.wte, before.view.wte, want.wte, p.Vp * C);
  check("wpe", g.view.wpe, before.view.wpe, want.wpe, p.maxT * C);
  for (int l = 0; l < p.L; l++) {
    std::vector<std::pair<const char*, std::pair<double*, int64_t>>> got_list, start_list;
    for_block(g.view.layers[l], want.layers[l], C,
              [&](const char* name, double*& got, double*& w, int64_t n) {
                got_list.push_back({name, {got, n}});
                start_list.push_back({name, {w, n}});
              });
    size_t i = 0;
    for_block(before.view.layers[l], before.view.layers[l], C,
              [&](const char*, double*& start, double*&, int64_t) {
                check(std::string(got_list[i].first) + " (layer " + std::to_string(l) + ")",
                      got_list[i].second.first, start, start_list[i].second.first,
                      got_list[i].second.second);
                i++;
              });
  }
  check("lnfw", g.view.lnfw, before.view.lnfw, want.lnfw, C);
  check("lnfb", g.view.lnfb, before.view.lnfb, want.lnfb, C);
}
