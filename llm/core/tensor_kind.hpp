#pragma once
// defines: llm::TensorKind, what a tensor of the model is, and llm::visit_entry.
//
// The model's views (ParameterTensors, ActivationTensors, the decoder's buffers) list each tensor
// once with its name, its shape and its kind. The kind, not the name, decides how the tensor is
// treated: weight decay (matrices and embeddings), initialisation (normal, scaled normal, ones,
// zeros) and dtype (statistics stay in the backend's master dtype).
#include <type_traits>

#include "llm/core/tensor.hpp"

namespace llm {

enum class TensorKind {
  // ---- parameters ----
  embedding,            // a lookup table (wte, wpe): N(0, 0.02), decayed
  matrix,               // a matmul weight: N(0, 0.02), decayed
  residual_projection,  // a matmul weight whose output is added to the residual stream
                        // (attprojw, fcprojw): N(0, 0.02 / sqrt(2 L)), decayed
  bias,                 // an additive bias: 0, not decayed
  gain,                 // a normalisation's multiplicative weight: 1, not decayed
  // ---- activations ----
  value,      // in the backend's dtype()
  statistic,  // what an op saves for its backward (means, rstds, the attention state) and the
              // losses: in master_dtype(), because bf16 would lose them
};

// nanoGPT's rule: every parameter with 2 or more dimensions (the embeddings and the matmul weights)
// is decayed; biases and gains are not.
inline bool is_decayed(TensorKind kind) {
  return kind == TensorKind::embedding || kind == TensorKind::matrix ||
         kind == TensorKind::residual_projection;
}

// Hands one listed tensor to a visitor: as fn(name, tensor, shape, kind) to a visitor that takes
// the kind, as fn(name, tensor, shape) to one that needs only names and shapes (an Arena).
template <typename Fn>
void visit_entry(Fn& fn, const char* name, Tensor& tensor, Shape shape, TensorKind kind) {
  if constexpr (std::is_invocable_v<Fn&, const char*, Tensor&, Shape, TensorKind>) {
    fn(name, tensor, shape, kind);
  } else {
    fn(name, tensor, shape);
  }
}

}  // namespace llm
