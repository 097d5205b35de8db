#pragma once
// defines: test_inputs::randn, test_inputs::random_tokens, test_inputs::view
//
// The inputs the op and model tests build their cases from: seeded random values and token ids (the
// same seed gives the same values in every test and on every machine), and host vectors seen as
// Tensors. Used by tests/test_cpu_ops.cpp, tests/test_cuda_ops.cpp and tests/test_model.cpp.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "llm/core/tensor.hpp"

namespace test_inputs {

// Normal values with a fixed seed; never exactly zero (a zero could hide a missing term).
inline std::vector<double> randn(size_t n, uint32_t seed, double stddev = 1.0, double mean = 0.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(mean, stddev);
  std::vector<double> v(n);
  for (double& x : v) {
    do x = dist(rng);
    while (x == 0.0);
  }
  return v;
}

// Token ids uniform in [0, vocab).
inline std::vector<int32_t> random_tokens(size_t n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, vocab - 1);
  std::vector<int32_t> out(n);
  for (int32_t& t : out) t = dist(rng);
  return out;
}

// The host vector v seen as a CPU tensor of `shape` (which must have v.size() elements).
template <typename T> llm::Tensor view(std::vector<T>& v, llm::Shape shape) {
  REQUIRE(shape.numel() == static_cast<int64_t>(v.size()));
  llm::Tensor t;
  t.data = v.data();
  t.dtype = llm::dtype_of<T>();
  t.device = llm::Device::cpu;
  t.shape = shape;
  return t;
}

}  // namespace test_inputs
