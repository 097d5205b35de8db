#pragma once
// defines: llm::cpu::residual_forward, llm::cpu::residual_backward
//
// The residual connection (He et al. 2016): out = a + b, element-wise over N values. The gradient
// of a sum reaches both terms unchanged, which is what lets gradients flow through deep stacks.
#include <cstdint>

namespace llm::cpu {

template <typename T> void residual_forward(T* out,      // (N)
                                            const T* a,  // (N)
                                            const T* b,  // (N)
                                            int64_t N);

//   da += dout;  db += dout
template <typename T> void residual_backward(T* da,          // (N)
                                             T* db,          // (N)
                                             const T* dout,  // (N)
                                             int64_t N);

}  // namespace llm::cpu
