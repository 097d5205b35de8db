// Muon's parts against independent computations: Backend::scale_add (the CPU op; its CUDA kernel
// is checked in tests/ops/scale_add.cpp), the Newton-Schulz iteration against the polynomial
// written out with plain loops in the wide orientation the literature uses, and a Muon step split
// over ranks (each updating only the matrices it owns) against one optimizer updating all. The
// whole optimizer against PyTorch is tests/reference/muon_check.py.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "llm/backend/backend.hpp"
#include "llm/backend/host_copy.hpp"
#include "llm/model/gpt.hpp"
#include "llm/train/muon.hpp"
#include "llm/train/newton_schulz.hpp"
#include "test_inputs.hpp"

using namespace llm;
using test_inputs::randn;
using test_inputs::view;

namespace {

using Matrix = std::vector<double>;  // row-major

// (n, k) x (k, m) with plain loops.
Matrix matmul(const Matrix& x, const Matrix& y, int n, int k, int m) {
  Matrix out(size_t(n) * m, 0.0);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < m; j++)
      for (int p = 0; p < k; p++)
        out[size_t(i) * m + j] += x[size_t(i) * k + p] * y[size_t(p) * m + j];
  return out;
}

Matrix transpose(const Matrix& x, int rows, int cols) {
  Matrix out(x.size());
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) out[size_t(j) * rows + i] = x[size_t(i) * cols + j];
  return out;
}

// The quintic as Muon's papers write it: wide X (rows <= cols), A = X X^T, B = b A + c A A,
// X <- a X + B X, from X0 = G / (|G|_F + 1e-7).
Matrix newton_schulz_reference(Matrix G, int rows, int cols, int steps) {
  const double a = 3.4445, b = -4.7750, c = 2.0315;
  const bool tall = rows > cols;
  if (tall) G = transpose(G, rows, cols);
  const int r = tall ? cols : rows, n = tall ? rows : cols;  // X is (r, n), r <= n
  double norm = 0;
  for (double v : G) norm += v * v;
  norm = std::sqrt(norm);
  Matrix X = G;
  for (double& v : X) v /= norm + 1e-7;
  for (int s = 0; s < steps; s++) {
    const Matrix A = matmul(X, transpose(X, r, n), r, n, r);
    const Matrix AA = matmul(A, A, r, r, r);
    Matrix B(A.size());
    for (size_t i = 0; i < A.size(); i++) B[i] = b * A[i] + c * AA[i];
    const Matrix BX = matmul(B, X, r, r, n);
    for (size_t i = 0; i < X.size(); i++) X[i] = a * X[i] + BX[i];
  }
  return tall ? transpose(X, r, n) : X;
}

double max_abs_diff(const std::vector<double>& x, const std::vector<double>& y) {
  double d = 0;
  for (size_t i = 0; i < x.size(); i++) d = std::max(d, std::abs(x[i] - y[i]));
  return d;
}

GPTConfig tiny_config() {
  GPTConfig c;
  c.n_layer = 3;  // 12 hidden matrices: round-robin over 2 or 3 ranks gives each several shapes
  c.n_head = 2;
  c.n_embd = 8;
  c.max_seq_len = 8;
  c.vocab_size = 20;
  return c;
}

// Random weights and gradients (never zero), the same for every model made with the same seeds.
void randomise(GPT& model, uint32_t seed) {
  uint32_t s = seed;
  model.params.visit([&](const char*, Tensor& t, Shape) {
    tensor_from_host_f64(model.backend(), t, randn(size_t(t.numel()), s++, 0.5));
  });
  model.grads.visit([&](const char*, Tensor& t, Shape) {
    tensor_from_host_f64(model.backend(), t, randn(size_t(t.numel()), s++, 0.1));
  });
}

}  // namespace

TEST_CASE("scale_add: out = alpha a + beta b, on the CPU") {
  auto backend = make_cpu_backend(DType::f64);
  std::vector<double> a = randn(37, 1), b = randn(37, 2), out(37), expected(37);
  for (size_t i = 0; i < a.size(); i++) expected[i] = 0.7 * a[i] - 1.3 * b[i];
  backend->scale_add(view(out, {37}), 0.7, view(a, {37}), -1.3, view(b, {37}));
  CHECK(max_abs_diff(out, expected) < 1e-15);
  // in place: out is a
  backend->scale_add(view(a, {37}), 0.7, view(a, {37}), -1.3, view(b, {37}));
  CHECK(max_abs_diff(a, expected) < 1e-15);
  CHECK(test_inputs::error_of([&] {
          backend->scale_add(view(out, {37}), 1, view(a, {37}), 1, view(b, {37}).prefix({36}));
        }).find("scale_add") != std::string::npos);
}

