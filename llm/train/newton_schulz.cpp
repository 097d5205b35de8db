#include "llm/train/newton_schulz.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "llm/backend/host_copy.hpp"
#include "llm/core/error.hpp"

namespace llm {

namespace {

// An (n, n) identity in `t`, written once at set-up.
void fill_identity(Backend& backend, Tensor t, int64_t n) {
  std::vector<double> values(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; i++) values[size_t(i * n + i)] = 1.0;
  tensor_from_host_f64(backend, t, values);
}

}  // namespace

NewtonSchulz::NewtonSchulz(Backend& backend, int64_t rows, int64_t cols)
    : backend_(backend),
      rows_(rows),
      cols_(cols),
      tall_(std::max(rows, cols)),
      small_(std::min(rows, cols)),
      x_(backend, backend.dtype(), tall_ * small_),
      x_next_(backend, backend.dtype(), tall_ * small_),
      gram_(backend, backend.dtype(), small_ * small_),
      gram_sq_(backend, backend.dtype(), small_ * small_),
      identity_tall_(backend, backend.dtype(), rows < cols ? tall_ * tall_ : 1),
      identity_small_(backend, backend.dtype(), rows < cols ? small_ * small_ : 1) {
  check(rows >= 1 && cols >= 1, "NewtonSchulz: the matrix must have at least one row and column");
  if (rows < cols) {
    fill_identity(backend, identity_tall_.tensor, tall_);
    fill_identity(backend, identity_small_.tensor, small_);
  }
}

void NewtonSchulz::orthogonalize(Tensor out, Tensor G, int steps, NewtonSchulzCoefficients k) {
  const Shape shape{rows_, cols_};
  check(G.numel() == rows_ * cols_ && out.numel() == rows_ * cols_,
        "NewtonSchulz: G and out must have " + shape.str() + " elements");
  const bool wide = rows_ < cols_;
  const Tensor g = G.reshape(shape), o = out.reshape(shape);
  const Tensor X = x_.tensor.reshape({tall_, small_}),
               X_next = x_next_.tensor.reshape({tall_, small_});
  const Tensor A = gram_.tensor.reshape({small_, small_});
  const Tensor M = gram_sq_.tensor.reshape({small_, small_});

  // X0 = G / (|G|_F + 1e-7), tall: the Frobenius norm bounds the spectral norm, so every singular
  // value starts in [0, 1], where the polynomial is designed to act.
  const double scale = 1.0 / (std::sqrt(backend_.sum_of_squares(g)) + 1e-7);
  if (wide) {
    backend_.matmul_forward(X, identity_tall_.tensor.reshape({tall_, tall_}), g, Tensor{});  // G^T
    backend_.scale_add(X, scale, X, 0.0, X);
  } else {
    backend_.scale_add(X, scale, g, 0.0, g);
  }

  for (int step = 0; step < steps; step++) {
    // A = X^T X  (small, small). matmul_backward accumulates dweight += dout^T inp into A; its
    // `weight` argument only sets the shape here (it is read for dinp, which is not asked for).
    backend_.zero(A);
    backend_.matmul_backward(Tensor{}, A, Tensor{}, X, X, A);
    // M = b A + c A^2, with A^2 = A A^T (A is symmetric)
    backend_.matmul_forward(M, A, A, Tensor{});
    backend_.scale_add(M, k.b, A, k.c, M);
    // X <- a X + X M  (M is symmetric, so X M = X M^T, which matmul_forward computes)
    backend_.matmul_forward(X_next, X, M, Tensor{});
    backend_.scale_add(X, k.a, X, 1.0, X_next);
  }

  if (wide) {
    backend_.matmul_forward(o, identity_small_.tensor.reshape({small_, small_}), X, Tensor{});
  } else {
    backend_.convert(o, X);
  }
}

}  // namespace llm
