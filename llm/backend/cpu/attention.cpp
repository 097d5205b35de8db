#include "llm/backend/cpu/attention.hpp"

#include "llm/backend/cpu/cpu_backend.hpp"
#include "llm/backend/cpu/eigen_maps.hpp"

#include <cmath>
#include <vector>

namespace llm::cpu {
namespace {

// One head's (rows, hs) block inside a wider row-major buffer: consecutive rows are `stride`
// elements apart (3C inside qkv, C inside out).
template <typename T> using HeadMap = Eigen::Map<Matrix<T>, 0, Eigen::OuterStride<>>;
template <typename T> using ConstHeadMap = Eigen::Map<const Matrix<T>, 0, Eigen::OuterStride<>>;

// In place: row[0..visible) = softmax(row[0..visible)), row[visible..width) = 0 (masked keys).
// Subtracting the max first keeps exp() from overflowing; it cancels in the ratio. Eigen's array
// exp() is vectorised, which matters: there are B*NH*T*T/2 of them per layer.
template <typename T> void causal_softmax_row(T* row, int64_t visible, int64_t width) {
  Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> p(row, visible);
  p = (p - p.maxCoeff()).exp();
  p /= p.sum();
  for (int64_t j = visible; j < width; j++) row[j] = 0;
}

}  // namespace

template <typename T> void attention_forward(T* out, T* att, const T* qkv, int64_t B, int64_t Tlen,
                                             int64_t C, int64_t NH, int64_t NKV) {
  if (NKV == 0) NKV = NH;
  const int64_t hs = C / NH, KV = NKV * hs, QKV = C + 2 * KV, group = NH / NKV;
  const T scale = T(1) / std::sqrt(static_cast<T>(hs));
#pragma omp parallel for
  for (int64_t bh = 0; bh < B * NH; bh++) {
    const int64_t b = bh / NH, h = bh % NH, kvh = h / group;
    const T* row0 = qkv + b * Tlen * QKV;
    ConstHeadMap<T> q(row0 + h * hs, Tlen, hs, Eigen::OuterStride<>(QKV));
    ConstHeadMap<T> k(row0 + C + kvh * hs, Tlen, hs, Eigen::OuterStride<>(QKV));
    ConstHeadMap<T> v(row0 + C + KV + kvh * hs, Tlen, hs, Eigen::OuterStride<>(QKV));
    MatrixMap<T> P(att + bh * Tlen * Tlen, Tlen, Tlen);
    HeadMap<T> y(out + b * Tlen * C + h * hs, Tlen, hs, Eigen::OuterStride<>(C));

    P.noalias() = scale * q * k.transpose();  // S, computed in full; the mask is applied next
    for (int64_t i = 0; i < Tlen; i++) causal_softmax_row(&P(i, 0), i + 1, Tlen);
    y.noalias() = P * v;
  }
}

template <typename T> void attention_backward(T* dqkv, T* datt, const T* dout, const T* qkv,
                                              const T* att, int64_t B, int64_t Tlen, int64_t C,
                                              int64_t NH, int64_t NKV) {
  if (NKV == 0) NKV = NH;
  const int64_t hs = C / NH, KV = NKV * hs, QKV = C + 2 * KV, group = NH / NKV;
  const T scale = T(1) / std::sqrt(static_cast<T>(hs));
  // One task per key/value head: it owns dk and dv of that head, which its group of query heads
  // all add into, so no two threads write the same gradient.
#pragma omp parallel for
  for (int64_t bkv = 0; bkv < B * NKV; bkv++) {
    const int64_t b = bkv / NKV, kvh = bkv % NKV;
    const T* row0 = qkv + b * Tlen * QKV;
    T* drow0 = dqkv + b * Tlen * QKV;
    ConstHeadMap<T> k(row0 + C + kvh * hs, Tlen, hs, Eigen::OuterStride<>(QKV));
    ConstHeadMap<T> v(row0 + C + KV + kvh * hs, Tlen, hs, Eigen::OuterStride<>(QKV));
    HeadMap<T> dk(drow0 + C + kvh * hs, Tlen, hs, Eigen::OuterStride<>(QKV));
    HeadMap<T> dv(drow0 + C + KV + kvh * hs, Tlen, hs, Eigen::OuterStride<>(QKV));
    for (int64_t h = kvh * group; h < (kvh + 1) * group; h++) {
      const int64_t bh = b * NH + h;
      ConstHeadMap<T> q(row0 + h * hs, Tlen, hs, Eigen::OuterStride<>(QKV));
      HeadMap<T> dq(drow0 + h * hs, Tlen, hs, Eigen::OuterStride<>(QKV));
      ConstHeadMap<T> dy(dout + b * Tlen * C + h * hs, Tlen, hs, Eigen::OuterStride<>(C));
      ConstMatrixMap<T> P(att + bh * Tlen * Tlen, Tlen, Tlen);
      MatrixMap<T> dS(datt + bh * Tlen * Tlen, Tlen, Tlen);

      dv.noalias() += P.transpose() * dy;
      dS.noalias() = dy * v.transpose();  // dP for now
      for (int64_t i = 0; i < Tlen; i++) {
        // Masked entries have P = 0, so they get dS = 0 with no special case.
        T dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j <= i; j++) dot += P(i, j) * dS(i, j);
        for (int64_t j = 0; j < Tlen; j++) dS(i, j) = P(i, j) * (dS(i, j) - dot);
      }
      dq.noalias() += scale * dS * k;
      dk.noalias() += scale * dS.transpose() * q;
    }
  }
}

