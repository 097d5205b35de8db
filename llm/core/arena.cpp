#include "llm/core/arena.hpp"

#include <utility>

namespace llm {

Arena& Arena::operator=(Arena&& other) noexcept {
  std::swap(backend_, other.backend_);
  std::swap(memory_, other.memory_);
  std::swap(dtype_, other.dtype_);
  std::swap(numel_, other.numel_);
  std::swap(used_, other.used_);
  return *this;
}

Arena::~Arena() {
  if (memory_) backend_->release(memory_);
}

void Arena::allocate(Backend& backend, DType dtype, int64_t numel) {
  check(memory_ == nullptr, "Arena: already allocated");
  backend_ = &backend;
  dtype_ = dtype;
  numel_ = numel;
  used_ = 0;
  memory_ = backend.allocate(static_cast<size_t>(numel) * dtype_size(dtype));
}

Tensor Arena::take(Shape shape) {
  check(used_ + shape.numel() <= numel_, "Arena: out of space");
  Tensor t;
  t.data = static_cast<char*>(memory_) + static_cast<size_t>(used_) * dtype_size(dtype_);
  t.dtype = dtype_;
  t.device = backend_->device();
  t.shape = shape;
  used_ += shape.numel();
  return t;
}

Tensor Arena::whole() const {
  Tensor t;
  t.data = memory_;
  t.dtype = dtype_;
  t.device = backend_ ? backend_->device() : Device::cpu;
  t.shape = Shape{numel_};
  return t;
}

}  // namespace llm
