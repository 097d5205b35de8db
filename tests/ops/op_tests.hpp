#pragma once
// defines: op_tests, the helpers of the op tests, and how they test.
//
// tests/ops/<op>.cpp holds one op's tests (the twin of llm/backend/cpu/<op>.cpp and
// kernels/<op>.cu): its CPU tests in the doctest suite "cpu", the tests of its CUDA kernels against
// the CPU in the suite "cuda". cpu_backend.cpp and cuda_backend.cpp hold what is not one op (the
// gradient-check harness, conversions, the whole model on the GPU). One program, test_ops, runs
// them all: ctest test_cpu_ops (-ts=cpu, label unit), test_cuda_ops (-ts=cuda, label cuda) and
// test_cuda_ops_emulated (-ts=cuda on the CPU emulation of CUDA, label cuda_emulated).
//
// ==== suite "cpu": the CPU reference backend (llm/backend/cpu/), op by op ====
//
// - Every backward is checked against central finite differences in double (tests/gradcheck.hpp)
//   of L = sum(w * forward output) for a fixed random w, on fixed-seed normal inputs of odd sizes
//   (B = 2, T = 5, C = 12, NH = 3, ...). Gradient buffers start from random values, not zeros, and
//   the analytic gradient is (buffer after - buffer before): this also checks that every backward
//   ACCUMULATES. Each gradient check is then shown to have teeth: the same check must reject the
//   analytic gradient with one entry moved by 1e-4 relative.
// - Forwards are checked against naive loop formulas written out here, in double.
// - The f32 backend must agree with the f64 one to ~1e-5 (float rounding through a few ops).
//
// ==== suite "cuda": the CUDA backend (kernels/), every op against its CPU twin ====
//
// Shapes. GLASSBOX_CUDA_TEST_SHAPES=large (the default) runs every op at small odd shapes and at
// the model's real ones (attention at T = 1024 with head sizes 64 and 128, C = 768 and 1600, the
// classifier at V = 50257, matmuls up to 3072), and ten AdamW steps; =small keeps only the odd
// shapes and two AdamW steps, what the emulation can run in CI.
//
// Without a GPU (or in a build without the CUDA backend) every test case prints one line
//   SKIPPED (no GPU: <why>): <test case name>
// and passes. With one, every comparison also prints its margin, "[worst/bound 0.12] <what>": the
// worst element's error as a fraction of what the tolerance allows.
//
// Method. The GPU keeps weights, activations and their gradients in bf16, and the statistics
// (layernorm mean and rstd, the attention log-sum-exps, the losses), master weights and AdamW
// moments in f32. Every input is drawn in double from a seed of its own (normal, never exactly 0),
// rounded ONCE to the dtype it has on the GPU, and the same rounded values go to the CPU f32
// backend (a Twin, below). So the two sides start from identical inputs, and a difference measures
// only the GPU's arithmetic and its roundings. Gradient buffers start from random values, the same
// on both sides, not from zeros: every backward must ACCUMULATE, and an op that overwrites fails
// the comparison. Outputs start as NaN on both sides: an element an op forgets to write fails it
// too.
//
// Tolerances, element-wise: |gpu - cpu| <= atol + rtol |cpu|, with the CPU's f32 as the reference
// (its own error, ~1e-6 relative, is negligible next to the bounds below).
// - bf16 results (most ops): rtol = 1e-2. Rounding the output to bf16 costs up to 2^-8 = 0.39%
//   relative; 1e-2 is that plus room for a rounding or two of intermediates (an accumulate that
//   reads bf16, adds in f32 and rounds again; a bias added to an already rounded product).
//   atol = 1e-2 x the RMS of the reference: those intermediates are of the size of the typical
//   value, so an element that is near 0 by cancellation errs by a fraction of the typical value,
//   not of itself. The bugs this is after (a wrong index, a missing term, a forgotten tail element,
//   an overwrite instead of +=) err by the size of the values, 10-100x these bounds.
// - attention: the output is a weighted mean of rows of v; its errors scale with the v's being
//   averaged, not with the mean (which shrinks like 1/sqrt(keys)), so atol is 1e-2 x RMS(v). The
//   backward makes P, dP and dS again and sums up to T products of them: 2e-2 for rtol and atol.
// - a single rounding of an exact sum (encoder forward, residual forward and backward): the bf16
//   rounding of the CPU's value, |gpu - cpu| <= 2^-8 |cpu| (times 1 + 2^-10: room for the CPU's
//   own f32 rounding, 2^-24, when the two terms are more than 2^16 apart).
// - f32 results from bf16 inputs (statistics, losses, log-sum-exps, AdamW's masters and moments):
//   the same f32 formula summed in another order, 1e-4 for sums over C or V terms and 1e-6 for the
//   element-wise AdamW; each test says why.
// - the whole model: errors compound through every bf16 rounding of two layers, forward and
//   backward; the bounds there are norm-wise, set from a measurement, explained at those tests.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "llm/backend/backend.hpp"
#include "llm/backend/host_copy.hpp"
#include "llm/core/bf16.hpp"
#include "llm/core/error.hpp"
#include "llm/core/tensor.hpp"
#include "tests/gradcheck.hpp"
#include "tests/test_inputs.hpp"

