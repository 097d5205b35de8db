#include "llm/backend/cpu/classifier.hpp"

#include "llm/backend/cpu/cpu_backend.hpp"
#include "llm/backend/cpu/eigen_maps.hpp"

#include <string>

#include <cmath>

namespace llm::cpu {

template <typename T> void classifier_forward(T* losses, T* logits, const int32_t* targets, T dloss,
                                              int64_t N, int64_t V, int64_t Vp) {
#pragma omp parallel for
  for (int64_t n = 0; n < N; n++) {
    // z: the V real logits of row n (an Eigen array, so exp() below is vectorised: V is ~50k)
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> z(logits + n * Vp, V);
    const int64_t y = targets[n];
    const T max = z.maxCoeff();
    const T sum = (z - max).exp().sum();
    losses[n] = std::log(sum) - (z[y] - max);
    if (dloss == T(0)) continue;
    z = (dloss / sum) * (z - max).exp();  // dloss * p
    z[y] -= dloss;                        // dloss * (p - onehot(y))
    for (int64_t j = V; j < Vp; j++) logits[n * Vp + j] = 0;
  }
}

template void classifier_forward<float>(float*, float*, const int32_t*, float, int64_t, int64_t,
                                        int64_t);
template void classifier_forward<double>(double*, double*, const int32_t*, double, int64_t, int64_t,
                                         int64_t);

}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/classifier.cu) ----
// Each checks its arguments (Backend::check_<op> in backend.hpp), then calls the math above.

template <typename T> void CpuBackend<T>::classifier_forward(Tensor losses, Tensor logits,
                                                             Tensor targets, int V, double dloss) {
  check_classifier_forward(*this, losses, logits, targets, V, dloss);
  // The targets are on the host here, so they are range-checked too.
  const char* op = "classifier_forward";
  const int64_t N = logits.rows(), Vp = logits.last_dim();
  const int32_t* y = targets.ptr<int32_t>();
  for (int64_t n = 0; n < N; n++)
    check(y[n] >= 0 && y[n] < V, std::string(op) + ": target " + std::to_string(y[n]) +
                                     " at index " + std::to_string(n) +
                                     " is outside [0, V = " + std::to_string(V) + ")");
  cpu::classifier_forward(losses.ptr<T>(), logits.ptr<T>(), y, static_cast<T>(dloss), N,
                          static_cast<int64_t>(V), Vp);
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template void CpuBackend<float>::classifier_forward(Tensor, Tensor, Tensor, int, double);
template void CpuBackend<double>::classifier_forward(Tensor, Tensor, Tensor, int, double);

}  // namespace llm
