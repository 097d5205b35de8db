#pragma once
// defines: llm::NewtonSchulz, the orthogonalisation at the heart of Muon (llm/train/muon.hpp)
//
// For a matrix G with singular value decomposition U S V^T, Muon wants the update U V^T: the same
// directions with every singular value set to 1 (the "zeroth power" of G). An SVD per step would
// be slow; an odd matrix polynomial p(X) = a X + b X X^T X + c (X X^T)^2 X acts on the singular
// values alone, p(U S V^T) = U p(S) V^T, so iterating it drives every singular value towards a
// fixed point without ever computing U or V. Muon (Jordan et al., 2024; modded-nanogpt, nanochat)
// uses the quintic with
//   (a, b, c) = (3.4445, -4.7750, 2.0315)
// chosen for a steep slope at 0 (small singular values grow fast) rather than exact convergence:
// after 5 steps from X0 = G / (|G|_F + 1e-7) (Frobenius norm: every singular value <= 1) the
// singular values lie roughly in [0.7, 1.2], which trains as well as U V^T.
//
// Computed in the tall orientation (rows >= cols, transposing a wide G first), so the Gram matrix
// is the small (cols, cols) one:
//   A = X^T X;   X <- a X + X (b A + c A^2)
// which equals a X + b (X X^T) X + c (X X^T)^2 X. Every product runs on the Backend
// (matmul_forward, matmul_backward) and every sum is Backend::scale_add, so the iteration runs
// wherever the model does. The Backend has no transpose op: X^T is computed as I X^T, a product
// with the identity (exact: every term but one is a product with 0).
#include "llm/backend/backend.hpp"
#include "llm/core/arena.hpp"
#include "llm/train/optimizer.hpp"

namespace llm {

struct NewtonSchulzCoefficients {
  double a = 3.4445, b = -4.7750, c = 2.0315;
};

class NewtonSchulz {
 public:
  // Scratch for matrices of shape (rows, cols) in the backend's dtype().
  NewtonSchulz(Backend& backend, int64_t rows, int64_t cols);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }

  // out = the orthogonalised G after `steps` iterations. out and G are (rows, cols); out may be G.
  void orthogonalize(Tensor out, Tensor G, int steps, NewtonSchulzCoefficients k = {});

 private:
  Backend& backend_;
  int64_t rows_, cols_;
  int64_t tall_, small_;       // max(rows, cols), min(rows, cols): X is (tall, small)
  FlatBuffer x_, x_next_;      // (tall, small)
  FlatBuffer gram_, gram_sq_;  // (small, small): A, then A^2 and b A + c A^2
  // When G is wide (rows < cols) X is G^T: identities (tall, tall) and (small, small) for the
  // transposes in and out. Unused (1 element) for a tall or square G.
  FlatBuffer identity_tall_, identity_small_;
};

}  // namespace llm
