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
  // AdamW's m and v, plus master weights when the parameters are in a narrower dtype (bf16).
  const int64_t master_copies = backend.master_dtype() == backend.dtype() ? 2 : 3;
  m.optimizer = master_copies * count(params) * master_bytes;
  int64_t activation_bytes = 0;
  acts.visit([&](const char*, Tensor&, Shape shape, TensorKind kind) {
    activation_bytes += shape.numel() * int64_t(dtype_size(activation_dtype(backend, kind)));
  });
  m.activations = 2 * activation_bytes;  // the activations and their gradients
  return m;
}

}  // namespace llm
