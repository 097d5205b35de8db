#pragma once
// defines: llm::cpu::sum_of_squares
//
// The squared norm of a whole tensor, for global-norm gradient clipping (norm = sqrt of the sum
// over all gradient tensors).
#include <cstdint>

namespace llm::cpu {

//   returns sum_i x[i]^2, accumulated in double: millions of small f32 squares would lose digits
//   in an f32 sum.
template <typename T> double sum_of_squares(const T* x,  // (N)
                                            int64_t N);

}  // namespace llm::cpu
