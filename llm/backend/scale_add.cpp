// Backend::scale_add's default: the tensors copied to the host as doubles, combined there and
// copied back, rounded to their dtype. Every backend gets the op this way; one that runs it often
// overrides it with its own kernel (the CPU backend does, llm/backend/cpu/scale_add.cpp).
#include <vector>

#include "llm/backend/backend.hpp"
#include "llm/backend/host_copy.hpp"

namespace llm {

void Backend::scale_add(Tensor out, double alpha, Tensor a, double beta, Tensor b) {
  check_scale_add(*this, out, alpha, a, beta, b);
  const std::vector<double> x = tensor_to_host_f64(*this, a), y = tensor_to_host_f64(*this, b);
  std::vector<double> result(x.size());
  for (size_t i = 0; i < x.size(); i++) result[i] = alpha * x[i] + beta * y[i];
  tensor_from_host_f64(*this, out, result);
}

}  // namespace llm
