#pragma once
// defines: llm::Arena, one block of backend memory carved into named tensor views.
//
// Parameters, gradients, optimizer moments and activations each live in one Arena, sized up front
// from the config, so a training step never allocates. A "views" struct (e.g. ParameterTensors) lists
// its tensors once, with names and shapes, in a visit() method; Arena::carve walks that list twice:
// once to add up the sizes, once to hand out the views.
#include <cstddef>
#include <string>

#include "llm/backend/backend.hpp"
#include "llm/core/tensor.hpp"

namespace llm {

class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  Arena(Arena&& other) noexcept { *this = std::move(other); }
  Arena& operator=(Arena&& other) noexcept;
  ~Arena();

  // Allocates every tensor that views.visit(...) lists, all of one dtype, and points the views at
  // them. The memory is zeroed. `visit` is called as visit(fn) with fn(name, Tensor&, Shape).
  template <typename Views>
  void carve(Backend& backend, DType dtype, Views& views) {
    int64_t total = 0;
    views.visit([&](const char*, Tensor&, Shape shape) { total += shape.numel(); });
    allocate(backend, dtype, total);
    views.visit([&](const char*, Tensor& t, Shape shape) { t = take(shape); });
    backend.zero(whole());
  }

  // All of the arena as one flat tensor (numel), e.g. to zero every gradient in one call.
  Tensor whole() const;
  size_t nbytes() const { return numel_ * dtype_size(dtype_); }

 private:
  void allocate(Backend& backend, DType dtype, int64_t numel);
  Tensor take(Shape shape);

  Backend* backend_ = nullptr;
  void* memory_ = nullptr;
  DType dtype_ = DType::f32;
  int64_t numel_ = 0;
  int64_t used_ = 0;
};

}  // namespace llm
