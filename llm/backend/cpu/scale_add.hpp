#pragma once
// defines: llm::cpu::scale_add
//
// The element-wise linear combination behind Muon's momentum and its Newton-Schulz iteration
// (llm/train/muon.hpp, llm/train/newton_schulz.hpp).
#include <cstdint>

namespace llm::cpu {

//   out[i] = alpha * a[i] + beta * b[i]; out may be a or b.
template <typename T> void scale_add(T* out,  // (N)
                                     double alpha,
                                     const T* a,  // (N)
                                     double beta,
                                     const T* b,  // (N)
                                     int64_t N);

}  // namespace llm::cpu
