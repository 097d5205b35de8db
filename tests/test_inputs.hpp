#pragma once
// defines: test_inputs::randn, random_tokens, view, error_of, fresh_dir
//
// The inputs the op and model tests build their cases from: seeded random values and token ids (the
// same seed gives the same values in every test and on every machine), and host vectors seen as
// Tensors; the message of an expected error; a fresh temporary folder. Used by most tests.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "lessons/common/random.hpp"
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

// Normal values with a fixed seed, never exactly zero; the lessons' generator.
using lesson::randn;

// Token ids uniform in [0, vocab).
inline std::vector<int32_t> random_tokens(size_t n, int vocab, uint32_t seed) {
  return lesson::randint(n, 0, vocab, seed);
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
