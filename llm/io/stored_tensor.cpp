#include "llm/io/stored_tensor.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "llm/core/bf16.hpp"
#include "llm/core/error.hpp"

namespace llm {

namespace {

// One value of type T at p; memcpy because the file gives no alignment.
template <typename T> T read_unaligned(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// How each file dtype is read: one element at p, widened to float, or to double for F64 so an f64
// model loses nothing.
struct FromF32 {
  static constexpr size_t size = 4;
  static float load(const uint8_t* p) { return read_unaligned<float>(p); }
};
struct FromF64 {
  static constexpr size_t size = 8;
  static double load(const uint8_t* p) { return read_unaligned<double>(p); }
};
struct FromF16 {
  static constexpr size_t size = 2;
  static float load(const uint8_t* p) { return f16_to_float(read_unaligned<uint16_t>(p)); }
};
struct FromBF16 {
  static constexpr size_t size = 2;
  static float load(const uint8_t* p) { return bf16_to_float(read_unaligned<uint16_t>(p)); }
};

// How each tensor dtype is written: the value in the precision it is checked in (Wide), then
// stored.
template <typename Out> struct To;
template <> struct To<float> {
  using Wide = float;
  static float store(float v) { return v; }
};
template <> struct To<double> {
  using Wide = double;
  static double store(double v) { return v; }
};
template <> struct To<uint16_t> {  // bf16
  using Wide = float;
  static uint16_t store(float v) { return float_to_bf16(v); }
};

// 1 when v is NaN or +-inf, else 0: exactly the IEEE 754 values whose exponent bits are all ones.
// Tested on the bits with integer operations, OR-ed into an integer, so the conversion loops
// vectorise: a floating-point comparison folded into a bool (`finite &= (w - w == 0)`) compiled to
// one compare, set and conditional move per value, a serial chain that cost more than the copy.
inline uint32_t not_finite(float v) {
  return uint32_t((std::bit_cast<uint32_t>(v) & 0x7f800000u) == 0x7f800000u);
}
inline uint32_t not_finite(double v) {
  constexpr uint64_t kExponent = 0x7ff0000000000000u;
  return uint32_t((std::bit_cast<uint64_t>(v) & kExponent) == kExponent);
}

// Rows [r0, r1) of the stored (rows, cols) values into out, which is (rows, cols) or, transposed,
// (cols, rows). Returns false when a value is not finite.
template <typename From, typename Out> bool convert_rows(Out* out, const uint8_t* src, int64_t r0,
                                                         int64_t r1, int64_t rows, int64_t cols,
                                                         bool transpose) {
  using Wide = typename To<Out>::Wide;
  uint32_t bad = 0;
  if (!transpose) {
    for (int64_t i = r0 * cols; i < r1 * cols; i++) {
      const Wide w = static_cast<Wide>(From::load(src + size_t(i) * From::size));
      bad |= not_finite(w);
      out[i] = To<Out>::store(w);
    }
    return bad == 0;
  }
  // Blocked transpose: a kBlock x kBlock tile is read row by row and written column by column, so
  // both sides stay in cache (kBlock rows of 32 floats each are 32 cache lines).
  constexpr int64_t kBlock = 32;
  for (int64_t rb = r0; rb < r1; rb += kBlock) {
    const int64_t re = std::min(rb + kBlock, r1);
    for (int64_t cb = 0; cb < cols; cb += kBlock) {
      const int64_t ce = std::min(cb + kBlock, cols);
      for (int64_t c = cb; c < ce; c++) {
        for (int64_t r = rb; r < re; r++) {
          const Wide w = static_cast<Wide>(From::load(src + size_t(r * cols + c) * From::size));
          bad |= not_finite(w);
          out[c * rows + r] = To<Out>::store(w);
        }
      }
    }
  }
  return bad == 0;
}

// The first non-finite value of rows [r0, r1), for the error message (only run once one was seen).
template <typename From, typename Out>
[[noreturn]] void throw_not_finite(const StoredTensor& src, int64_t r0, int64_t r1) {
  using Wide = typename To<Out>::Wide;
  for (int64_t i = r0 * src.cols; i < r1 * src.cols; i++) {
    const Wide w = static_cast<Wide>(From::load(src.bytes + size_t(i) * From::size));
    if (!not_finite(w)) continue;
    char value[32];
    std::snprintf(value, sizeof value, "%g",
                  double(From::load(src.bytes + size_t(i) * From::size)));
    throw Error(src.where + ": holds a non-finite value (" + value + ") at element " +
                std::to_string(i) + " (row " + std::to_string(i / src.cols) + ", column " +
                std::to_string(i % src.cols) + " as stored); the weights are corrupt");
  }
  throw Error(src.where + ": holds a non-finite value");
}

template <typename From, typename Out>
void convert_all(Out* out, const StoredTensor& src, bool transpose) {
  // About 1 MiB of the file per chunk. The chunks write disjoint parts of out (rows, or columns
  // when transposed), so the cores convert them side by side: most of a load into fresh memory is
  // the kernel zeroing each arena page on its first write, and that work is done by the thread
  // whose write faults, so it spreads over the cores too. After each chunk its file pages are
  // released. The chunks are shared out through an atomic counter among plain threads (as many as
  // OpenMP would use) rather than by an OpenMP loop: OpenMP's idle threads wait actively between
  // parallel loops, and between the tensors of a load they spun for more CPU time than the
  // conversion took, which slowed the load on a busy machine (experiments/loading/README.md).
  const size_t row_bytes = std::max<size_t>(1, size_t(src.cols) * From::size);
  const int64_t chunk_rows = std::max<int64_t>(1, int64_t((size_t(1) << 20) / row_bytes));
  const int64_t chunks = (src.rows + chunk_rows - 1) / chunk_rows;
  std::vector<uint8_t> finite(size_t(chunks), 1);
  std::atomic<int64_t> next{0};
  auto convert_chunks = [&] {
    for (int64_t k = next++; k < chunks; k = next++) {
      const int64_t r0 = k * chunk_rows, r1 = std::min(src.rows, r0 + chunk_rows);
      finite[size_t(k)] =
          convert_rows<From, Out>(out, src.bytes, r0, r1, src.rows, src.cols, transpose);
      if (src.release) src.release(src.bytes + size_t(r0) * row_bytes, size_t(r1 - r0) * row_bytes);
    }
  };
  const int64_t helpers = std::min<int64_t>(chunks, omp_get_max_threads()) - 1;
  std::vector<std::thread> threads;
  for (int64_t i = 0; i < helpers; i++) threads.emplace_back(convert_chunks);
  convert_chunks();
  for (std::thread& t : threads) t.join();
  // The error names the first chunk that holds a non-finite value, as a serial pass would.
  for (int64_t k = 0; k < chunks; k++)
    if (!finite[size_t(k)])
      throw_not_finite<From, Out>(src, k * chunk_rows, std::min(src.rows, (k + 1) * chunk_rows));
}

template <typename Out> void convert_from(Out* out, const StoredTensor& src, bool transpose) {
  switch (src.dtype) {
    case StoredDType::f32: convert_all<FromF32>(out, src, transpose); break;
    case StoredDType::f64: convert_all<FromF64>(out, src, transpose); break;
    case StoredDType::f16: convert_all<FromF16>(out, src, transpose); break;
    case StoredDType::bf16: convert_all<FromBF16>(out, src, transpose); break;
  }
}

}  // namespace

size_t stored_dtype_size(StoredDType dtype) {
  switch (dtype) {
    case StoredDType::f32: return 4;
    case StoredDType::f64: return 8;
    case StoredDType::f16:
    case StoredDType::bf16: return 2;
  }
  return 0;
}

void convert_stored(void* out, DType out_dtype, const StoredTensor& src, bool transpose) {
  switch (out_dtype) {
    case DType::f32: convert_from(static_cast<float*>(out), src, transpose); break;
    case DType::f64: convert_from(static_cast<double*>(out), src, transpose); break;
    case DType::bf16: convert_from(static_cast<uint16_t*>(out), src, transpose); break;
    default:
      throw Error(src.where + ": cannot load floats into a " + dtype_name(out_dtype) + " tensor");
  }
}

void load_stored_tensor(Backend& backend, Tensor dst, const StoredTensor& src, bool transpose) {
  const int64_t n = src.rows * src.cols;
  check(dst.numel() >= n, src.where + ": " + std::to_string(n) + " values do not fit a tensor of " +
                              std::to_string(dst.numel()));
  const size_t value_bytes = size_t(n) * dtype_size(dst.dtype);
  if (dst.device == Device::cpu) {  // straight into the arena
    convert_stored(dst.data, dst.dtype, src, transpose);
    std::memset(static_cast<char*>(dst.data) + value_bytes, 0, dst.nbytes() - value_bytes);
    return;
  }
  std::vector<uint8_t> host(dst.nbytes(), 0);
  convert_stored(host.data(), dst.dtype, src, transpose);
  backend.copy_from_host(dst, host.data());
}

}  // namespace llm
