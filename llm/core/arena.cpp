#include "llm/core/arena.hpp"

#include <utility>

namespace llm {

Arena& Arena::operator=(Arena&& other) noexcept {
  std::swap(backend_, other.backend_);
  std::swap(memory_, other.memory_);
  std::swap(dtype_, other.dtype_);
  std::swap(mixed_, other.mixed_);
  std::swap(bytes_, other.bytes_);
  std::swap(used_bytes_, other.used_bytes_);
  return *this;
}

Arena::~Arena() {
  if (memory_) backend_->release(memory_);
}

void Arena::allocate(Backend& backend, DType dtype, int64_t bytes) {
  check(memory_ == nullptr, "Arena: already allocated");
  backend_ = &backend;
  dtype_ = dtype;
  // Round up to whole f32 words so raw_bytes() covers everything.
  bytes_ = (bytes + 3) / 4 * 4;
  used_bytes_ = 0;
  memory_ = backend.allocate(static_cast<size_t>(bytes_));
}

Tensor Arena::take(Shape shape, DType dtype, int64_t align) {
  const int64_t start = (used_bytes_ + align - 1) / align * align;
  const int64_t end = start + shape.numel() * int64_t(dtype_size(dtype));
  check(end <= bytes_, "Arena: out of space");
  Tensor t;
  t.data = static_cast<char*>(memory_) + start;
  t.dtype = dtype;
  t.device = backend_->device();
  t.shape = shape;
  used_bytes_ = end;
  return t;
}

Tensor Arena::whole() const {
  check(!mixed_, "Arena::whole: this arena holds several dtypes");
  Tensor t;
  t.data = memory_;
  t.dtype = dtype_;
  t.device = backend_ ? backend_->device() : Device::cpu;
  t.shape = Shape{used_bytes_ / int64_t(dtype_size(dtype_))};  // the tensors, back to back
  return t;
}

Tensor Arena::raw_bytes() const {
  Tensor t;
  t.data = memory_;
  t.dtype = DType::f32;
  t.device = backend_->device();
  t.shape = Shape{bytes_ / 4};
  return t;
}

}  // namespace llm
