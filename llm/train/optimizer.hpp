#pragma once
// defines: llm::AdamW (moments for every parameter, one update step), llm::global_grad_norm
#include <cstdint>
#include <vector>

#include "llm/core/arena.hpp"
#include "llm/model/gpt.hpp"

namespace llm {

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.99f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;  // applied to matrices only, see is_decayed()
};

// sqrt(sum over every gradient element of g^2), accumulated in double.
double global_grad_norm(GPT& model);

class AdamW {
 public:
  AdamW(GPT& model, const AdamWConfig& config);

  // One update of every parameter with learning rate lr; grad_scale multiplies the gradients first
  // (e.g. clip / norm for global-norm clipping). Increments the step count.
  void step(float lr, float grad_scale);

  int64_t steps_taken() const { return steps_taken_; }
  void set_steps_taken(int64_t n) { steps_taken_ = n; }
  ParameterTensors m, v;  // first and second moments, in the backend's master dtype

 private:
  // One row per parameter tensor: the tensors an update reads and writes, and its decay.
  struct Slot {
    Tensor* param;
    Tensor* grad;
    Tensor* m;
    Tensor* v;
    bool decayed;
  };

  GPT& model_;
  AdamWConfig config_;
  std::vector<Slot> slots_;
  Arena m_memory_, v_memory_;
  int64_t steps_taken_ = 0;
};

}  // namespace llm
