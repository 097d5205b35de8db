// Lesson 06: training. Write the bodies below; `scripts/lesson 06` tells you what is wrong.
#include "lesson.hpp"

#include <cmath>
#include <numbers>  // std::numbers::pi

namespace lesson06 {

void adamw_update(double* param, const double* grad, double* m, double* v, double lr, double beta1,
                  double beta2, double eps, double weight_decay, int64_t step, double grad_scale,
                  int64_t N) {
  // TODO: the five lines of lesson.hpp, for each of the N parameters.
}

double lr_at(int64_t step, const llm::LearningRateSchedule& schedule) {
  // TODO: warm-up, cosine, floor.
  return 0.0;
}

double gradient_norm(llm::GPT& model) {
  // TODO: model.grads.visit([&](const char* name, llm::Tensor& g, llm::Shape) { ... });
  //       the values are static_cast<const double*>(g.data)[0 .. g.numel()).
  return 0.0;
}

double clip_scale(double norm, double max_norm) {
  // TODO
  return 0.0;
}

double train_step(llm::GPT& model, Moments& opt, const int32_t* tokens, const int32_t* targets,
                  int B, int T, float lr, double grad_clip, const llm::AdamWConfig& cfg) {
  // TODO: model.zero_grad(); loss = model.forward_backward(...); the norm and the clip factor;
  // opt.steps++; then walk model.params and model.grads side by side (two visits, or collect the
  // pointers of one visit first) and update tensor i with opt.m[i], opt.v[i].
  return 0.0;
}

}  // namespace lesson06