template <typename T> void attention_forward_cached(T* out, T* k_cache, T* v_cache, const T* qkv,
                                                    int64_t B, int64_t Tn, int64_t C, int64_t NH,
                                                    int64_t maxT, int64_t pos0, int64_t NKV) {
  if (NKV == 0) NKV = NH;
  const int64_t hs = C / NH, KV = NKV * hs, QKV = C + 2 * KV, group = NH / NKV;
  const int64_t Tk = pos0 + Tn;  // keys visible to the last query
  const T scale = T(1) / std::sqrt(static_cast<T>(hs));
  // 1. append the new keys and values at positions pos0 .. pos0+Tn-1, per key/value head
#pragma omp parallel for
  for (int64_t bkv = 0; bkv < B * NKV; bkv++) {
    const int64_t b = bkv / NKV, kvh = bkv % NKV;
    const T* row0 = qkv + b * Tn * QKV;
    T* kc = k_cache + bkv * maxT * hs;
    T* vc = v_cache + bkv * maxT * hs;
    for (int64_t i = 0; i < Tn; i++)
      for (int64_t c = 0; c < hs; c++) {
        kc[(pos0 + i) * hs + c] = row0[i * QKV + C + kvh * hs + c];
        vc[(pos0 + i) * hs + c] = row0[i * QKV + C + KV + kvh * hs + c];
      }
  }
  // 2. attend, per query head: the same math as attention_forward, on (Tn, Tk) scores
#pragma omp parallel for
  for (int64_t bh = 0; bh < B * NH; bh++) {
    const int64_t b = bh / NH, h = bh % NH, bkv = b * NKV + h / group;
    ConstHeadMap<T> q(qkv + b * Tn * QKV + h * hs, Tn, hs, Eigen::OuterStride<>(QKV));
    ConstMatrixMap<T> k(k_cache + bkv * maxT * hs, Tk, hs);
    ConstMatrixMap<T> v(v_cache + bkv * maxT * hs, Tk, hs);
    HeadMap<T> y(out + b * Tn * C + h * hs, Tn, hs, Eigen::OuterStride<>(C));
    thread_local std::vector<T> scores;  // grows once to the largest (Tn, Tk), then reused
    if (scores.size() < static_cast<size_t>(Tn * Tk)) scores.resize(Tn * Tk);
    MatrixMap<T> P(scores.data(), Tn, Tk);
    P.noalias() = scale * q * k.transpose();
    for (int64_t i = 0; i < Tn; i++) causal_softmax_row(&P(i, 0), pos0 + i + 1, Tk);
    y.noalias() = P * v;
  }
}

