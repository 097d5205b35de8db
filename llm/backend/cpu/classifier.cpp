#include "llm/backend/cpu/classifier.hpp"

#include <cmath>
#include <limits>

namespace llm::cpu {

template <typename T>
void classifier_forward(T* losses, T* logits, const int32_t* targets, T dloss, int64_t N,
                        int64_t V, int64_t Vp) {
#pragma omp parallel for
  for (int64_t n = 0; n < N; n++) {
    T* z = logits + n * Vp;
    const int64_t y = targets[n];
    T max = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < V; j++) max = z[j] > max ? z[j] : max;
    T sum = 0;
    for (int64_t j = 0; j < V; j++) sum += std::exp(z[j] - max);
    losses[n] = std::log(sum) - (z[y] - max);
    if (dloss == T(0)) continue;
    const T inv_sum = T(1) / sum;
    for (int64_t j = 0; j < V; j++) z[j] = dloss * std::exp(z[j] - max) * inv_sum;
    z[y] -= dloss;
    for (int64_t j = V; j < Vp; j++) z[j] = 0;
  }
}

template void classifier_forward<float>(float*, float*, const int32_t*, float, int64_t, int64_t,
                                        int64_t);
template void classifier_forward<double>(double*, double*, const int32_t*, double, int64_t, int64_t,
                                         int64_t);

}  // namespace llm::cpu
