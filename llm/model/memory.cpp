#include "llm/model/memory.hpp"

#include "llm/model/gpt.hpp"

namespace llm {

MemoryEstimate estimate_memory(const GPTConfig& config, int B, int T, const Backend& backend) {
  auto count = [](auto& views) {
    int64_t n = 0;
    views.visit([&](const char*, Tensor&, Shape shape) { n += shape.numel(); });
    return n;
  };
  ParameterTensors params;
  params.config = config;
  ActivationTensors acts;
  acts.config = config;
  acts.B = B;
  acts.T = T;
  acts.attention_state = backend.attention_state_shape(B, T, config.n_head);
  const int64_t weight_bytes = dtype_size(backend.dtype());
  const int64_t master_bytes = dtype_size(backend.master_dtype());
  MemoryEstimate m;
  m.parameters = count(params) * weight_bytes;
  m.gradients = m.parameters;
  m.optimizer = 2 * count(params) * master_bytes;
  m.activations = 2 * count(acts) * weight_bytes;
  return m;
}

}  // namespace llm
