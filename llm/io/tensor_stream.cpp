#include "llm/io/tensor_stream.hpp"

#include <algorithm>
#include <vector>

#include "llm/core/bf16.hpp"
#include "llm/core/error.hpp"

namespace llm {

namespace {

// About 4 MiB of output per piece: large enough that each write is cheap, small enough to stay
// out of the way of the weights themselves.
constexpr size_t kPieceBytes = size_t(4) << 20;

// How each tensor dtype is read on the host: one element widened to the file's value type.
template <typename FileValue> FileValue widen(const float* p, int64_t i) { return FileValue(p[i]); }
template <typename FileValue> FileValue widen(const double* p, int64_t i) {
  return FileValue(p[i]);
}
template <typename FileValue> FileValue widen(const uint16_t* p, int64_t i) {  // bf16
  return FileValue(bf16_to_float(p[i]));
}

// The tensor's values [first, first + count) in host memory: in place for a CPU tensor, else
// copied into `staging`.
const uint8_t* host_values(Backend& backend, Tensor src, int64_t first, int64_t count,
                           std::vector<uint8_t>& staging) {
  const size_t value_bytes = dtype_size(src.dtype);
  uint8_t* begin = static_cast<uint8_t*>(src.data) + size_t(first) * value_bytes;
  if (src.device == Device::cpu) return begin;
  staging.resize(size_t(count) * value_bytes);
  backend.copy_to_host(staging.data(), Tensor{begin, src.dtype, src.device, Shape{count}});
  return staging.data();
}

// x is the tensor's (rows, cols) values as TensorValue on the host (the whole tensor when
// transposing, else fetched piece by piece through host_values).
template <typename TensorValue, typename FileValue>
void stream_as(Backend& backend, Tensor src, int64_t rows, int64_t cols, bool transpose,
               const ByteSink& sink) {
  std::vector<uint8_t> staging;
  std::vector<FileValue> piece;
  const bool same_type = sizeof(TensorValue) == sizeof(FileValue) && src.dtype != DType::bf16;
  if (!transpose) {
    // Rows [r0, r1) at a time, written straight from the arena when no conversion is needed.
    const int64_t piece_rows = std::max<int64_t>(
        1, int64_t(kPieceBytes / (sizeof(FileValue) * size_t(std::max<int64_t>(1, cols)))));
    for (int64_t r0 = 0; r0 < rows; r0 += piece_rows) {
      const int64_t n = (std::min(rows, r0 + piece_rows) - r0) * cols;
      const auto* x =
          reinterpret_cast<const TensorValue*>(host_values(backend, src, r0 * cols, n, staging));
      if (same_type) {
        sink(x, size_t(n) * sizeof(FileValue));
        continue;
      }
      piece.resize(size_t(n));
      for (int64_t i = 0; i < n; i++) piece[i] = widen<FileValue>(x, i);
      sink(piece.data(), piece.size() * sizeof(FileValue));
    }
    return;
  }
  // Transposed: the file's rows are our columns. Columns [c0, c1) at a time make one piece of
  // (c1 - c0, rows) values, filled in 32 x 32 tiles so that reads and writes both stay in cache.
  const auto* x =
      reinterpret_cast<const TensorValue*>(host_values(backend, src, 0, rows * cols, staging));
  const int64_t piece_cols = std::max<int64_t>(
      1, int64_t(kPieceBytes / (sizeof(FileValue) * size_t(std::max<int64_t>(1, rows)))));
  constexpr int64_t kBlock = 32;
  for (int64_t c0 = 0; c0 < cols; c0 += piece_cols) {
    const int64_t c1 = std::min(cols, c0 + piece_cols);
    piece.resize(size_t((c1 - c0) * rows));
    for (int64_t rb = 0; rb < rows; rb += kBlock)
      for (int64_t cb = c0; cb < c1; cb += kBlock)
        for (int64_t c = cb; c < std::min(cb + kBlock, c1); c++)
          for (int64_t r = rb; r < std::min(rb + kBlock, rows); r++)
            piece[size_t((c - c0) * rows + r)] = widen<FileValue>(x, r * cols + c);
    sink(piece.data(), piece.size() * sizeof(FileValue));
  }
}

template <typename FileValue> void stream_to(Backend& backend, Tensor src, int64_t rows,
                                             int64_t cols, bool transpose, const ByteSink& sink) {
  switch (src.dtype) {
    case DType::f32: stream_as<float, FileValue>(backend, src, rows, cols, transpose, sink); break;
    case DType::f64: stream_as<double, FileValue>(backend, src, rows, cols, transpose, sink); break;
    case DType::bf16:
      stream_as<uint16_t, FileValue>(backend, src, rows, cols, transpose, sink);
      break;
    default: throw Error(std::string("cannot save a ") + dtype_name(src.dtype) + " tensor");
  }
}

}  // namespace

void stream_tensor_values(Backend& backend, Tensor src, int64_t rows, int64_t cols,
                          DType file_dtype, bool transpose, const ByteSink& sink) {
  check(rows >= 0 && cols >= 0 && rows * cols <= src.numel(),
        "stream_tensor_values: " + std::to_string(rows) + " x " + std::to_string(cols) +
            " values asked of a tensor of " + std::to_string(src.numel()));
  switch (file_dtype) {
    case DType::f32: stream_to<float>(backend, src, rows, cols, transpose, sink); break;
    case DType::f64:
      check(src.dtype == DType::f64, std::string("cannot save a ") + dtype_name(src.dtype) +
                                         " tensor as F64 (only f64 tensors are)");
      stream_to<double>(backend, src, rows, cols, transpose, sink);
      break;
    default: throw Error(std::string("cannot save tensors as ") + dtype_name(file_dtype));
  }
}

}  // namespace llm
