#pragma once
// defines: llm::Arena, one block of backend memory carved into named tensor views.
//
// Parameters, gradients, optimizer moments and activations each live in one Arena, sized up front
// from the config, so a training step never allocates. A "views" struct (e.g. ParameterTensors)
// lists its tensors once, with names and shapes, in a visit() method; Arena::carve walks that list
// twice: once to add up the sizes, once to hand out the views.
#include <cstddef>
#include <string>

#include "llm/backend/backend.hpp"
#include "llm/core/tensor.hpp"
#include "llm/core/tensor_kind.hpp"

namespace llm {

class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  Arena(Arena&& other) noexcept { *this = std::move(other); }
  Arena& operator=(Arena&& other) noexcept;
  ~Arena();

  // Allocates every tensor that views.visit(...) lists, all of one dtype, back to back (so the
  // whole arena is also one flat tensor, see whole()), and points the views at them. The memory is
  // zeroed. `visit` is called as visit(fn) with fn(name, Tensor&, Shape).
  template <typename Views> void carve(Backend& backend, DType dtype, Views& views) {
    int64_t total = 0;
    views.visit([&](const char*, Tensor&, Shape shape) { total += shape.numel(); });
    allocate(backend, dtype, total * int64_t(dtype_size(dtype)));
    views.visit([&](const char*, Tensor& t, Shape shape) { t = take(shape, dtype, 1); });
    if (!backend.allocates_zeroed()) backend.zero(whole());
  }

  // The same with a dtype per tensor, dtype_of_kind(kind) (e.g. bf16 values with f32 statistics):
  // here `visit` calls fn(name, Tensor&, Shape, TensorKind). Each tensor starts on a kAlign-byte
  // boundary, so GPU kernels can use wide loads.
  template <typename Views, typename DTypeOfKind>
  void carve(Backend& backend, Views& views, DTypeOfKind&& dtype_of_kind) {
    int64_t bytes = 0;
    views.visit([&](const char*, Tensor&, Shape shape, TensorKind kind) {
      bytes = align_up(bytes) + shape.numel() * int64_t(dtype_size(dtype_of_kind(kind)));
    });
    allocate(backend, DType::f32, bytes);
    views.visit([&](const char*, Tensor& t, Shape shape, TensorKind kind) {
      t = take(shape, dtype_of_kind(kind), kAlign);
    });
    mixed_ = true;
    if (!backend.allocates_zeroed()) backend.zero(raw_bytes());
  }

  // All of the arena as one flat tensor (numel), e.g. to zero every gradient in one call.
  // Only for an arena of one dtype.
  Tensor whole() const;
  size_t nbytes() const { return size_t(bytes_); }

  static constexpr int64_t kAlign = 256;

 private:
  static int64_t align_up(int64_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }
  void allocate(Backend& backend, DType dtype, int64_t bytes);
  Tensor take(Shape shape, DType dtype, int64_t align);
  Tensor raw_bytes() const;  // everything, as bytes-sized f32 words rounded up (for zeroing)

  Backend* backend_ = nullptr;
  void* memory_ = nullptr;
  DType dtype_ = DType::f32;  // of a single-dtype arena
  bool mixed_ = false;
  int64_t bytes_ = 0;
  int64_t used_bytes_ = 0;
};

}  // namespace llm
