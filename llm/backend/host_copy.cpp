#include "llm/backend/host_copy.hpp"

#include <algorithm>

#include "llm/core/bf16.hpp"
#include "llm/core/error.hpp"

namespace llm {

std::vector<double> tensor_to_host_f64(Backend& backend, Tensor t) {
  std::vector<double> out(t.numel());
  switch (t.dtype) {
    case DType::f64: backend.copy_to_host(out.data(), t); break;
    case DType::f32: {
      std::vector<float> f(t.numel());
      backend.copy_to_host(f.data(), t);
      std::copy(f.begin(), f.end(), out.begin());
      break;
    }
    case DType::bf16: {
      std::vector<uint16_t> h(t.numel());
      backend.copy_to_host(h.data(), t);
      for (size_t i = 0; i < h.size(); i++) out[i] = bf16_to_float(h[i]);
      break;
    }
    default: throw Error(std::string("cannot read a ") + dtype_name(t.dtype) + " tensor as floats");
  }
  return out;
}

std::vector<float> tensor_to_host_f32(Backend& backend, Tensor t) {
  std::vector<float> out(t.numel());
  switch (t.dtype) {
    case DType::f32: backend.copy_to_host(out.data(), t); break;
    case DType::bf16: {
      std::vector<uint16_t> h(t.numel());
      backend.copy_to_host(h.data(), t);
      for (size_t i = 0; i < h.size(); i++) out[i] = bf16_to_float(h[i]);
      break;
    }
    default:
      throw Error(std::string("cannot read a ") + dtype_name(t.dtype) + " tensor as f32 floats");
  }
  return out;
}

void tensor_from_host_f64(Backend& backend, Tensor t, const std::vector<double>& values) {
  check(int64_t(values.size()) == t.numel(), "tensor_from_host_f64: size mismatch");
  switch (t.dtype) {
    case DType::f64: backend.copy_from_host(t, values.data()); break;
    case DType::f32: {
      std::vector<float> f(values.begin(), values.end());
      backend.copy_from_host(t, f.data());
      break;
    }
    case DType::bf16: {
      std::vector<uint16_t> h(values.size());
      for (size_t i = 0; i < h.size(); i++) h[i] = float_to_bf16(static_cast<float>(values[i]));
      backend.copy_from_host(t, h.data());
      break;
    }
    default:
      throw Error(std::string("cannot write a ") + dtype_name(t.dtype) + " tensor from floats");
  }
}

}  // namespace llm
