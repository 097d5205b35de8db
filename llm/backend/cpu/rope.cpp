#include "llm/backend/cpu/rope.hpp"

#include "llm/backend/cpu/cpu_backend.hpp"

#include <vector>

namespace llm::cpu {
namespace {

// cos and sin of every (position, pair) angle, (Tlen, hs/2) each, computed in double.
template <typename T> struct RotationTable {
  std::vector<T> cos, sin;
  RotationTable(int64_t Tlen, int64_t hs, int64_t pos0, const RopeFrequencies& frequencies) {
    const int64_t half = hs / 2;
    cos.resize(Tlen * half);
    sin.resize(Tlen * half);
    for (int64_t t = 0; t < Tlen; t++)
      for (int64_t i = 0; i < half; i++) {
        const double angle = double(pos0 + t) * frequencies.inverse_frequency(i, hs);
        cos[t * half + i] = static_cast<T>(std::cos(angle));
        sin[t * half + i] = static_cast<T>(std::sin(angle));
      }
  }
};

}  // namespace

template <typename T> void rope_forward(T* out, const T* inp, int64_t B, int64_t Tlen, int64_t W,
                                        int64_t hs, int64_t n_rotated, int64_t pos0,
                                        const RopeFrequencies& frequencies) {
  const RotationTable<T> table(Tlen, hs, pos0, frequencies);
  const int64_t half = hs / 2, rotated = n_rotated * hs;
#pragma omp parallel for
  for (int64_t bt = 0; bt < B * Tlen; bt++) {
    const T* cos = table.cos.data() + (bt % Tlen) * half;
    const T* sin = table.sin.data() + (bt % Tlen) * half;
    const T* x = inp + bt * W;
    T* y = out + bt * W;
    for (int64_t head = 0; head < rotated; head += hs)
      for (int64_t i = 0; i < half; i++) {
        const T x1 = x[head + i], x2 = x[head + i + half];
        y[head + i] = x1 * cos[i] - x2 * sin[i];
        y[head + i + half] = x2 * cos[i] + x1 * sin[i];
      }
    for (int64_t c = rotated; c < W; c++) y[c] = x[c];
  }
}

template <typename T> void rope_backward(T* dinp, const T* dout, int64_t B, int64_t Tlen, int64_t W,
                                         int64_t hs, int64_t n_rotated, int64_t pos0,
                                         const RopeFrequencies& frequencies) {
  const RotationTable<T> table(Tlen, hs, pos0, frequencies);
  const int64_t half = hs / 2, rotated = n_rotated * hs;
#pragma omp parallel for
  for (int64_t bt = 0; bt < B * Tlen; bt++) {
    const T* cos = table.cos.data() + (bt % Tlen) * half;
    const T* sin = table.sin.data() + (bt % Tlen) * half;
    const T* dy = dout + bt * W;
    T* dx = dinp + bt * W;
    for (int64_t head = 0; head < rotated; head += hs)
      for (int64_t i = 0; i < half; i++) {
        const T d1 = dy[head + i], d2 = dy[head + i + half];
        dx[head + i] += d1 * cos[i] + d2 * sin[i];
        dx[head + i + half] += d2 * cos[i] - d1 * sin[i];
      }
    for (int64_t c = rotated; c < W; c++) dx[c] += dy[c];
  }
}

template void rope_forward<float>(float*, const float*, int64_t, int64_t, int64_t, int64_t, int64_t,
                                  int64_t, const RopeFrequencies&);
template void rope_forward<double>(double*, const double*, int64_t, int64_t, int64_t, int64_t,
                                   int64_t, int64_t, const RopeFrequencies&);
template void rope_backward<float>(float*, const float*, int64_t, int64_t, int64_t, int64_t,
                                   int64_t, int64_t, const RopeFrequencies&);
template void rope_backward<double>(double*, const double*, int64_t, int64_t, int64_t, int64_t,
                                    int64_t, int64_t, const RopeFrequencies&);

}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/rope.cu) ----
// Each checks its arguments (Backend::check_<op> in backend.hpp), then calls the math above.

template <typename T> void CpuBackend<T>::rope_forward(Tensor out, Tensor inp, int hs,
                                                       int n_rotated, int pos0,
                                                       RopeFrequencies frequencies) {
  check_rope_forward(*this, out, inp, hs, n_rotated, pos0, frequencies);
  cpu::rope_forward(out.ptr<T>(), inp.ptr<T>(), inp.size(0), inp.size(1), inp.size(2), hs,
                    n_rotated, pos0, frequencies);
}

template <typename T> void CpuBackend<T>::rope_backward(Tensor dinp, Tensor dout, int hs,
                                                        int n_rotated, int pos0,
                                                        RopeFrequencies frequencies) {
  check_rope_backward(*this, dinp, dout, hs, n_rotated, pos0, frequencies);
  cpu::rope_backward(dinp.ptr<T>(), dout.ptr<T>(), dout.size(0), dout.size(1), dout.size(2), hs,
                     n_rotated, pos0, frequencies);
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template void CpuBackend<float>::rope_forward(Tensor, Tensor, int, int, int, RopeFrequencies);
template void CpuBackend<double>::rope_forward(Tensor, Tensor, int, int, int, RopeFrequencies);
template void CpuBackend<float>::rope_backward(Tensor, Tensor, int, int, int, RopeFrequencies);
template void CpuBackend<double>::rope_backward(Tensor, Tensor, int, int, int, RopeFrequencies);

}  // namespace llm
