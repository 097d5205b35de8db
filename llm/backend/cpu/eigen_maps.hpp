#pragma once
// defines: llm::cpu::Matrix, MatrixMap, ConstMatrixMap, VectorMap, ConstVectorMap, ArrayMap,
// ConstArrayMap: Eigen views of raw buffers for the CPU ops that use Eigen.
//
// A Map is no copy: Eigen reads and writes our memory directly. Matrices are row-major, as every
// tensor here; an Array is the same buffer seen element-wise, so that exp, tanh and sqrt run
// vectorised.
//
// GCC 12 reports false 'may be used uninitialized' warnings inside Eigen's AVX-512 code (GEMM,
// reductions, tanh: a known GCC/Eigen false positive), and under AddressSanitizer also 'is used
// uninitialized' ones for the intrinsics' deliberately undefined operands (_mm512_undefined_ps);
// both are silenced for the files that include this header, and only there.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <Eigen/Core>

#include <cstdint>

namespace llm::cpu {

template <typename T> using Matrix =
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T> using MatrixMap = Eigen::Map<Matrix<T>>;
template <typename T> using ConstMatrixMap = Eigen::Map<const Matrix<T>>;
template <typename T> using VectorMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>;
template <typename T> using ConstVectorMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;
template <typename T> using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T> using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// Elements per parallel work item of the element-wise ops (GELU, ReLU², AdamW): a few arrays of
// this length stay in L1/L2 while one thread works on them.
constexpr int64_t kArrayChunk = 4096;

}  // namespace llm::cpu
