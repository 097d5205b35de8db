#include "llm/backend/cpu/cpu_backend.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "llm/backend/expect.hpp"
#include "llm/core/bf16.hpp"

namespace llm {
namespace {

double load_element(const void* data, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::f32: return static_cast<const float*>(data)[i];
    case DType::f64: return static_cast<const double*>(data)[i];
    case DType::bf16: return bf16_to_float(static_cast<const uint16_t*>(data)[i]);
    case DType::i32: return static_cast<const int32_t*>(data)[i];
  }
  return 0.0;
}

void store_element(void* data, DType dtype, int64_t i, double value) {
  switch (dtype) {
    case DType::f32: static_cast<float*>(data)[i] = static_cast<float>(value); break;
    case DType::f64: static_cast<double*>(data)[i] = value; break;
    case DType::bf16:
      static_cast<uint16_t*>(data)[i] = float_to_bf16(static_cast<float>(value));
      break;
    case DType::i32: static_cast<int32_t*>(data)[i] = static_cast<int32_t>(value); break;
  }
}

}  // namespace

template <typename T> const char* CpuBackend<T>::name() const {
  return dtype_of<T>() == DType::f32 ? "cpu-f32" : "cpu-f64";
}

// ---- memory ----

// calloc, because for large blocks it maps fresh zero pages from the kernel instead of writing
// zeros: memory is only committed where it is written. calloc promises 16-byte alignment, so the
// block is over-allocated by kAlign and the pointer calloc returned is kept just below the aligned
// one, for release().
template <typename T> void* CpuBackend<T>::allocate(size_t bytes) {
  constexpr size_t kAlign = 64;
  void* block = std::calloc(1, bytes + kAlign);
  check(block != nullptr,
        "cpu backend: out of memory allocating " + std::to_string(bytes) + " bytes");
  const uintptr_t aligned = (uintptr_t(block) + sizeof(void*) + kAlign - 1) / kAlign * kAlign;
  reinterpret_cast<void**>(aligned)[-1] = block;
  // Ask for 2 MiB pages where the kernel has them (transparent huge pages): first writes to a large
  // arena, e.g. while loading a checkpoint into it, then fault 512 times less often.
  constexpr uintptr_t kHugePage = uintptr_t(2) << 20;
  const uintptr_t first = (aligned + kHugePage - 1) / kHugePage * kHugePage;
  const uintptr_t last = (aligned + bytes) / kHugePage * kHugePage;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

template <typename T> void CpuBackend<T>::release(void* ptr) {
  if (ptr) std::free(static_cast<void**>(ptr)[-1]);
}

template <typename T> void CpuBackend<T>::zero(Tensor t) {
  if (t.empty()) return;
  check(t.device == Device::cpu, "zero: tensor is on the GPU");
  std::memset(t.data, 0, t.nbytes());
}

template <typename T> void CpuBackend<T>::copy_to_host(void* host, Tensor src) {
  check(src.device == Device::cpu, "copy_to_host: src is on the GPU");
  if (src.nbytes()) std::memcpy(host, src.data, src.nbytes());
}

template <typename T> void CpuBackend<T>::copy_from_host(Tensor dst, const void* host) {
  check(dst.device == Device::cpu, "copy_from_host: dst is on the GPU");
  if (dst.nbytes()) std::memcpy(dst.data, host, dst.nbytes());
}

template <typename T> void CpuBackend<T>::convert(Tensor dst, Tensor src) {
  check(dst.device == Device::cpu && src.device == Device::cpu, "convert: tensor is on the GPU");
  expect_numel("convert", "dst", dst, src.numel(), "src's " + src.shape.str());
  if (dst.dtype == src.dtype) {
    std::memcpy(dst.data, src.data, src.nbytes());
    return;
  }
  const int64_t n = src.numel();
#pragma omp parallel for
  for (int64_t i = 0; i < n; i++)
    store_element(dst.data, dst.dtype, i, load_element(src.data, src.dtype, i));
}

template class CpuBackend<float>;
template class CpuBackend<double>;

// ---- factory (declared in backend.hpp; make_backend is in llm/backend/make_backend.cpp) ----

std::unique_ptr<Backend> make_cpu_backend(DType dtype) {
  switch (dtype) {
    case DType::f32: return std::make_unique<CpuBackend<float>>();
    case DType::f64: return std::make_unique<CpuBackend<double>>();
    default:
      throw Error(std::string("the CPU backend runs in f32 or f64, not ") + dtype_name(dtype));
  }
}

}  // namespace llm