namespace op_tests {

using namespace llm;
using test_inputs::randn;
using test_inputs::random_tokens;
using test_inputs::view;

// ==== helpers of the CPU tests ====

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += a[i] * b[i];
  return s;
}

inline std::vector<double> minus(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); i++) d[i] = a[i] - b[i];
  return d;
}

// max_i |a[i] - b[i]| / max(1, |b[i]|): an absolute error for values below 1, relative above.
inline double max_error(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); i++)
    worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
  return worst;
}

// One gradient check plus the proof that it can fail. Tolerances: those of gradcheck::Options
// (h = 1e-5, relative error <= 1e-6 with a 1e-3 floor); the worst errors observed are 6e-8 (dqkv)
// and 1.7e-7 (gelu, on a 1e-7 gradient, i.e. 1.7e-10 absolute: rounding in f(x +- h)).
inline void expect_gradient(const std::string& what,
                            const std::function<double(const std::vector<double>&)>& loss,
                            const std::vector<double>& x, const std::vector<double>& analytic) {
  const gradcheck::Result result = gradcheck::check_gradient(loss, x, analytic);
  INFO(what << ": " << result.message());
  CHECK(result.ok);
  CHECK(result.checked == static_cast<int64_t>(x.size()));

  std::vector<double> wrong = analytic;
  const size_t k = wrong.size() / 2;
  wrong[k] += 1e-4 * std::max(std::abs(wrong[k]), gradcheck::Options{}.floor);
  const gradcheck::Result caught = gradcheck::check_gradient(loss, x, wrong);
  INFO(what << " with a perturbed entry " << k << ": " << caught.message());
  CHECK_FALSE(caught.ok);
  CHECK(caught.worst_index == static_cast<int64_t>(k));
}

// The sizes of the tests: small, odd, and with more than one head and batch row.
constexpr int64_t B = 2, T = 5, C = 12, NH = 3, hs = C / NH;

// ==== helpers of the CUDA tests ====

// ---- which test case is running, for the SKIPPED line ----

// doctest tells its listeners when a test case starts; this one keeps the name, so a test case that
// finds no GPU can say which one it skips. Every other notification is ignored.
struct TestNameListener : doctest::IReporter {
  static inline std::string current;

