#include "llm/train/optimizer.hpp"

#include <cmath>
#include <vector>

namespace llm {

double global_grad_norm(GPT& model) {
  double sum = 0;
  model.grads.visit([&](const char*, Tensor& g, Shape) { sum += model.backend().sum_of_squares(g); });
  return std::sqrt(sum);
}

AdamW::AdamW(GPT& model, const AdamWConfig& config) : model_(model), config_(config) {
  m.config = v.config = model.config();
  Backend& backend = model.backend();
  m_memory_.carve(backend, backend.master_dtype(), m);
  v_memory_.carve(backend, backend.master_dtype(), v);
  // The four size tables list their tensors in the same order: walk them side by side.
  model.params.visit([&](const char* name, Tensor& p, Shape) {
    slots_.push_back({&p, nullptr, nullptr, nullptr, is_decayed(name)});
  });
  size_t i = 0;
  model.grads.visit([&](const char*, Tensor& g, Shape) { slots_[i++].grad = &g; });
  i = 0;
  m.visit([&](const char*, Tensor& t, Shape) { slots_[i++].m = &t; });
  i = 0;
  v.visit([&](const char*, Tensor& t, Shape) { slots_[i++].v = &t; });
}

void AdamW::step(float lr, float grad_scale) {
  steps_taken_++;
  for (const Slot& slot : slots_) {
    AdamWSettings settings;
    settings.learning_rate = lr;
    settings.beta1 = config_.beta1;
    settings.beta2 = config_.beta2;
    settings.eps = config_.eps;
    settings.weight_decay = slot.decayed ? config_.weight_decay : 0.0f;
    settings.step = steps_taken_;
    model_.backend().adamw_update(*slot.param, *slot.grad, *slot.m, *slot.v, Tensor{}, settings,
                                  grad_scale);
  }
}

}  // namespace llm
