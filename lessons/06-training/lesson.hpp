#pragma once
// Lesson 06: training. The functions you write in exercise.cpp. The model is an llm::GPT on the f64
// CPU backend: its parameters and gradients are double arrays you reach through model.params and
// model.grads (visit() walks every tensor with its name; tensor.data is the pointer).
#include <cstdint>
#include <vector>

#include "llm/model/gpt.hpp"
#include "llm/train/optimizer.hpp"  // llm::AdamWConfig {beta1, beta2, eps, weight_decay}
#include "llm/train/schedule.hpp"  // llm::LearningRateSchedule {max_lr, min_lr, warmup_steps, decay_steps}

namespace lesson06 {

// ---- AdamW on one tensor of N parameters (as llm::cpu::adamw_update) ----
//   g = grad * grad_scale
//   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
//   m_hat = m / (1 - beta1^step);  v_hat = v / (1 - beta2^step)          (step counts from 1)
//   param -= lr * ( m_hat / (sqrt(v_hat) + eps) + weight_decay * param )
void adamw_update(double* param, const double* grad, double* m, double* v, double lr, double beta1,
                  double beta2, double eps, double weight_decay, int64_t step, double grad_scale,
                  int64_t N);

// ---- the learning rate of a step (0-based), as llm::LearningRateSchedule::at ----
//   step < warmup:            max_lr (step + 1) / warmup                      (linear warm-up)
//   warmup <= step <= decay:  min_lr + (max_lr - min_lr) (1 + cos(pi progress)) / 2,
//                             progress = (step - warmup) / (decay - warmup)   (1 when decay ==
//                             warmup)
//   step > decay:             min_lr
double lr_at(int64_t step, const llm::LearningRateSchedule& schedule);

// ---- gradient clipping ----
// The global norm: sqrt of the sum of g^2 over EVERY gradient element of the model (as
// llm::global_grad_norm).
double gradient_norm(llm::GPT& model);
// The factor the gradients are multiplied by: max_norm / norm when norm > max_norm (and max_norm >
// 0), else 1: the gradient's direction is kept, its length capped.
double clip_scale(double norm, double max_norm);

// ---- one training step ----
// The optimizer's state: a first and second moment per parameter tensor (GIVEN).
struct Moments {
  std::vector<std::vector<double>> m, v;  // one per tensor, in model.params.visit order
  int64_t steps = 0;                      // updates taken so far
  explicit Moments(llm::GPT& model) {
    model.params.visit([&](const char*, llm::Tensor& t, llm::Shape) {
      m.emplace_back(t.numel(), 0.0);
      v.emplace_back(t.numel(), 0.0);
    });
  }
};
// zero the gradients; forward_backward; global norm; clip scale; then for every parameter tensor an
// adamw_update at step steps+1, with weight decay only where llm::is_decayed(name) (matrices, not
// biases or layernorm gains). Returns the loss. As the library's trainer, use the config's float
// values as they are (double(cfg.beta1), ...) and round the clip factor to float: float(scale).
double train_step(llm::GPT& model, Moments& opt, const int32_t* tokens, const int32_t* targets,
                  int B, int T, float lr, double grad_clip, const llm::AdamWConfig& cfg);

}  // namespace lesson06
