#pragma once
// defines: llm::cpu::classifier_forward
//
// The fused output head: softmax, cross-entropy loss and its gradient in one pass over the logits.
// For a row z of V real logits and its target y:
//   p = softmax(z),  p_j = exp(z_j - max z) / sum_k exp(z_k - max z)   (max subtracted: no
//   overflow) loss = -log p_y = log sum_k exp(z_k - max z) - (z_y - max z) dloss/dz_j = p_j - [j ==
//   y]
// With dloss != 0 (the upstream gradient of each row's loss, e.g. 1 / (B*T) for a mean), the logits
// are overwritten in place by dlogits = dloss * (p - onehot(y)), so the (N, Vp) probabilities are
// never stored. The Vp - V padding columns are not part of the softmax and get gradient 0.
#include <cstdint>

namespace llm::cpu {

template <typename T>
void classifier_forward(T* losses,               // (N)
                        T* logits,               // (N, Vp) in: logits; out: dlogits if dloss != 0
                        const int32_t* targets,  // (N), each in [0, V)
                        T dloss,  // upstream gradient of every loss; 0 = forward only
                        int64_t N, int64_t V, int64_t Vp);

}  // namespace llm::cpu
