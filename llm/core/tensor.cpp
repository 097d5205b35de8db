#include "llm/core/tensor.hpp"

namespace llm {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::bf16: return 2;
    case DType::i32: return 4;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::bf16: return "bf16";
    case DType::i32: return "i32";
  }
  return "?";
}

const char* device_name(Device device) { return device == Device::cpu ? "cpu" : "cuda"; }

Shape::Shape(std::initializer_list<int64_t> list) {
  check(list.size() <= kMaxRank, "Shape: at most 5 dimensions");
  for (int64_t d : list) dims[rank++] = d;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) n *= dims[i];
  return n;
}

Shape Shape::drop_first() const {
  Shape s;
  for (int i = 1; i < rank; i++) s.dims[s.rank++] = dims[i];
  return s;
}

std::string Shape::str() const {
  std::string s = "(";
  for (int i = 0; i < rank; i++) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + ")";
}

bool Shape::operator==(const Shape& other) const {
  if (rank != other.rank) return false;
  for (int i = 0; i < rank; i++)
    if (dims[i] != other.dims[i]) return false;
  return true;
}

Tensor Tensor::slice(int64_t i) const {
  check(shape.rank >= 1 && i >= 0 && i < shape.dims[0], "Tensor::slice: index out of range");
  Tensor t = *this;
  t.shape = shape.drop_first();
  t.data = static_cast<char*>(data) + static_cast<size_t>(i) * t.nbytes();
  return t;
}

Tensor Tensor::reshape(Shape new_shape) const {
  check(new_shape.numel() == numel(), "Tensor::reshape: " + shape.str() + " -> " + new_shape.str() +
                                          " changes the element count");
  Tensor t = *this;
  t.shape = new_shape;
  return t;
}

Tensor Tensor::prefix(Shape new_shape) const {
  check(new_shape.numel() <= numel(),
        "Tensor::prefix: " + new_shape.str() + " is larger than " + shape.str());
  Tensor t = *this;
  t.shape = new_shape;
  return t;
}

}  // namespace llm
