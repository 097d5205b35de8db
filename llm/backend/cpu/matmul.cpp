#include "llm/backend/cpu/matmul.hpp"

#include <algorithm>

#include "llm/backend/cpu/cpu_backend.hpp"
#include "llm/backend/cpu/eigen_maps.hpp"

namespace llm::cpu {

// Up to this many rows, the product is a few matrix-vector products (decoding one token per
// sequence: N = batch size), which Eigen runs on one thread. Each output channel reads its own row
// of the weight, so the rows of w are split among the threads instead: every core streams its part
// of the weight from memory, and memory bandwidth is what bounds this case.
constexpr int64_t kMaxRowsForSplitWeight = 8;

template <typename T> void matmul_forward(T* out, const T* inp, const T* weight, const T* bias,
                                          int64_t N, int64_t C, int64_t OC) {
  MatrixMap<T> y(out, N, OC);
  ConstMatrixMap<T> x(inp, N, C);
  ConstMatrixMap<T> w(weight, OC, C);
  if (N <= kMaxRowsForSplitWeight) {
    // y[:, o0:o1] = x w[o0:o1, :]^T for a block of output channels per thread; 256 channels
    // (256 C values of w each) per block keeps the blocks large and the split even.
    constexpr int64_t kBlock = 256;
#pragma omp parallel for schedule(static)
    for (int64_t o0 = 0; o0 < OC; o0 += kBlock) {
      const int64_t width = std::min(kBlock, OC - o0);
      y.middleCols(o0, width).noalias() = x * w.middleRows(o0, width).transpose();
    }
  } else {
    y.noalias() = x * w.transpose();  // noalias: write straight into out, no temporary
  }
  if (bias) y.rowwise() += ConstVectorMap<T>(bias, OC).transpose();
}

template <typename T> void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout,
                                           const T* inp, const T* weight, int64_t N, int64_t C,
                                           int64_t OC) {
  ConstMatrixMap<T> dy(dout, N, OC);
  ConstMatrixMap<T> x(inp, N, C);
  ConstMatrixMap<T> w(weight, OC, C);
  if (dinp) MatrixMap<T>(dinp, N, C).noalias() += dy * w;
  MatrixMap<T>(dweight, OC, C).noalias() += dy.transpose() * x;
  if (dbias) VectorMap<T>(dbias, OC) += dy.colwise().sum().transpose();
}

template void matmul_forward<float>(float*, const float*, const float*, const float*, int64_t,
                                    int64_t, int64_t);
template void matmul_forward<double>(double*, const double*, const double*, const double*, int64_t,
                                     int64_t, int64_t);
template void matmul_backward<float>(float*, float*, float*, const float*, const float*,
                                     const float*, int64_t, int64_t, int64_t);
template void matmul_backward<double>(double*, double*, double*, const double*, const double*,
                                      const double*, int64_t, int64_t, int64_t);

}  // namespace llm::cpu

namespace llm {

// ---- CpuBackend: the Backend ops of this file (CUDA twin: kernels/matmul.cu) ----
// Each checks its arguments (Backend::check_<op> in backend.hpp), then calls the math above.

template <typename T>
void CpuBackend<T>::matmul_forward(Tensor out, Tensor inp, Tensor weight, Tensor bias) {
  check_matmul_forward(*this, out, inp, weight, bias);
  const int64_t N = inp.rows(), C = inp.last_dim(), OC = weight.size(0);
  cpu::matmul_forward(out.ptr<T>(), inp.ptr<T>(), weight.ptr<T>(),
                      bias.empty() ? nullptr : bias.ptr<T>(), N, C, OC);
}

template <typename T> void CpuBackend<T>::matmul_backward(Tensor dinp, Tensor dweight, Tensor dbias,
                                                          Tensor dout, Tensor inp, Tensor weight) {
  check_matmul_backward(*this, dinp, dweight, dbias, dout, inp, weight);
  const int64_t N = inp.rows(), C = inp.last_dim(), OC = weight.size(0);
  cpu::matmul_backward(dinp.empty() ? nullptr : dinp.ptr<T>(), dweight.ptr<T>(),
                       dbias.empty() ? nullptr : dbias.ptr<T>(), dout.ptr<T>(), inp.ptr<T>(),
                       weight.ptr<T>(), N, C, OC);
}

// CpuBackend runs in f32 and in f64 (the gradient checks): compile these methods for both.
template void CpuBackend<float>::matmul_forward(Tensor, Tensor, Tensor, Tensor);
template void CpuBackend<double>::matmul_forward(Tensor, Tensor, Tensor, Tensor);
template void CpuBackend<float>::matmul_backward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor);
template void CpuBackend<double>::matmul_backward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor);

}  // namespace llm