TEST_CASE("Newton-Schulz: tall, wide and square matrices against the polynomial written out") {
  auto backend = make_cpu_backend(DType::f64);
  for (auto [rows, cols] : {std::pair{12, 4}, std::pair{4, 12}, std::pair{6, 6}}) {
    INFO("shape (" << rows << ", " << cols << ")");
    std::vector<double> G = randn(size_t(rows) * cols, 10 + rows);
    NewtonSchulz ns(*backend, rows, cols);
    std::vector<double> out(G.size());
    ns.orthogonalize(view(out, {rows, cols}), view(G, {rows, cols}), 5);
    const Matrix expected = newton_schulz_reference(G, rows, cols, 5);
    CHECK(max_abs_diff(out, expected) < 1e-12);
    // and what it is for: the singular values of the result lie near 1, i.e. the Gram matrix of the
    // short side is near the identity (the quintic's band is about [0.7, 1.2], squared here)
    const int small = std::min(rows, cols);
    const Matrix gram = rows >= cols ? matmul(transpose(out, rows, cols), out, cols, rows, cols)
                                     : matmul(out, transpose(out, rows, cols), rows, cols, rows);
    for (int i = 0; i < small; i++) {
      CHECK(gram[size_t(i) * small + i] > 0.4);
      CHECK(gram[size_t(i) * small + i] < 1.6);
    }
  }
}

namespace {

// The tensor called `name` among `tensors`.
Tensor tensor_named(ParameterTensors& tensors, const std::string& name) {
  Tensor found;
  tensors.visit([&](const char* n, Tensor& t, Shape) {
    if (name == n) found = t;
  });
  REQUIRE(!found.empty());
  return found;
}

}  // namespace

TEST_CASE("Muon over 3 ranks, each orthogonalising its own matrices, equals Muon on one") {
  auto backend = make_cpu_backend(DType::f64);
  const GPTConfig config = tiny_config();
  const std::vector<std::string> hidden = {"qkvw", "attprojw", "fcw", "fcprojw"};
  GPT whole(config, *backend);
  randomise(whole, 100);
  Muon one(whole, {0.9f, 5});
  for (int step = 0; step < 2; step++) one.step(0.02f, 0.5f);

  // Three replicas, as three ranks hold them. After each step every matrix is copied from its owner
  // to the others, as share_updates' broadcasts do: matrix k (visit order, layer by layer within
  // each tensor) belongs to rank k % 3.
  std::vector<std::unique_ptr<GPT>> replicas;
  std::vector<std::unique_ptr<Muon>> optimizers;
  for (int r = 0; r < 3; r++) {
    replicas.push_back(std::make_unique<GPT>(config, *backend));
    randomise(*replicas.back(), 100);
    optimizers.push_back(std::make_unique<Muon>(*replicas.back(), MuonConfig{0.9f, 5}, r, 3));
  }
  for (int step = 0; step < 2; step++) {
    for (auto& o : optimizers) o->step(0.02f, 0.5f);
    int k = 0;
    for (const std::string& name : hidden) {
      for (int l = 0; l < config.n_layer; l++, k++) {
        const Tensor owned = tensor_named(replicas[k % 3]->params, name).slice(l);
        for (auto& replica : replicas)
          if (replica.get() != replicas[k % 3].get())
            backend->convert(tensor_named(replica->params, name).slice(l), owned);
      }
    }
  }

  // Bit for bit: the same operations on the same numbers, whoever ran them.
  GPT start(config, *backend);
  randomise(start, 100);
  whole.params.visit([&](const char* name, Tensor& t, Shape) {
    INFO("tensor " << name);
    for (auto& replica : replicas)
      CHECK(tensor_to_host_f64(*backend, tensor_named(replica->params, name)) ==
            tensor_to_host_f64(*backend, t));
    // Muon moved the hidden matrices and only them.
    const bool moved = tensor_to_host_f64(*backend, t) !=
                       tensor_to_host_f64(*backend, tensor_named(start.params, name));
    CHECK(moved == is_muon_matrix(name));
  });
}