template void attention_forward<float>(float*, float*, const float*, int64_t, int64_t, int64_t,
                                       int64_t, int64_t);
template void attention_forward<double>(double*, double*, const double*, int64_t, int64_t, int64_t,
                                        int64_t, int64_t);
template void attention_backward<float>(float*, float*, const float*, const float*, const float*,
                                        int64_t, int64_t, int64_t, int64_t, int64_t);
template void attention_backward<double>(double*, double*, const double*, const double*,
                                         const double*, int64_t, int64_t, int64_t, int64_t,
                                         int64_t);
template void attention_forward_cached<float>(float*, float*, float*, const float*, int64_t,
                                              int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);
template void attention_forward_cached<double>(double*, double*, double*, const double*, int64_t,
                                               int64_t, int64_t, int64_t, int64_t, int64_t,
                                               int64_t);

}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/attention.cu) ----
// Each checks its arguments (Backend::check_<op> in backend.hpp), then calls the math above.

template <typename T> Shape CpuBackend<T>::attention_state_shape(int B, int Tlen, int NH) const {
  return Shape{B, NH, Tlen, Tlen};
}

template <typename T>
void CpuBackend<T>::attention_forward(Tensor out, Tensor state, Tensor qkv, int NH) {
  check_attention_forward(*this, out, state, qkv, NH);
  const int64_t B = qkv.size(0), Tlen = qkv.size(1), C = out.size(2);
  const int64_t NKV = (qkv.size(2) - C) / (2 * (C / NH));
  cpu::attention_forward(out.ptr<T>(), state.ptr<T>(), qkv.ptr<T>(), B, Tlen, C, NH, NKV);
}

template <typename T> void CpuBackend<T>::attention_backward(Tensor dqkv, Tensor scratch,
                                                             Tensor dout, Tensor qkv, Tensor out,
                                                             Tensor state, int NH) {
  // `out` is only checked: the CPU reads the saved probabilities instead.
  check_attention_backward(*this, dqkv, scratch, dout, qkv, out, state, NH);
  const int64_t B = qkv.size(0), Tlen = qkv.size(1), C = dout.size(2);
  const int64_t NKV = (qkv.size(2) - C) / (2 * (C / NH));
  cpu::attention_backward(dqkv.ptr<T>(), scratch.ptr<T>(), dout.ptr<T>(), qkv.ptr<T>(),
                          state.ptr<T>(), B, Tlen, C, NH, NKV);
}

template <typename T> void CpuBackend<T>::attention_forward_cached(Tensor out, Tensor k_cache,
                                                                   Tensor v_cache, Tensor qkv,
                                                                   int NH, int pos0) {
  check_attention_forward_cached(*this, out, k_cache, v_cache, qkv, NH, pos0);
  const int64_t B = qkv.size(0), Tn = qkv.size(1), C = out.size(2), maxT = k_cache.size(2);
  const int64_t NKV = k_cache.size(1);
  cpu::attention_forward_cached(out.ptr<T>(), k_cache.ptr<T>(), v_cache.ptr<T>(), qkv.ptr<T>(), B,
                                Tn, C, NH, maxT, pos0, NKV);
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template Shape CpuBackend<float>::attention_state_shape(int, int, int) const;
template Shape CpuBackend<double>::attention_state_shape(int, int, int) const;
template void CpuBackend<float>::attention_forward(Tensor, Tensor, Tensor, int);
template void CpuBackend<double>::attention_forward(Tensor, Tensor, Tensor, int);
template void CpuBackend<float>::attention_backward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor,
                                                    int);
template void CpuBackend<double>::attention_backward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor,
                                                     int);
template void CpuBackend<float>::attention_forward_cached(Tensor, Tensor, Tensor, Tensor, int, int);
template void CpuBackend<double>::attention_forward_cached(Tensor, Tensor, Tensor, Tensor, int,
                                                           int);

}  // namespace llm