  explicit TestNameListener(const doctest::ContextOptions&) {}
  void test_case_start(const doctest::TestCaseData& data) override { current = data.m_name; }

  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

// The CUDA backend; or, where this build or machine has none, nullptr after printing the one line
// that makes the skip visible in the test log.
inline std::unique_ptr<Backend> gpu_or_skip() {
  std::string why;
  if (!cuda_available(&why)) {
    std::printf("SKIPPED (no GPU: %s): %s\n", why.c_str(), TestNameListener::current.c_str());
    return nullptr;
  }
  return make_cuda_backend();
}

// ---- shapes ----

// Whether GLASSBOX_CUDA_TEST_SHAPES asks for the large shapes (see the top of the file).
inline bool large_shapes() {
  const char* text = std::getenv("GLASSBOX_CUDA_TEST_SHAPES");
  const std::string value = text ? text : "large";
  if (value != "small" && value != "large")
    throw Error("GLASSBOX_CUDA_TEST_SHAPES is '" + value + "', expected small or large");
  return value == "large";
}

// The cases a test runs: the small ones, and with large_shapes() the large ones after them.
template <typename Case>
std::vector<Case> cases_for(std::vector<Case> small, const std::vector<Case>& large) {
  if (large_shapes()) small.insert(small.end(), large.begin(), large.end());
  return small;
}

// ---- inputs (randn, random_tokens and view are in tests/test_inputs.hpp) ----

// x rounded to a dtype the GPU stores floats in: bf16 (to nearest even, as the GPU does) or f32.
inline double round_to(DType dtype, double x) {
  const float f = static_cast<float>(x);
  return dtype == DType::bf16 ? bf16_to_float(float_to_bf16(f)) : f;
}

// ---- device memory ----

// A tensor in memory of its own on `backend`, released when it goes out of scope. (The model
// allocates only through Arena; a test may allocate per tensor.)
class DeviceTensor {
 public:
  DeviceTensor(Backend& backend, DType dtype, Shape shape) : backend_(backend) {
    tensor_.dtype = dtype;
    tensor_.device = backend.device();
    tensor_.shape = shape;
    tensor_.data = backend.allocate(tensor_.nbytes());
  }
  DeviceTensor(DeviceTensor&& other) noexcept : backend_(other.backend_), tensor_(other.tensor_) {
    other.tensor_.data = nullptr;  // the memory has a new owner
  }
  ~DeviceTensor() {
    if (tensor_.data) backend_.release(tensor_.data);
  }
  DeviceTensor(const DeviceTensor&) = delete;
  DeviceTensor& operator=(const DeviceTensor&) = delete;

  // Handed straight to the ops: a DeviceTensor reads as the view of its memory.
  operator Tensor() const { return tensor_; }

 private:
  Backend& backend_;
  Tensor tensor_;
};

inline DeviceTensor upload_tokens(Backend& gpu, const std::vector<int32_t>& tokens, Shape shape) {
  REQUIRE(shape.numel() == static_cast<int64_t>(tokens.size()));
  DeviceTensor t(gpu, DType::i32, shape);
  gpu.copy_from_host(t, tokens.data());
  return t;
}

// The raw bytes of a GPU tensor: "bit-identical" compares these.
inline std::vector<uint8_t> raw_bytes(Backend& gpu, Tensor t) {
  std::vector<uint8_t> bytes(t.nbytes());
  gpu.copy_to_host(bytes.data(), t);
  return bytes;
}

// One tensor given to both backends: f32 on the CPU and `dtype` on the GPU (the GPU's bf16, or f32
// for statistics), holding the same values: set() rounds them to `dtype` once and hands the rounded
// values to both sides.
class Twin {
 public:
  Twin(Backend& gpu, DType dtype, Shape shape, const std::vector<double>& values)
      : gpu_(gpu), shape_(shape), device_(gpu, dtype, shape) {
    set(values);
  }
  // An output: NaN on both sides until an op writes it.
  Twin(Backend& gpu, DType dtype, Shape shape)
      : Twin(gpu, dtype, shape,
             std::vector<double>(shape.numel(), std::numeric_limits<double>::quiet_NaN())) {}

  void set(const std::vector<double>& values) {
    REQUIRE(static_cast<int64_t>(values.size()) == shape_.numel());
    const DType dtype = Tensor(device_).dtype;
    REQUIRE((dtype == DType::bf16 || dtype == DType::f32));
    std::vector<double> rounded(values.size());
    host_.resize(values.size());
    for (size_t i = 0; i < values.size(); i++) {
      rounded[i] = round_to(dtype, values[i]);
      host_[i] = static_cast<float>(rounded[i]);  // exact: a bf16 or f32 value
    }
    tensor_from_host_f64(gpu_, device_, rounded);
  }

  Tensor cpu() { return view(host_, shape_); }
  Tensor gpu() const { return device_; }
  std::vector<double> cpu_values() const { return {host_.begin(), host_.end()}; }
  std::vector<double> gpu_values() const { return tensor_to_host_f64(gpu_, device_); }

 private:
  Backend& gpu_;
  Shape shape_;
  DeviceTensor device_;
  std::vector<float> host_;
};

// ---- comparisons ----

inline double rms(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x * x;
  return std::sqrt(sum / static_cast<double>(std::max<size_t>(1, v.size())));
}

// q, k or v (which = 0, 1, 2) of every row of a (rows, C + 2 KVC) qkv: q's C columns, then k's
// KVC and v's KVC (KVC = C for ordinary multi-head attention, less for grouped-query).
inline std::vector<double> qkv_part(const std::vector<double>& qkv, int64_t C, int64_t KVC,
                                    int which) {
  const int64_t QKV = C + 2 * KVC, rows = static_cast<int64_t>(qkv.size()) / QKV;
  const int64_t first = which == 0 ? 0 : C + (which - 1) * KVC, width = which == 0 ? C : KVC;
  std::vector<double> part(rows * width);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < width; c++) part[r * width + c] = qkv[r * QKV + first + c];
  return part;
}

