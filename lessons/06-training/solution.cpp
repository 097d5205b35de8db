// Lesson 06, reference solution: the library's AdamW kernel (llm::cpu::adamw_update), schedule
// (llm::LearningRateSchedule), global norm (llm::global_grad_norm) and the step of
// llm/train/trainer.cpp.
#include <string>

#include "lesson.hpp"
#include "llm/backend/cpu/adamw.hpp"

namespace lesson06 {

void adamw_update(double* param, const double* grad, double* m, double* v, double lr, double beta1,
                  double beta2, double eps, double weight_decay, int64_t step, double grad_scale,
                  int64_t N) {
  llm::cpu::adamw_update<double>(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, step,
                                 grad_scale, N);
}

double lr_at(int64_t step, const llm::LearningRateSchedule& schedule) { return schedule.at(step); }

double gradient_norm(llm::GPT& model) { return llm::global_grad_norm(model); }

double clip_scale(double norm, double max_norm) {
  return (max_norm > 0 && norm > max_norm) ? max_norm / norm : 1.0;  // as in llm/train/trainer.cpp
}

double train_step(llm::GPT& model, Moments& opt, const int32_t* tokens, const int32_t* targets,
                  int B, int T, float lr, double grad_clip, const llm::AdamWConfig& cfg) {
  model.zero_grad();
  const double loss = model.forward_backward(tokens, targets, B, T);
  const float scale = float(clip_scale(gradient_norm(model), grad_clip));
  opt.steps++;
  std::vector<double*> grads;
  model.grads.visit([&](const char*, llm::Tensor& g, llm::Shape) {
    grads.push_back(static_cast<double*>(g.data));
  });
  size_t i = 0;
  model.params.visit([&](const char* name, llm::Tensor& p, llm::Shape) {
    const double decay = llm::is_decayed(name) ? double(cfg.weight_decay) : 0.0;
    adamw_update(static_cast<double*>(p.data), grads[i], opt.m[i].data(), opt.v[i].data(), lr,
                 cfg.beta1, cfg.beta2, cfg.eps, decay, opt.steps, scale, p.numel());
    i++;
  });
  return loss;
}

}  // namespace lesson06
