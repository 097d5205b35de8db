#pragma once
// defines: test_inputs::randn, test_inputs::random_tokens, test_inputs::view, test_inputs::error_of
//
// The inputs the op and model tests build their cases from: seeded random values and token ids (the
// same seed gives the same values in every test and on every machine), and host vectors seen as
// Tensors; and the message of an expected error. Used by the op, model, import and loading tests.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "llm/core/error.hpp"
#include "llm/core/tensor.hpp"

namespace test_inputs {

// The message of the llm::Error that fn throws, or "(no error)".
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const llm::Error& e) { return e.what(); }
  return "(no error)";
}

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

// An empty folder for one test's files: glassbox_test_NAME under the system's temporary folder,
// emptied first so that nothing of an earlier run is read back.
inline std::filesystem::path fresh_dir(const std::string& name) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("glassbox_test_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace test_inputs
