#pragma once
// defines: llm::DType, llm::Device, llm::Shape, llm::Tensor
//
// A Tensor here is a *view*: a pointer into memory someone else owns (an Arena), a dtype, the
// device the memory lives on, and a row-major shape. Views are cheap to copy and never allocate, so
// the training step can build them freely (e.g. `params.qkvw.slice(l)` for layer l).
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "llm/core/error.hpp"

namespace llm {

enum class DType : uint8_t { f32, f64, bf16, i32 };
enum class Device : uint8_t { cpu, cuda };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);
const char* device_name(Device device);

// The C++ type that stores one element of a dtype, for typed access on the CPU.
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<int32_t>() { return DType::i32; }

// A row-major shape of up to 5 dimensions, e.g. {L, B, NH, T, T} for the attention maps.
struct Shape {
  static constexpr int kMaxRank = 5;
  std::array<int64_t, kMaxRank> dims{};
  int rank = 0;

  Shape() = default;
  Shape(std::initializer_list<int64_t> list);
  int64_t numel() const;
  int64_t operator[](int i) const { return dims[i]; }
  Shape drop_first() const;  // {L, B, T, C} -> {B, T, C}
  std::string str() const;   // "(4, 12, 64, 128)"
  bool operator==(const Shape& other) const;
};

struct Tensor {
  void* data = nullptr;
  DType dtype = DType::f32;
  Device device = Device::cpu;
  Shape shape;

  int64_t numel() const { return shape.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  int64_t size(int i) const { return shape.dims[i]; }
  int64_t last_dim() const { return shape.rank ? shape.dims[shape.rank - 1] : 1; }
  int64_t rows() const {
    return numel() / last_dim();
  }  // all leading dims folded: (B, T, C) -> B*T
  bool empty() const { return data == nullptr; }

  // The i-th sub-tensor along the first dimension: a (L, 3C, C) weight gives layer l's (3C, C).
  Tensor slice(int64_t i) const;
  // The same memory seen with another shape of the same element count.
  Tensor reshape(Shape new_shape) const;
  // The first new_shape.numel() elements seen with new_shape: a buffer sized for the longest
  // sequence serves shorter ones, e.g. (B, maxT, C) -> (B, Tn, C).
  Tensor prefix(Shape new_shape) const;

  // Typed pointer for CPU code; throws if the dtype is not T or the memory is not on the host.
  template <typename T> T* ptr() const {
    check(dtype == dtype_of<T>(),
          std::string("tensor holds ") + dtype_name(dtype) + ", not the requested element type");
    check(device == Device::cpu, "tensor is on the GPU; CPU code cannot read it");
    return static_cast<T*>(data);
  }
};

}  // namespace llm