struct Tolerance {
  double rtol = 0;
  double atol = 0;
  const char* rule = "";  // why these numbers, for the failure message
};

// A bf16 result computed in f32 from the CPU's inputs (see the file comment). `scale` is the RMS
// of the values the errors scale with: the reference's own, or v's for attention.
inline Tolerance bf16_result(double scale, double rtol = 1e-2) {
  return {rtol, rtol * scale, "bf16 output (2^-8 each rounding), atol relative to the RMS"};
}

// One bf16 rounding of a sum the CPU computes exactly in f32. The bound is exact, so the printed
// worst/bound reaches ~1 by design (some value lies half a bf16 step from both neighbours).
inline Tolerance one_rounding() {
  return {std::ldexp(1.0, -8) * (1 + std::ldexp(1.0, -10)), 0.0,
          "a single bf16 rounding of the CPU's value: 2^-8 relative"};
}

// One bf16 rounding of an element-wise f32 formula (gelu and its derivative): the CPU's value
// rounded once, plus room for the two sides' f32 evaluations (tanhf, the order of the terms) to
// differ by ~1e-6 relative: 1e-5 of the value, and of the RMS where the value cancels to near 0.
// Tight on purpose: a wrong constant in the formula moves the result by far less than the 1e-2 of a
// bf16_result and would pass it.
inline Tolerance rounded_formula(double scale) {
  return {std::ldexp(1.0, -8) + 1e-5, 1e-5 * scale,
          "one bf16 rounding of an f32 formula: 2^-8 + 1e-5 relative"};
}

// Checks |gpu - cpu| <= atol + rtol |cpu| for every element (NaN fails), in one CHECK whose message
// names the bound and the worst element, and prints the margin.
inline void expect_close(const std::string& what, const std::vector<double>& gpu,
                         const std::vector<double>& cpu, const Tolerance& tol) {
  REQUIRE(gpu.size() == cpu.size());
  int64_t failures = 0;
  size_t worst = 0;
  double worst_ratio = -1;
  for (size_t i = 0; i < cpu.size(); i++) {
    const double error = std::abs(gpu[i] - cpu[i]);
    const double bound = tol.atol + tol.rtol * std::abs(cpu[i]);
    const bool ok = error <= bound;  // false for NaN
    double ratio = 0;                // error / bound, the margin printed
    if (!ok) {
      failures++;
      ratio = std::numeric_limits<double>::infinity();
    } else if (bound > 0) {
      ratio = error / bound;
    }
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = i;
    }
  }
  std::printf("  [worst/bound %.3g] %s\n", worst_ratio, what.c_str());
  std::ostringstream message;
  message << what << ": " << failures << " of " << cpu.size()
          << " elements outside |gpu - cpu| <= " << tol.atol << " + " << tol.rtol << " |cpu| ("
          << tol.rule << ")";
  if (!cpu.empty())
    message << "; worst at " << worst << ": gpu " << gpu[worst] << ", cpu " << cpu[worst];
  INFO(message.str());
  CHECK(failures == 0);
}

// ||gpu - cpu|| / ||cpu||: the relative error of a whole tensor, robust to one unlucky element.
inline double relative_rms_error(const std::vector<double>& gpu, const std::vector<double>& cpu) {
  REQUIRE(gpu.size() == cpu.size());
  double diff = 0, ref = 0;
  for (size_t i = 0; i < cpu.size(); i++) {
    diff += (gpu[i] - cpu[i]) * (gpu[i] - cpu[i]);
    ref += cpu[i] * cpu[i];
  }
  return std::sqrt(diff / ref);
}

inline std::string shape_label(std::initializer_list<std::pair<const char*, int64_t>> dims) {
  std::ostringstream s;
  s << "(";
  for (auto it = dims.begin(); it != dims.end(); ++it)
    s << (it == dims.begin() ? "" : " ") << it->first << "=" << it->second;
  s << ")";
  return s.str();
}

}  // namespace op_tests
