#pragma once
// defines: llm::cpu::adamw_update
//
// One AdamW step (Loshchilov & Hutter 2019) on N parameters, element-wise:
//   g = grad * grad_scale                       (grad_scale < 1 when clipping the global norm)
//   m = beta1 m + (1 - beta1) g                 running mean of the gradient
//   v = beta2 v + (1 - beta2) g^2               running mean of its square
//   m_hat = m / (1 - beta1^step),  v_hat = v / (1 - beta2^step)   (undo the bias of m, v = 0 at
//   start) param -= lr * ( m_hat / (sqrt(v_hat) + eps) + weight_decay * param )
// The weight decay is decoupled: it shrinks the parameter directly rather than entering g.
#include <cstdint>

namespace llm::cpu {

template <typename T> void adamw_update(T* param,       // (N)
                                        const T* grad,  // (N)
                                        T* m,           // (N) first moment
                                        T* v,           // (N) second moment
                                        double learning_rate, double beta1, double beta2,
                                        double eps, double weight_decay, int64_t step,
                                        double grad_scale, int64_t N);

}  // namespace llm::cpu
