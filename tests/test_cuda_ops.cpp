// Tests of the CUDA backend (kernels/): every op against its CPU twin, then the whole GPT model,
// ten AdamW steps and a few Muon steps against the CPU model. Labelled "cuda" (tests/cuda.cmake):
// `ctest -L '^cuda$'`.
// The same file also runs on the CPU emulation of CUDA (kernels/emulation/,
// tests/cuda_emulated.cmake), which compiles the same kernels with the host compiler.
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
#include "llm/model/gpt.hpp"
#include "llm/train/muon.hpp"
#include "llm/train/optimizer.hpp"
#include "test_inputs.hpp"

using namespace llm;
using test_inputs::randn;
using test_inputs::random_tokens;
using test_inputs::view;

namespace {

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
REGISTER_LISTENER("test_name", 1, TestNameListener);

// The CUDA backend; or, where this build or machine has none, nullptr after printing the one line
// that makes the skip visible in the test log.
std::unique_ptr<Backend> gpu_or_skip() {
  std::string why;
  if (!cuda_available(&why)) {
    std::printf("SKIPPED (no GPU: %s): %s\n", why.c_str(), TestNameListener::current.c_str());
    return nullptr;
  }
  return make_cuda_backend();
}

// ---- shapes ----

// Whether GLASSBOX_CUDA_TEST_SHAPES asks for the large shapes (see the top of the file).
bool large_shapes() {
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
double round_to(DType dtype, double x) {
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

DeviceTensor upload_tokens(Backend& gpu, const std::vector<int32_t>& tokens, Shape shape) {
  REQUIRE(shape.numel() == static_cast<int64_t>(tokens.size()));
  DeviceTensor t(gpu, DType::i32, shape);
  gpu.copy_from_host(t, tokens.data());
  return t;
}

// The raw bytes of a GPU tensor: "bit-identical" compares these.
std::vector<uint8_t> raw_bytes(Backend& gpu, Tensor t) {
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

double rms(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x * x;
  return std::sqrt(sum / static_cast<double>(std::max<size_t>(1, v.size())));
}

// q, k or v (which = 0, 1, 2) of every row of a (rows, C + 2 KVC) qkv: q's C columns, then k's
// KVC and v's KVC (KVC = C for ordinary multi-head attention, less for grouped-query).
std::vector<double> qkv_part(const std::vector<double>& qkv, int64_t C, int64_t KVC, int which) {
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
Tolerance bf16_result(double scale, double rtol = 1e-2) {
  return {rtol, rtol * scale, "bf16 output (2^-8 each rounding), atol relative to the RMS"};
}

// One bf16 rounding of a sum the CPU computes exactly in f32. The bound is exact, so the printed
// worst/bound reaches ~1 by design (some value lies half a bf16 step from both neighbours).
Tolerance one_rounding() {
  return {std::ldexp(1.0, -8) * (1 + std::ldexp(1.0, -10)), 0.0,
          "a single bf16 rounding of the CPU's value: 2^-8 relative"};
}

// One bf16 rounding of an element-wise f32 formula (gelu and its derivative): the CPU's value
// rounded once, plus room for the two sides' f32 evaluations (tanhf, the order of the terms) to
// differ by ~1e-6 relative: 1e-5 of the value, and of the RMS where the value cancels to near 0.
// Tight on purpose: a wrong constant in the formula moves the result by far less than the 1e-2 of a
// bf16_result and would pass it.
Tolerance rounded_formula(double scale) {
  return {std::ldexp(1.0, -8) + 1e-5, 1e-5 * scale,
          "one bf16 rounding of an f32 formula: 2^-8 + 1e-5 relative"};
}

// Checks |gpu - cpu| <= atol + rtol |cpu| for every element (NaN fails), in one CHECK whose message
// names the bound and the worst element, and prints the margin.
void expect_close(const std::string& what, const std::vector<double>& gpu,
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
double relative_rms_error(const std::vector<double>& gpu, const std::vector<double>& cpu) {
  REQUIRE(gpu.size() == cpu.size());
  double diff = 0, ref = 0;
  for (size_t i = 0; i < cpu.size(); i++) {
    diff += (gpu[i] - cpu[i]) * (gpu[i] - cpu[i]);
    ref += cpu[i] * cpu[i];
  }
  return std::sqrt(diff / ref);
}

std::string shape_label(std::initializer_list<std::pair<const char*, int64_t>> dims) {
  std::ostringstream s;
  s << "(";
  for (auto it = dims.begin(); it != dims.end(); ++it)
    s << (it == dims.begin() ? "" : " ") << it->first << "=" << it->second;
  s << ")";
  return s.str();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda backend: bf16 activations, f32 statistics, log-sum-exp attention state") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  CHECK(gpu->device() == Device::cuda);
  CHECK(gpu->dtype() == DType::bf16);
  CHECK(gpu->master_dtype() == DType::f32);
  CHECK(gpu->attention_state_shape(4, 129, 12) == Shape{4, 12, 129});
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda convert: f32 -> bf16 rounds exactly as float_to_bf16, bf16 -> f32 is exact") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  // Every bf16 pattern as the high half, with low halves that round down, tie (to even, both
  // ways), round up and carry into the exponent: every sign, exponent (subnormals, infinities,
  // NaNs) and rounding case. 3 more values make n odd.
  std::vector<float> src;
  for (uint32_t high = 0; high < 65536; high++)
    for (uint32_t low : {0x0000u, 0x0001u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) {
      const uint32_t bits = (high << 16) | low;
      float f;
      std::memcpy(&f, &bits, 4);
      src.push_back(f);
    }
  for (float f : {1.0f, 3.14159265f, -1e-40f}) src.push_back(f);
  const int64_t n = static_cast<int64_t>(src.size());

  DeviceTensor wide(*gpu, DType::f32, {n}), narrow(*gpu, DType::bf16, {n}),
      back(*gpu, DType::f32, {n});
  gpu->copy_from_host(wide, src.data());
  gpu->convert(narrow, wide);
  std::vector<uint16_t> narrow_bits(n);
  gpu->copy_to_host(narrow_bits.data(), narrow);
  int64_t wrong = 0, first_wrong = -1;
  for (int64_t i = 0; i < n; i++) {
    // A NaN must stay a NaN; its payload is the hardware's business.
    const bool ok = std::isnan(src[i]) ? std::isnan(bf16_to_float(narrow_bits[i]))
                                       : narrow_bits[i] == float_to_bf16(src[i]);
    if (!ok && wrong++ == 0) first_wrong = i;
  }
  INFO("f32 -> bf16: " << wrong << " of " << n << " differ from float_to_bf16 (exact expected)"
                       << "; first at " << first_wrong);
  CHECK(wrong == 0);

  gpu->convert(back, narrow);
  std::vector<float> back_values(n);
  gpu->copy_to_host(back_values.data(), back);
  wrong = 0;
  for (int64_t i = 0; i < n; i++) {
    const float expected = bf16_to_float(narrow_bits[i]);
    const bool ok = std::isnan(expected) ? std::isnan(back_values[i])
                                         : std::memcmp(&back_values[i], &expected, 4) == 0;
    if (!ok && wrong++ == 0) first_wrong = i;
  }
  INFO("bf16 -> f32: " << wrong << " of " << n << " not exact; first at " << first_wrong);
  CHECK(wrong == 0);

  // same dtype: a copy
  DeviceTensor copy(*gpu, DType::f32, {n});
  gpu->convert(copy, wide);
  CHECK(raw_bytes(*gpu, copy) == raw_bytes(*gpu, wide));
}

// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "cuda encoder: forward (pos0 0 and 3) and backward with repeated tokens, with and without "
    "learned positions, vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype();
  // vocab: tokens are drawn from [0, vocab), a few of the Vp rows, so they repeat (vocab 1: every
  // token is the same one, the worst case for a deterministic dwte).
  struct Case {
    int B, T, C, vocab;
  };
  const std::vector<Case> cases = cases_for<Case>(
      {{1, 1, 16, 3}, {2, 7, 48, 5}, {4, 64, 37, 13}, {4, 33, 96, 1}}, {{3, 129, 768, 40}});
  uint32_t seed = 100;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, C = k.C, Vp = 128, maxT = T + 3;
    const std::string label = shape_label({{"B", B}, {"T", T}, {"C", C}, {"vocab", k.vocab}});
    std::vector<int32_t> tokens = random_tokens(B * T, k.vocab, seed++);
    const DeviceTensor tokens_gpu = upload_tokens(*gpu, tokens, {B, T});
    Twin wte(*gpu, bf16, {Vp, C}, randn(Vp * C, seed++)),
        wpe(*gpu, bf16, {maxT, C}, randn(maxT * C, seed++));

    for (int pos0 : {0, 3}) {
      Twin out(*gpu, bf16, {B, T, C});
      cpu->encoder_forward(out.cpu(), view(tokens, {B, T}), wte.cpu(), wpe.cpu(), pos0);
      gpu->encoder_forward(out.gpu(), tokens_gpu, wte.gpu(), wpe.gpu(), pos0);
      expect_close("encoder out pos0=" + std::to_string(pos0) + " " + label, out.gpu_values(),
                   out.cpu_values(), one_rounding());
    }

    Twin dout(*gpu, bf16, {B, T, C}, randn(B * T * C, seed++));
    Twin dwte(*gpu, bf16, {Vp, C}, randn(Vp * C, seed++)),
        dwpe(*gpu, bf16, {maxT, C}, randn(maxT * C, seed++));
    const std::vector<double> dwte0 = dwte.cpu_values(), dwpe0 = dwpe.cpu_values();
    cpu->encoder_backward(dwte.cpu(), dwpe.cpu(), dout.cpu(), view(tokens, {B, T}));
    gpu->encoder_backward(dwte.gpu(), dwpe.gpu(), dout.gpu(), tokens_gpu);
    const std::vector<double> dwte_gpu = dwte.gpu_values(), dwpe_gpu = dwpe.gpu_values();
    expect_close("encoder dwte " + label, dwte_gpu, dwte.cpu_values(),
                 bf16_result(rms(dwte.cpu_values())));
    expect_close("encoder dwpe " + label, dwpe_gpu, dwpe.cpu_values(),
                 bf16_result(rms(dwpe.cpu_values())));
    // Rows no token and no position reached are left exactly as they were.
    const std::set<int32_t> used(tokens.begin(), tokens.end());
    int64_t touched = 0;
    for (int64_t r = 0; r < Vp; r++)
      for (int64_t c = 0; c < C; c++)
        if (!used.count(static_cast<int32_t>(r)) && dwte_gpu[r * C + c] != dwte0[r * C + c])
          touched++;
    for (int64_t r = T; r < maxT; r++)
      for (int64_t c = 0; c < C; c++)
        if (dwpe_gpu[r * C + c] != dwpe0[r * C + c]) touched++;
    INFO("encoder_backward " << label << ": " << touched
                             << " elements of unused dwte/dwpe rows changed");
    CHECK(touched == 0);

    // Without learned positions (rope): wpe and dwpe empty, the token embedding alone, at a pos0
    // past any wpe table.
    Twin out_rope(*gpu, bf16, {B, T, C});
    cpu->encoder_forward(out_rope.cpu(), view(tokens, {B, T}), wte.cpu(), Tensor{}, 5);
    gpu->encoder_forward(out_rope.gpu(), tokens_gpu, wte.gpu(), Tensor{}, 5);
    expect_close("encoder out without wpe " + label, out_rope.gpu_values(), out_rope.cpu_values(),
                 one_rounding());
    Twin dwte_rope(*gpu, bf16, {Vp, C}, randn(Vp * C, seed++));
    cpu->encoder_backward(dwte_rope.cpu(), Tensor{}, dout.cpu(), view(tokens, {B, T}));
    gpu->encoder_backward(dwte_rope.gpu(), Tensor{}, dout.gpu(), tokens_gpu);
    expect_close("encoder dwte without dwpe " + label, dwte_rope.gpu_values(),
                 dwte_rope.cpu_values(), bf16_result(rms(dwte_rope.cpu_values())));
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda layernorm: forward (out, mean, rstd) and backward vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  struct Case {
    int B, T, C;
  };
  // C = 37: not a multiple of any vector width; 1600: GPT-2 XL's width, more than 1024 channels.
  const std::vector<Case> cases = cases_for<Case>(
      {{1, 1, 16}, {2, 7, 48}, {3, 64, 96}, {2, 7, 37}, {1, 5, 1600}}, {{4, 129, 768}});
  uint32_t seed = 200;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, C = k.C, N = B * T;
    const std::string label = shape_label({{"B", B}, {"T", T}, {"C", C}});
    // an offset and a spread, as on the residual stream; gains near 1
    Twin inp(*gpu, bf16, {B, T, C}, randn(N * C, seed++, 2.0, 0.5));
    Twin weight(*gpu, bf16, {C}, randn(C, seed++, 0.2, 1.0)),
        bias(*gpu, bf16, {C}, randn(C, seed++, 0.2));
    Twin out(*gpu, bf16, {B, T, C}), mean(*gpu, f32, {B, T}), rstd(*gpu, f32, {B, T});
    cpu->layernorm_forward(out.cpu(), mean.cpu(), rstd.cpu(), inp.cpu(), weight.cpu(), bias.cpu());
    gpu->layernorm_forward(out.gpu(), mean.gpu(), rstd.gpu(), inp.gpu(), weight.gpu(), bias.gpu());
    expect_close("layernorm out " + label, out.gpu_values(), out.cpu_values(),
                 bf16_result(rms(out.cpu_values())));
    // The statistics are f32 sums of C exact (bf16) inputs in another order: a relative error of at
    // most ~C 2^-24 = 1e-4 at C = 1600 summed one by one, ~1e-6 as summed in practice. The mean is
    // absolute against the inputs' RMS (it may be near 0).
    const Tolerance stat_tol{1e-4, 1e-4 * rms(inp.cpu_values()), "f32 sum of C terms"};
    expect_close("layernorm mean " + label, mean.gpu_values(), mean.cpu_values(), stat_tol);
    expect_close("layernorm rstd " + label, rstd.gpu_values(), rstd.cpu_values(),
                 {1e-4, 0.0, "f32 sum of C terms"});

    // Backward, both sides from the CPU's statistics (so only the backward is measured), into
    // gradients that already hold values of about the size of what is added to them.
    Twin mean_in(*gpu, f32, {B, T}, mean.cpu_values()),
        rstd_in(*gpu, f32, {B, T}, rstd.cpu_values());
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin dinp(*gpu, bf16, {B, T, C}, randn(N * C, seed++, 0.5));
    Twin dweight(*gpu, bf16, {C}, randn(C, seed++, std::sqrt(double(N))));
    Twin dbias(*gpu, bf16, {C}, randn(C, seed++, std::sqrt(double(N))));
    cpu->layernorm_backward(dinp.cpu(), dweight.cpu(), dbias.cpu(), dout.cpu(), inp.cpu(),
                            weight.cpu(), mean_in.cpu(), rstd_in.cpu());
    gpu->layernorm_backward(dinp.gpu(), dweight.gpu(), dbias.gpu(), dout.gpu(), inp.gpu(),
                            weight.gpu(), mean_in.gpu(), rstd_in.gpu());
    expect_close("layernorm dinp " + label, dinp.gpu_values(), dinp.cpu_values(),
                 bf16_result(rms(dinp.cpu_values())));
    expect_close("layernorm dweight " + label, dweight.gpu_values(), dweight.cpu_values(),
                 bf16_result(rms(dweight.cpu_values())));
    expect_close("layernorm dbias " + label, dbias.gpu_values(), dbias.cpu_values(),
                 bf16_result(rms(dbias.cpu_values())));
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda rmsnorm: forward (out, rstd) and backward vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  // std: the spread of the inputs; at 0.003 the mean square (~1e-5) is of the size of eps, so an
  // eps the kernel ignores or fixes at another value moves rstd by 5-50%: each of Llama's
  // eps, 1e-5 and 1e-6, at that size.
  struct Case {
    int B, T, C;
    double std, eps;
  };
  const std::vector<Case> cases = cases_for<Case>({{1, 1, 16, 2.0, 1e-5},
                                                   {2, 7, 48, 1.0, 1e-6},
                                                   {3, 64, 96, 2.0, 1e-5},
                                                   {2, 7, 37, 0.003, 1e-5},
                                                   {3, 5, 24, 0.003, 1e-6},
                                                   {1, 5, 1600, 1.0, 1e-6}},
                                                  {{4, 129, 4096, 1.0, 1e-5}});
  uint32_t seed = 250;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, C = k.C, N = B * T;
    const std::string label = shape_label({{"B", B}, {"T", T}, {"C", C}});
    Twin inp(*gpu, bf16, {B, T, C}, randn(N * C, seed++, k.std, 0.3 * k.std));
    Twin weight(*gpu, bf16, {C}, randn(C, seed++, 0.2, 1.0));
    Twin out(*gpu, bf16, {B, T, C}), rstd(*gpu, f32, {B, T});
    cpu->rmsnorm_forward(out.cpu(), rstd.cpu(), inp.cpu(), weight.cpu(), k.eps);
    gpu->rmsnorm_forward(out.gpu(), rstd.gpu(), inp.gpu(), weight.gpu(), k.eps);
    expect_close("rmsnorm out " + label, out.gpu_values(), out.cpu_values(),
                 bf16_result(rms(out.cpu_values())));
    // rstd: an f32 sum of C exact (bf16) squares in another order, as layernorm's statistics.
    expect_close("rmsnorm rstd " + label, rstd.gpu_values(), rstd.cpu_values(),
                 {1e-4, 0.0, "f32 sum of C terms"});

    // Backward, both sides from the CPU's rstd, into gradients that already hold values.
    Twin rstd_in(*gpu, f32, {B, T}, rstd.cpu_values());
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin dinp(*gpu, bf16, {B, T, C}, randn(N * C, seed++, 0.5 / k.std));
    Twin dweight(*gpu, bf16, {C}, randn(C, seed++, std::sqrt(double(N))));
    cpu->rmsnorm_backward(dinp.cpu(), dweight.cpu(), dout.cpu(), inp.cpu(), weight.cpu(),
                          rstd_in.cpu());
    gpu->rmsnorm_backward(dinp.gpu(), dweight.gpu(), dout.gpu(), inp.gpu(), weight.gpu(),
                          rstd_in.gpu());
    expect_close("rmsnorm dinp " + label, dinp.gpu_values(), dinp.cpu_values(),
                 bf16_result(rms(dinp.cpu_values())));
    expect_close("rmsnorm dweight " + label, dweight.gpu_values(), dweight.cpu_values(),
                 bf16_result(rms(dweight.cpu_values())));
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda swiglu: forward and backward vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype();
  // N rows of H outputs; H = 3 and 37: one element per thread; 24: packs of 8 within a row.
  struct Case {
    int N, H;
  };
  const std::vector<Case> cases =
      cases_for<Case>({{1, 1}, {7, 3}, {14, 24}, {5, 37}}, {{4 * 129, 14336}});
  uint32_t seed = 550;
  for (const Case& k : cases) {
    const int64_t N = k.N, H = k.H;
    const std::string label = shape_label({{"N", N}, {"H", H}});
    // std 2: the gates reach where sigmoid saturates (silu(g) -> 0 or g)
    Twin inp(*gpu, bf16, {N, 2 * H}, randn(N * 2 * H, seed++, 2.0)), out(*gpu, bf16, {N, H});
    cpu->swiglu_forward(out.cpu(), inp.cpu());
    gpu->swiglu_forward(out.gpu(), inp.gpu());
    expect_close("swiglu out " + label, out.gpu_values(), out.cpu_values(),
                 rounded_formula(rms(out.cpu_values())));

    Twin dout(*gpu, bf16, {N, H}, randn(N * H, seed++));
    Twin dinp(*gpu, bf16, {N, 2 * H}, randn(N * 2 * H, seed++));
    cpu->swiglu_backward(dinp.cpu(), inp.cpu(), dout.cpu());
    gpu->swiglu_backward(dinp.gpu(), inp.gpu(), dout.gpu());
    expect_close("swiglu dinp " + label, dinp.gpu_values(), dinp.cpu_values(),
                 rounded_formula(rms(dinp.cpu_values())));
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "cuda rope: forward (also in place) and backward on the q and k heads of qkv, vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype();
  // Rows of a grouped-query qkv: NH q heads and NKV k heads rotated, NKV v heads copied. pos0 1000:
  // angles of hundreds of radians; theta 500000: Llama 3's base; llama3: Llama 3.1's rescaled
  // frequencies (factor 8, low 1, high 4, trained at 8192 positions).
  struct Case {
    int B, T, NH, NKV, hs, pos0;
    RopeFrequencies frequencies;
  };
  const RopeFrequencies llama3{5e5, true, 8.0, 1.0, 4.0, 8192};
  const std::vector<Case> cases = cases_for<Case>({{1, 1, 1, 1, 16, 0, {1e4}},
                                                   {2, 7, 4, 2, 8, 3, {1e4}},
                                                   {3, 33, 4, 1, 16, 0, {5e5}},
                                                   {2, 5, 2, 2, 32, 1000, {1e4}},
                                                   {1, 6, 2, 1, 32, 5000, llama3}},
                                                  {{2, 1024, 32, 8, 128, 0, llama3}});
  uint32_t seed = 580;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, hs = k.hs, W = (k.NH + 2 * k.NKV) * hs;
    const int n_rotated = k.NH + k.NKV;
    const std::string label = shape_label(
        {{"B", B}, {"T", T}, {"W", W}, {"hs", hs}, {"rotated", n_rotated}, {"pos0", k.pos0}});
    const std::vector<double> x = randn(B * T * W, seed++);
    Twin inp(*gpu, bf16, {B, T, W}, x), out(*gpu, bf16, {B, T, W});
    cpu->rope_forward(out.cpu(), inp.cpu(), int(hs), n_rotated, k.pos0, k.frequencies);
    gpu->rope_forward(out.gpu(), inp.gpu(), int(hs), n_rotated, k.pos0, k.frequencies);
    // Both sides: the f32 cos and sin of a double angle, then the same f32 products.
    const Tolerance tol = rounded_formula(rms(out.cpu_values()));
    expect_close("rope out " + label, out.gpu_values(), out.cpu_values(), tol);
    Twin in_place(*gpu, bf16, {B, T, W}, x);
    gpu->rope_forward(in_place.gpu(), in_place.gpu(), int(hs), n_rotated, k.pos0, k.frequencies);
    expect_close("rope out in place " + label, in_place.gpu_values(), out.cpu_values(), tol);

    Twin dout(*gpu, bf16, {B, T, W}, randn(B * T * W, seed++));
    Twin dinp(*gpu, bf16, {B, T, W}, randn(B * T * W, seed++));
    cpu->rope_backward(dinp.cpu(), dout.cpu(), int(hs), n_rotated, k.pos0, k.frequencies);
    gpu->rope_backward(dinp.gpu(), dout.gpu(), int(hs), n_rotated, k.pos0, k.frequencies);
    expect_close("rope dinp " + label, dinp.gpu_values(), dinp.cpu_values(),
                 rounded_formula(rms(dinp.cpu_values())));
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "cuda matmul: forward with and without bias, backward with dinp or dbias left out, vs the "
    "CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype();
  // N = B T rows; 37 x 19 x 23 has no size a multiple of anything; the large ones are GPT-2's qkv,
  // its MLP's fc (768 -> 3072) and proj (3072 -> 768).
  struct Case {
    int B, T, C, OC;
  };
  const std::vector<Case> cases =
      cases_for<Case>({{1, 1, 16, 16}, {1, 37, 19, 23}, {2, 7, 48, 144}, {3, 43, 96, 384}},
                      {{4, 64, 768, 2304}, {1, 64, 768, 3072}, {1, 64, 3072, 768}});
  uint32_t seed = 300;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, C = k.C, OC = k.OC, N = B * T;
    const std::string label = shape_label({{"N", N}, {"C", C}, {"OC", OC}});
    // weights N(0, 1/C), as an initialisation would make them: every output is O(1)
    Twin inp(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin weight(*gpu, bf16, {OC, C}, randn(OC * C, seed++, 1.0 / std::sqrt(double(C))));
    Twin bias(*gpu, bf16, {OC}, randn(OC, seed++, 0.5));

    for (bool with_bias : {true, false}) {
      Twin out(*gpu, bf16, {B, T, OC});
      cpu->matmul_forward(out.cpu(), inp.cpu(), weight.cpu(), with_bias ? bias.cpu() : Tensor{});
      gpu->matmul_forward(out.gpu(), inp.gpu(), weight.gpu(), with_bias ? bias.gpu() : Tensor{});
      expect_close(
          std::string("matmul out ") + (with_bias ? "with bias " : "without bias ") + label,
          out.gpu_values(), out.cpu_values(), bf16_result(rms(out.cpu_values())));
    }

    Twin dout(*gpu, bf16, {B, T, OC}, randn(N * OC, seed++));
    // Gradient buffers start at the size of what is added to them: dinp ~ sqrt(OC / C), dweight
    // and dbias ~ sqrt(N).
    const double dinp_scale = std::sqrt(double(OC) / double(C)),
                 dweight_scale = std::sqrt(double(N));
    enum Variant { kAll, kNoDbias, kNoDinp };
    const char* variant_names[] = {"", " (dbias empty)", " (dinp empty)"};
    for (Variant variant : {kAll, kNoDbias, kNoDinp}) {
      const std::string name = variant_names[variant];
      Twin dinp(*gpu, bf16, {B, T, C}, randn(N * C, seed++, dinp_scale));
      Twin dweight(*gpu, bf16, {OC, C}, randn(OC * C, seed++, dweight_scale));
      Twin dbias(*gpu, bf16, {OC}, randn(OC, seed++, dweight_scale));
      const bool has_dinp = variant != kNoDinp, has_dbias = variant != kNoDbias;
      cpu->matmul_backward(has_dinp ? dinp.cpu() : Tensor{}, dweight.cpu(),
                           has_dbias ? dbias.cpu() : Tensor{}, dout.cpu(), inp.cpu(), weight.cpu());
      gpu->matmul_backward(has_dinp ? dinp.gpu() : Tensor{}, dweight.gpu(),
                           has_dbias ? dbias.gpu() : Tensor{}, dout.gpu(), inp.gpu(), weight.gpu());
      if (has_dinp)
        expect_close("matmul dinp" + name + " " + label, dinp.gpu_values(), dinp.cpu_values(),
                     bf16_result(rms(dinp.cpu_values())));
      expect_close("matmul dweight" + name + " " + label, dweight.gpu_values(),
                   dweight.cpu_values(), bf16_result(rms(dweight.cpu_values())));
      if (has_dbias)
        expect_close("matmul dbias" + name + " " + label, dbias.gpu_values(), dbias.cpu_values(),
                     bf16_result(rms(dbias.cpu_values())));
      // a buffer the op was not given stays as it was
      if (!has_dinp) CHECK(dinp.gpu_values() == dinp.cpu_values());
      if (!has_dbias) CHECK(dbias.gpu_values() == dbias.cpu_values());
    }
  }
}

// ---------------------------------------------------------------------------------------------
namespace {

// lse[b, h, i] = log sum_{j <= i} exp(q_i . k_j / sqrt(hs)), in double, from (B, T, C + 2 NKV hs)
// qkv, k_j of key/value head h / (NH / NKV): the attention state a flash kernel saves, made from
// the same scores the CPU's softmax normalises.
std::vector<double> host_log_sum_exp(const std::vector<double>& qkv, int64_t B, int64_t T,
                                     int64_t NH, int64_t NKV, int64_t C) {
  const int64_t hs = C / NH, QKV = C + 2 * NKV * hs;
  std::vector<double> lse(B * NH * T);
  std::vector<double> scores(T);
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < NH; h++)
      for (int64_t i = 0; i < T; i++) {
        double max = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j <= i; j++) {
          double s = 0;
          for (int64_t c = 0; c < hs; c++)
            s += qkv[(b * T + i) * QKV + h * hs + c] *
                 qkv[(b * T + j) * QKV + C + h / (NH / NKV) * hs + c];
          scores[j] = s / std::sqrt(double(hs));
          max = std::max(max, scores[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j <= i; j++) sum += std::exp(scores[j] - max);
        lse[(b * NH + h) * T + i] = max + std::log(sum);
      }
  return lse;
}

}  // namespace

TEST_CASE(
    "cuda attention: forward (out, log-sum-exps), backward, and cached decoding vs the CPU; "
    "multi-head, grouped-query and multi-query") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  // head sizes 16, 16, 32, 32, 64, 128; T = 1, 7, 33, 64 and 129 (one past a power of two); the
  // large ones GPT-2's: T = 1024 with head sizes 64 (C = 768 and GPT-2 XL's 1600) and 128.
  // NKV < NH: grouped-query (2 key/value heads for 4 query heads, Llama 3's 8 for 32 at large
  // shapes) and multi-query (NKV = 1); NKV = NH is ordinary multi-head attention.
  struct Case {
    int B, T, NH, NKV, C;
  };
  const std::vector<Case> cases = cases_for<Case>({{1, 1, 1, 1, 16},
                                                   {2, 7, 3, 3, 48},
                                                   {3, 64, 3, 3, 96},
                                                   {1, 129, 4, 4, 128},
                                                   {2, 7, 1, 1, 64},
                                                   {1, 33, 1, 1, 128},
                                                   {2, 37, 4, 2, 64},
                                                   {3, 7, 4, 1, 32}},
                                                  {{4, 129, 12, 12, 768},
                                                   {1, 1024, 12, 12, 768},
                                                   {1, 1024, 25, 25, 1600},
                                                   {1, 1024, 6, 6, 768},
                                                   {1, 1024, 32, 8, 2048}});
  uint32_t seed = 400;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, NH = k.NH, NKV = k.NKV, C = k.C, hs = C / NH;
    const int64_t KVC = NKV * hs, QKV = C + 2 * KVC;
    const std::string label =
        shape_label({{"B", B}, {"T", T}, {"NH", NH}, {"NKV", NKV}, {"hs", hs}});
    // q, k ~ N(0, 1) make the scores ~ N(0, 1): softmaxes neither flat nor one-hot
    Twin qkv(*gpu, bf16, {B, T, QKV}, randn(B * T * QKV, seed++));
    const double v_rms = rms(qkv_part(qkv.cpu_values(), C, KVC, 2));

    // forward. The states differ by design: the CPU keeps the probabilities (B, NH, T, T), the GPU
    // the log-sum-exps (B, NH, T).
    Twin out(*gpu, bf16, {B, T, C});
    const Shape probs_shape = cpu->attention_state_shape(B, T, NH),
                state_shape = gpu->attention_state_shape(B, T, NH);
    std::vector<float> probs(probs_shape.numel());
    DeviceTensor lse(*gpu, f32, state_shape);
    cpu->attention_forward(out.cpu(), view(probs, probs_shape), qkv.cpu(), NH);
    gpu->attention_forward(out.gpu(), lse, qkv.gpu(), NH);
    expect_close("attention out " + label, out.gpu_values(), out.cpu_values(), bf16_result(v_rms));
    // lse_i = log sum_j exp(s_ij) of the scaled scores, natural log (attention.cu's convention),
    // f32 from exact inputs: 1e-4 absolute + relative.
    expect_close("attention log-sum-exp " + label, tensor_to_host_f64(*gpu, lse),
                 host_log_sum_exp(qkv.cpu_values(), B, T, NH, NKV, C),
                 {1e-4, 1e-4, "f32 log-sum-exp of hs-term scores"});

    // backward: the GPU from its own forward (out, lse), the CPU from its probabilities, both
    // accumulating into the same random dqkv (dk and dv sum over the query heads of a group).
    Twin dout(*gpu, bf16, {B, T, C}, randn(B * T * C, seed++));
    Twin dqkv(*gpu, bf16, {B, T, QKV}, randn(B * T * QKV, seed++, 0.5));
    std::vector<float> dscores(probs.size());
    DeviceTensor scratch(*gpu, f32, state_shape);
    cpu->attention_backward(dqkv.cpu(), view(dscores, probs_shape), dout.cpu(), qkv.cpu(),
                            out.cpu(), view(probs, probs_shape), NH);
    gpu->attention_backward(dqkv.gpu(), scratch, dout.gpu(), qkv.gpu(), out.gpu(), lse, NH);
    const std::vector<double> dqkv_gpu = dqkv.gpu_values(), dqkv_cpu = dqkv.cpu_values();
    const char* part_names[] = {"dq", "dk", "dv"};
    for (int which = 0; which < 3; which++) {
      const std::vector<double> part_cpu = qkv_part(dqkv_cpu, C, KVC, which);
      expect_close(std::string("attention ") + part_names[which] + " " + label,
                   qkv_part(dqkv_gpu, C, KVC, which), part_cpu, bf16_result(rms(part_cpu), 2e-2));
    }

    // Cached decoding: a prefill of T - 4 positions (at least 1), a chunk of 2, then one at a time,
    // must give the full forward's rows. The caches hold maxT = T + 5 positions, all of them
    // starting as large finite garbage: a kernel that attends past pos0 + Tn - 1 is thrown off, and
    // one that masks those keys after exp() rather than before gets inf * 0 = NaN.
    const int64_t maxT = T + 5;
    const std::vector<double> qkv_values = qkv.cpu_values();
    std::vector<double> garbage(B * NKV * maxT * hs);
    for (size_t i = 0; i < garbage.size(); i++) garbage[i] = 1000.0 + double(i % 97);
    DeviceTensor k_cache(*gpu, bf16, {B, NKV, maxT, hs}), v_cache(*gpu, bf16, {B, NKV, maxT, hs});
    tensor_from_host_f64(*gpu, k_cache, garbage);
    tensor_from_host_f64(*gpu, v_cache, garbage);
    std::vector<std::pair<int64_t, int64_t>> chunks;  // (pos0, Tn)
    const int64_t prefill = std::max<int64_t>(1, T - 4);
    chunks.push_back({0, prefill});
    if (prefill + 2 <= T) chunks.push_back({prefill, 2});
    for (int64_t p = chunks.back().first + chunks.back().second; p < T; p++)
      chunks.push_back({p, 1});
    std::vector<double> decoded(B * T * C, std::numeric_limits<double>::quiet_NaN());
    for (auto [pos0, Tn] : chunks) {
      std::vector<double> chunk(B * Tn * QKV);
      for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < Tn; t++)
          for (int64_t c = 0; c < QKV; c++)
            chunk[(b * Tn + t) * QKV + c] = qkv_values[(b * T + pos0 + t) * QKV + c];
      DeviceTensor chunk_gpu(*gpu, bf16, {B, Tn, QKV}), chunk_out(*gpu, bf16, {B, Tn, C});
      tensor_from_host_f64(*gpu, chunk_gpu, chunk);
      gpu->attention_forward_cached(chunk_out, k_cache, v_cache, chunk_gpu, static_cast<int>(NH),
                                    static_cast<int>(pos0));
      const std::vector<double> y = tensor_to_host_f64(*gpu, chunk_out);
      for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < Tn; t++)
          for (int64_t c = 0; c < C; c++)
            decoded[(b * T + pos0 + t) * C + c] = y[(b * Tn + t) * C + c];
    }
    expect_close("attention cached vs CPU full " + label, decoded, out.cpu_values(),
                 bf16_result(v_rms));
    expect_close("attention cached vs GPU full " + label, decoded, out.gpu_values(),
                 bf16_result(v_rms, 2e-2));
    // the caches hold the keys and values of positions 0 .. T-1 exactly, and the garbage after
    const std::vector<double> kc = tensor_to_host_f64(*gpu, k_cache),
                              vc = tensor_to_host_f64(*gpu, v_cache);
    int64_t cache_errors = 0;
    for (int64_t b = 0; b < B; b++)
      for (int64_t h = 0; h < NKV; h++)
        for (int64_t t = 0; t < maxT; t++)
          for (int64_t c = 0; c < hs; c++) {
            const int64_t i = ((b * NKV + h) * maxT + t) * hs + c;
            const int64_t from = (b * T + t) * QKV + C + h * hs + c;  // key/value head h's k
            const double want_k = t < T ? qkv_values[from] : round_to(bf16, garbage[i]);
            const double want_v = t < T ? qkv_values[from + KVC] : round_to(bf16, garbage[i]);
            cache_errors += (kc[i] != want_k) + (vc[i] != want_v);
          }
    INFO("attention_forward_cached "
         << label << ": " << cache_errors
         << " cache elements differ from the keys/values written (exact expected)");
    CHECK(cache_errors == 0);
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda gelu: forward and backward vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype();
  uint32_t seed = 500;
  for (const Shape shape :
       cases_for<Shape>({Shape{1}, Shape{7}, Shape{2, 7, 192}}, {Shape{786'437}})) {
    const int64_t n = shape.numel();
    const std::string label = "n=" + std::to_string(n);
    // std 2: reaches the tails where tanh saturates and gelu(x) -> 0 or x
    Twin inp(*gpu, bf16, shape, randn(n, seed++, 2.0)), out(*gpu, bf16, shape);
    cpu->gelu_forward(out.cpu(), inp.cpu());
    gpu->gelu_forward(out.gpu(), inp.gpu());
    expect_close("gelu out " + label, out.gpu_values(), out.cpu_values(),
                 rounded_formula(rms(out.cpu_values())));

    Twin dout(*gpu, bf16, shape, randn(n, seed++)), dinp(*gpu, bf16, shape, randn(n, seed++));
    cpu->gelu_backward(dinp.cpu(), inp.cpu(), dout.cpu());
    gpu->gelu_backward(dinp.gpu(), inp.gpu(), dout.gpu());
    expect_close("gelu dinp " + label, dinp.gpu_values(), dinp.cpu_values(),
                 rounded_formula(rms(dinp.cpu_values())));
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "cuda qk_norm: forward (out, rstd) and backward (dinp, dq_weight, dk_weight) vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  const double eps = 1e-6;
  struct Case {
    int64_t B, T, NH, NKV, hs;
  };
  uint32_t seed = 550;
  for (const Case& k :
       cases_for<Case>({{2, 5, 3, 1, 8}, {1, 3, 4, 2, 64}}, {{4, 64, 12, 4, 128}})) {
    const int64_t W = (k.NH + 2 * k.NKV) * k.hs, heads = k.NH + k.NKV, n = k.B * k.T * W;
    const std::string label =
        shape_label({{"B", k.B}, {"T", k.T}, {"NH", k.NH}, {"NKV", k.NKV}, {"hs", k.hs}});
    const Shape shape{k.B, k.T, W}, gain{k.hs};
    // std 1.5 around 0.3: heads of uneven scale, so the normalisation does something
    Twin inp(*gpu, bf16, shape, randn(n, seed++, 1.5, 0.3)), out(*gpu, bf16, shape),
        rstd(*gpu, f32, Shape{k.B, k.T, heads});
    Twin q_weight(*gpu, bf16, gain, randn(k.hs, seed++, 0.5, 1.0)),
        k_weight(*gpu, bf16, gain, randn(k.hs, seed++, 0.5, 1.0));
    cpu->qk_norm_forward(out.cpu(), rstd.cpu(), inp.cpu(), q_weight.cpu(), k_weight.cpu(),
                         int(k.NH), eps);
    gpu->qk_norm_forward(out.gpu(), rstd.gpu(), inp.gpu(), q_weight.gpu(), k_weight.gpu(),
                         int(k.NH), eps);
    expect_close("qk_norm out " + label, out.gpu_values(), out.cpu_values(),
                 bf16_result(rms(out.cpu_values())));
    // rstd: the same f32 formula over hs terms summed in the same order
    expect_close("qk_norm rstd " + label, rstd.gpu_values(), rstd.cpu_values(),
                 {1e-5, 0.0, "f32 sum over hs terms"});

    Twin dout(*gpu, bf16, shape, randn(n, seed++)), dinp(*gpu, bf16, shape, randn(n, seed++));
    Twin dq(*gpu, bf16, gain, randn(k.hs, seed++)), dk(*gpu, bf16, gain, randn(k.hs, seed++));
    cpu->qk_norm_backward(dinp.cpu(), dq.cpu(), dk.cpu(), dout.cpu(), inp.cpu(), q_weight.cpu(),
                          k_weight.cpu(), rstd.cpu(), int(k.NH));
    gpu->qk_norm_backward(dinp.gpu(), dq.gpu(), dk.gpu(), dout.gpu(), inp.gpu(), q_weight.gpu(),
                          k_weight.gpu(), rstd.gpu(), int(k.NH));
    expect_close("qk_norm dinp " + label, dinp.gpu_values(), dinp.cpu_values(),
                 bf16_result(rms(dinp.cpu_values())));
    expect_close("qk_norm dq_weight " + label, dq.gpu_values(), dq.cpu_values(),
                 bf16_result(rms(dq.cpu_values())));
    expect_close("qk_norm dk_weight " + label, dk.gpu_values(), dk.cpu_values(),
                 bf16_result(rms(dk.cpu_values())));
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda residual: forward and backward are one bf16 rounding of the CPU's sums") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype();
  uint32_t seed = 600;
  for (const Shape shape :
       cases_for<Shape>({Shape{1}, Shape{7}, Shape{1001}}, {Shape{4 * 129 * 768 + 3}})) {
    const int64_t n = shape.numel();
    const std::string label = "n=" + std::to_string(n);
    Twin a(*gpu, bf16, shape, randn(n, seed++)), b(*gpu, bf16, shape, randn(n, seed++)),
        out(*gpu, bf16, shape);
    cpu->residual_forward(out.cpu(), a.cpu(), b.cpu());
    gpu->residual_forward(out.gpu(), a.gpu(), b.gpu());
    expect_close("residual out " + label, out.gpu_values(), out.cpu_values(), one_rounding());

    Twin dout(*gpu, bf16, shape, randn(n, seed++));
    Twin da(*gpu, bf16, shape, randn(n, seed++)), db(*gpu, bf16, shape, randn(n, seed++));
    cpu->residual_backward(da.cpu(), db.cpu(), dout.cpu());
    gpu->residual_backward(da.gpu(), db.gpu(), dout.gpu());
    expect_close("residual da " + label, da.gpu_values(), da.cpu_values(), one_rounding());
    expect_close("residual db " + label, db.gpu_values(), db.cpu_values(), one_rounding());
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda classifier: losses, dlogits with dloss != 0, padding columns exactly 0") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  // V is no multiple of anything, Vp is V padded to 128; the last is GPT-2's vocabulary.
  struct Case {
    int B, T, V;
  };
  const Case cases[] = {{1, 1, 3}, {1, 7, 61}, {3, 11, 997}, {1, 4, 50257}};
  uint32_t seed = 700;
  for (const Case& k : cases) {
    const int64_t B = k.B, T = k.T, N = B * T, V = k.V, Vp = pad_vocab(k.V);
    const std::string label = shape_label({{"N", N}, {"V", V}, {"Vp", Vp}});
    // Large values in the padding columns: had they leaked into the softmax, the losses would move.
    std::vector<double> logits = randn(N * Vp, seed++, 2.0);
    for (int64_t n = 0; n < N; n++)
      for (int64_t j = V; j < Vp; j++) logits[n * Vp + j] = 5.0 + double(j - V);
    std::vector<int32_t> targets(N);
    for (int64_t n = 0; n < N; n++) targets[n] = static_cast<int32_t>((7 * n + 3) % V);
    targets.front() = 0;  // both ends of the real columns
    targets.back() = static_cast<int32_t>(V - 1);
    const DeviceTensor targets_gpu = upload_tokens(*gpu, targets, {B, T});

    // Losses: f32 from exact inputs, log(sum of V exps) - (z_y - max): ~V 2^-24 relative at worst
    // for the sum, far less as summed in practice; 1e-4 absolute + relative.
    const Tolerance loss_tol{1e-4, 1e-4, "f32 log-sum-exp over V"};

    // dloss = 0: the forward only, logits untouched
    Twin z(*gpu, bf16, {B, T, Vp}, logits), losses(*gpu, f32, {B, T});
    cpu->classifier_forward(losses.cpu(), z.cpu(), view(targets, {B, T}), static_cast<int>(V), 0.0);
    gpu->classifier_forward(losses.gpu(), z.gpu(), targets_gpu, static_cast<int>(V), 0.0);
    expect_close("classifier losses " + label, losses.gpu_values(), losses.cpu_values(), loss_tol);
    CHECK(z.gpu_values() == z.cpu_values());

    // dloss = 1/N, as the model's mean loss gives: logits become dlogits
    const double dloss = 1.0 / double(N);
    Twin dz(*gpu, bf16, {B, T, Vp}, logits), losses2(*gpu, f32, {B, T});
    cpu->classifier_forward(losses2.cpu(), dz.cpu(), view(targets, {B, T}), static_cast<int>(V),
                            dloss);
    gpu->classifier_forward(losses2.gpu(), dz.gpu(), targets_gpu, static_cast<int>(V), dloss);
    expect_close("classifier losses (dloss != 0) " + label, losses2.gpu_values(),
                 losses2.cpu_values(), loss_tol);
    const std::vector<double> dlogits = dz.gpu_values();
    expect_close("classifier dlogits " + label, dlogits, dz.cpu_values(),
                 bf16_result(rms(dz.cpu_values())));
    int64_t nonzero_padding = 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t j = V; j < Vp; j++) nonzero_padding += dlogits[n * Vp + j] != 0.0;
    INFO("classifier " << label << ": " << nonzero_padding
                       << " padding columns of dlogits are not exactly 0");
    CHECK(nonzero_padding == 0);
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda adamw: three steps update master, m and v as the CPU does; param = bf16(master)") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  uint32_t seed = 800;
  for (const Shape shape : cases_for<Shape>({Shape{1}, Shape{1001}}, {Shape{4 * 768 * 768 + 3}})) {
    const int64_t n = shape.numel();
    const std::string label = "n=" + std::to_string(n);
    // The CPU's parameters are its master weights: the CPU updates `master` (f32) in place, the GPU
    // updates its f32 master and writes param = bf16(master). Moments start at 0, as in training.
    Twin master(*gpu, f32, shape, randn(n, seed++));
    Twin m(*gpu, f32, shape, std::vector<double>(n, 0.0)),
        v(*gpu, f32, shape, std::vector<double>(n, 0.0));
    DeviceTensor param(*gpu, bf16, shape);
    gpu->convert(param, master.gpu());
    AdamWSettings s;
    s.learning_rate = 1e-2;
    s.beta1 = 0.9;
    s.beta2 = 0.95;
    s.eps = 1e-8;
    s.weight_decay = 0.1;
    const double grad_scale = 0.5;  // as global-norm clipping would pass; exact
    for (int64_t step = 1; step <= 3; step++) {
      s.step = step;
      Twin grad(*gpu, bf16, shape, randn(n, seed++));
      cpu->adamw_update(master.cpu(), grad.cpu(), m.cpu(), v.cpu(), Tensor{}, s, grad_scale);
      gpu->adamw_update(param, grad.gpu(), m.gpu(), v.gpu(), master.gpu(), s, grad_scale);
      const std::string at = " step " + std::to_string(step) + " " + label;
      // The same element-wise f32 formula, perhaps with fused multiply-adds or another order: a few
      // f32 roundings (2^-24 each) per step, so 1e-6 relative, absolute against the tensor's RMS.
      const Tolerance f32_tol{1e-6, 1e-6 * rms(master.cpu_values()),
                              "element-wise f32: a few 2^-24 roundings"};
      expect_close("adamw master" + at, master.gpu_values(), master.cpu_values(), f32_tol);
      expect_close("adamw m" + at, m.gpu_values(), m.cpu_values(),
                   {1e-6, 1e-6 * rms(m.cpu_values()), "element-wise f32: a few 2^-24 roundings"});
      expect_close("adamw v" + at, v.gpu_values(), v.cpu_values(),
                   {1e-6, 1e-6 * rms(v.cpu_values()), "element-wise f32: a few 2^-24 roundings"});
      // param is exactly the GPU's master rounded to bf16
      const std::vector<double> master_gpu = master.gpu_values(),
                                param_gpu = tensor_to_host_f64(*gpu, param);
      int64_t wrong = 0;
      for (int64_t i = 0; i < n; i++) wrong += param_gpu[i] != round_to(bf16, master_gpu[i]);
      INFO("adamw" << at << ": " << wrong << " params differ from bf16(master)");
      CHECK(wrong == 0);
    }
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE(
    "cuda scale_add: every bf16/f32 mix of out, a and b, in place and misaligned, vs the CPU") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  const double alpha = 0.9, beta = -1.3;  // neither exact in f32: both sides round them the same
  // Both sides compute alpha a + beta b in f32 from the same inputs, perhaps with a fused
  // multiply-add on one side only: they differ by a few 2^-24 roundings of the larger term, at
  // most 2^-22 (|alpha| |a| + |beta| |b|), bounded with the largest |a| and |b|. A bf16 out adds
  // one rounding, 2^-8 of the value. A wrong coefficient, index or dtype errs by the values.
  const auto tolerance = [&](DType out, const std::vector<double>& a,
                             const std::vector<double>& b) {
    double a_max = 0, b_max = 0;
    for (double x : a) a_max = std::max(a_max, std::abs(x));
    for (double x : b) b_max = std::max(b_max, std::abs(x));
    const double f32_terms =
        std::ldexp(1.0, -22) * (std::abs(alpha) * a_max + std::abs(beta) * b_max);
    return out == bf16 ? Tolerance{std::ldexp(1.0, -8), f32_terms * (1 + std::ldexp(1.0, -8)),
                                   "f32 terms (2^-22 of the largest) and one bf16 rounding"}
                       : Tolerance{0.0, f32_terms, "f32 terms: 2^-22 of the largest"};
  };
  uint32_t seed = 850;
  for (const DType out_dtype : {bf16, f32})
    for (const DType a_dtype : {bf16, f32})
      for (const DType b_dtype : {bf16, f32}) {
        const std::string types = std::string("out ") + dtype_name(out_dtype) + ", a " +
                                  dtype_name(a_dtype) + ", b " + dtype_name(b_dtype);
        // n = 7 is one thread's tail, 1001 packs of 8 and a tail; offset 1 starts every view one
        // element into its buffer, off the 16-byte alignment: the one-element kernel.
        struct Case {
          int64_t n;
          int offset;
        };
        for (const Case k :
             cases_for<Case>({{1, 0}, {7, 0}, {1001, 0}, {1001, 1}}, {{4 * 768 * 768 + 3, 0}})) {
          const int64_t n = k.n, size = k.n + k.offset;
          const std::string label =
              types + ", n=" + std::to_string(n) + (k.offset ? " misaligned" : "");
          const auto part = [&](Tensor t) { return flat_range(t, k.offset, size); };
          // out starts random, not NaN: with an offset its first element is not written, and
          // stays the same on both sides.
          Twin a(*gpu, a_dtype, {size}, randn(size, seed++)),
              b(*gpu, b_dtype, {size}, randn(size, seed++)),
              out(*gpu, out_dtype, {size}, randn(size, seed++));
          cpu->scale_add(part(out.cpu()), alpha, part(a.cpu()), beta, part(b.cpu()));
          gpu->scale_add(part(out.gpu()), alpha, part(a.gpu()), beta, part(b.gpu()));
          expect_close("scale_add " + label, out.gpu_values(), out.cpu_values(),
                       tolerance(out_dtype, a.cpu_values(), b.cpu_values()));
          // In place, out = a (in a's dtype), as Muon updates its momentum and masters.
          if (out_dtype == a_dtype) {
            const std::vector<double> before = a.cpu_values();
            cpu->scale_add(part(a.cpu()), alpha, part(a.cpu()), beta, part(b.cpu()));
            gpu->scale_add(part(a.gpu()), alpha, part(a.gpu()), beta, part(b.gpu()));
            expect_close("scale_add in place " + label, a.gpu_values(), a.cpu_values(),
                         tolerance(a_dtype, before, b.cpu_values()));
          }
        }
      }

  // The check: one number of elements; in place only in one dtype.
  Twin a(*gpu, bf16, {8}, randn(8, seed++)), b(*gpu, f32, {8}, randn(8, seed++));
  CHECK(test_inputs::error_of([&] {
          gpu->scale_add(b.gpu(), 1.0, flat_range(a.gpu(), 0, 7), 1.0, b.gpu());
        }).find("scale_add: out has shape") != std::string::npos);
  Tensor a_as_f32 = a.gpu();  // a's bytes read as 4 f32
  a_as_f32.dtype = f32;
  a_as_f32.shape = Shape{4};
  CHECK(test_inputs::error_of([&] {
          gpu->scale_add(a_as_f32, 1.0, flat_range(a.gpu(), 0, 4), 1.0, flat_range(b.gpu(), 0, 4));
        }).find("in another dtype") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda sum_of_squares: bf16 and f32 tensors against a host sum in double") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  uint32_t seed = 900;
  for (DType dtype : {gpu->dtype(), gpu->master_dtype()}) {
    for (int64_t n : cases_for<int64_t>({1, 7, 1001}, {3'000'001})) {
      std::vector<double> x = randn(n, seed++);
      for (double& value : x) value = round_to(dtype, value);
      DeviceTensor t(*gpu, dtype, {n});
      tensor_from_host_f64(*gpu, t, x);
      double expected = 0;
      for (double value : x) expected += value * value;
      // The contract accumulates in double. A GPU may use f32 for each thread's and each block's
      // partial sums: relative error ~(elements per thread + log2 block) 2^-24, about 1e-6 here;
      // 1e-5 allows that, while a single f32 running sum (~1e-3 off at 3 million) does not pass.
      const double result = gpu->sum_of_squares(t);
      INFO("sum_of_squares " << std::string(dtype_name(dtype)) << " n=" << n << ": gpu " << result
                             << ", host double " << expected << " (relative 1e-5 allowed)");
      CHECK(std::abs(result - expected) <= 1e-5 * expected);
    }
    // 3 million equal values: every partial sum in a long f32 chain would lose the low bits
    const int64_t n = 3'000'000;
    const double value = round_to(dtype, 0.3);
    DeviceTensor t(*gpu, dtype, {n});
    tensor_from_host_f64(*gpu, t, std::vector<double>(n, value));
    const double expected = double(n) * value * value, result = gpu->sum_of_squares(t);
    INFO("sum_of_squares " << std::string(dtype_name(dtype)) << " of 3e6 x " << value << ": gpu "
                           << result << ", exact " << expected);
    CHECK(std::abs(result - expected) <= 1e-5 * expected);
  }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("cuda determinism: the reducing backwards and sum_of_squares give the same bits twice") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  const DType bf16 = gpu->dtype(), f32 = gpu->master_dtype();
  // Large: GPT-2 small's sizes, so every reduction spans many blocks; small: still several blocks
  // per reduction (N > 256 rows: two dbias chunks).
  const bool large = large_shapes();
  const int64_t B = large ? 4 : 3, T = large ? 129 : 97, C = large ? 768 : 96, NH = large ? 12 : 3;
  const int64_t N = B * T, OC = 3 * C, Vp = 128;
  uint32_t seed = 1000;
  // Runs `op` twice from the same starting `buffers` and checks that each ends with the same bytes.
  auto run_twice = [&](const char* what, std::vector<Twin*> buffers,
                       const std::function<void()>& op) {
    std::vector<std::vector<double>> start;
    for (Twin* t : buffers) start.push_back(t->cpu_values());
    std::vector<std::vector<uint8_t>> first;
    op();
    for (Twin* t : buffers) first.push_back(raw_bytes(*gpu, t->gpu()));
    for (size_t i = 0; i < buffers.size(); i++) buffers[i]->set(start[i]);
    op();
    for (size_t i = 0; i < buffers.size(); i++) {
      INFO(std::string(what) << ": output " << i << " differs between two runs on the same inputs");
      CHECK(raw_bytes(*gpu, buffers[i]->gpu()) == first[i]);
    }
  };

  {  // attention
    Twin qkv(*gpu, bf16, {B, T, 3 * C}, randn(N * 3 * C, seed++)), out(*gpu, bf16, {B, T, C});
    DeviceTensor lse(*gpu, f32, gpu->attention_state_shape(B, T, NH)),
        scratch(*gpu, f32, gpu->attention_state_shape(B, T, NH));
    gpu->attention_forward(out.gpu(), lse, qkv.gpu(), NH);
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        dqkv(*gpu, bf16, {B, T, 3 * C}, randn(N * 3 * C, seed++));
    run_twice("attention_backward", {&dqkv}, [&] {
      gpu->attention_backward(dqkv.gpu(), scratch, dout.gpu(), qkv.gpu(), out.gpu(), lse, NH);
    });
  }
  {  // layernorm
    Twin inp(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        weight(*gpu, bf16, {C}, randn(C, seed++, 0.2, 1.0));
    Twin bias(*gpu, bf16, {C}, randn(C, seed++)), out(*gpu, bf16, {B, T, C});
    Twin mean(*gpu, f32, {B, T}), rstd(*gpu, f32, {B, T});
    gpu->layernorm_forward(out.gpu(), mean.gpu(), rstd.gpu(), inp.gpu(), weight.gpu(), bias.gpu());
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        dinp(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin dweight(*gpu, bf16, {C}, randn(C, seed++)), dbias(*gpu, bf16, {C}, randn(C, seed++));
    run_twice("layernorm_backward", {&dinp, &dweight, &dbias}, [&] {
      gpu->layernorm_backward(dinp.gpu(), dweight.gpu(), dbias.gpu(), dout.gpu(), inp.gpu(),
                              weight.gpu(), mean.gpu(), rstd.gpu());
    });
  }
  {  // multi-query attention: dk and dv summed over all NH query heads
    const int64_t QKV = C + 2 * (C / NH);
    Twin qkv(*gpu, bf16, {B, T, QKV}, randn(N * QKV, seed++)), out(*gpu, bf16, {B, T, C});
    DeviceTensor lse(*gpu, f32, gpu->attention_state_shape(B, T, NH)),
        scratch(*gpu, f32, gpu->attention_state_shape(B, T, NH));
    gpu->attention_forward(out.gpu(), lse, qkv.gpu(), NH);
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        dqkv(*gpu, bf16, {B, T, QKV}, randn(N * QKV, seed++));
    run_twice("attention_backward (multi-query)", {&dqkv}, [&] {
      gpu->attention_backward(dqkv.gpu(), scratch, dout.gpu(), qkv.gpu(), out.gpu(), lse, NH);
    });
  }
  {  // rmsnorm
    Twin inp(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        weight(*gpu, bf16, {C}, randn(C, seed++, 0.2, 1.0));
    Twin out(*gpu, bf16, {B, T, C}), rstd(*gpu, f32, {B, T});
    gpu->rmsnorm_forward(out.gpu(), rstd.gpu(), inp.gpu(), weight.gpu(), 1e-5);
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        dinp(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin dweight(*gpu, bf16, {C}, randn(C, seed++));
    run_twice("rmsnorm_backward", {&dinp, &dweight}, [&] {
      gpu->rmsnorm_backward(dinp.gpu(), dweight.gpu(), dout.gpu(), inp.gpu(), weight.gpu(),
                            rstd.gpu());
    });
  }
  {  // matmul, GPT-2's qkv projection
    Twin inp(*gpu, bf16, {B, T, C}, randn(N * C, seed++)),
        weight(*gpu, bf16, {OC, C}, randn(OC * C, seed++, 0.036));
    Twin dout(*gpu, bf16, {B, T, OC}, randn(N * OC, seed++)),
        dinp(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin dweight(*gpu, bf16, {OC, C}, randn(OC * C, seed++)),
        dbias(*gpu, bf16, {OC}, randn(OC, seed++));
    run_twice("matmul_backward", {&dinp, &dweight, &dbias}, [&] {
      gpu->matmul_backward(dinp.gpu(), dweight.gpu(), dbias.gpu(), dout.gpu(), inp.gpu(),
                           weight.gpu());
    });
  }
  {  // encoder: 7 tokens over 516 positions, so each row of dwte sums ~70 rows of dout
    const std::vector<int32_t> tokens = random_tokens(N, 7, seed++);
    const DeviceTensor tokens_gpu = upload_tokens(*gpu, tokens, {B, T});
    Twin dout(*gpu, bf16, {B, T, C}, randn(N * C, seed++));
    Twin dwte(*gpu, bf16, {Vp, C}, randn(Vp * C, seed++)),
        dwpe(*gpu, bf16, {T, C}, randn(T * C, seed++));
    run_twice("encoder_backward", {&dwte, &dwpe},
              [&] { gpu->encoder_backward(dwte.gpu(), dwpe.gpu(), dout.gpu(), tokens_gpu); });
  }
  {  // sum_of_squares
    Twin x(*gpu, bf16, {3'000'001}, randn(3'000'001, seed++));
    const double first = gpu->sum_of_squares(x.gpu()), second = gpu->sum_of_squares(x.gpu());
    CHECK(std::memcmp(&first, &second, sizeof(double)) == 0);
  }
}

// ---------------------------------------------------------------------------------------------
// The whole model. Here the errors of every bf16 rounding in two layers (about 15 roundings of
// activations forward and 30 of gradients backward, each up to 2^-8 relative) add up like a random
// walk, so the bounds are norm-wise, ||gpu - cpu|| / ||cpu|| per tensor, and were set from a
// measurement: the CPU f32 model against a CPU backend that rounds every output the GPU keeps in
// bf16 to bf16 (the GPU's rounding pattern without its kernels; a scratch program, not in the
// repo), over 14 weight seeds. The bounds are 3.5-10x the worst measured; a wrong op, index or
// dtype gives errors of order 1.
namespace {

// V = 61 padded to 128; hs = 16; every dimension distinct.
GPTConfig tiny_gpt() {
  GPTConfig c;
  c.vocab_size = 61;
  c.max_seq_len = 32;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 32;
  return c;
}

// The same with every Llama-style switch on: RMSNorm, RoPE, SwiGLU (hidden 48), grouped-query
// attention (2 key/value heads for 4 query heads, hs = 8), an untied lm_head, no biases.
GPTConfig tiny_llama() {
  GPTConfig c = tiny_gpt();
  c.n_head = 4;
  c.n_kv_head = 2;
  c.norm = "rmsnorm";
  c.norm_eps = 1e-5;
  c.position = "rope";
  c.mlp = "swiglu";
  c.mlp_hidden = 48;
  c.tie_embeddings = false;
  c.bias = false;
  return c;
}

// The models the whole-model tests run, with a name for their messages.
std::vector<std::pair<std::string, GPTConfig>> tiny_models() {
  return {{"GPT-2", tiny_gpt()}, {"Llama-style", tiny_llama()}};
}

// How load_same_weights draws the matrices and embeddings. Either way the layernorm gains are
// 1 + N(0, 0.1^2) and the biases N(0, 0.1^2), off the special values 1 and 0.
enum class WeightScale {
  // matrices N(0, 1/fan_in), embeddings N(0, 0.3^2): every activation is O(1) and the logits spread
  // ~2, so every op matters to the loss (GPT-2's initialisation leaves the logits near 0 and the
  // loss near ln V whatever the layers compute)
  order_one,
  // GPT-2's N(0, 0.02^2): a network near its ln V starting loss, which training lowers smoothly
  gpt2,
};

// The same weights in two models, rounded to bf16 once (wte's padding rows stay 0).
void load_same_weights(GPT& a, GPT& b, WeightScale scale, uint32_t seed) {
  const GPTConfig& config = a.config();
  std::map<std::string, std::vector<double>> weights;
  a.params.visit([&](const char* name_c, Tensor&, Shape shape) {
    const std::string name = name_c;
    const size_t n = static_cast<size_t>(shape.numel());
    const bool gpt2 = scale == WeightScale::gpt2;
    std::vector<double> w;
    if (name == "ln1w" || name == "ln2w" || name == "lnfw")
      w = randn(n, seed++, 0.1, 1.0);
    else if (is_bias(name_c))
      w = randn(n, seed++, 0.1);
    else if (name == "wte" || name == "wpe")
      w = randn(n, seed++, gpt2 ? 0.02 : 0.3);
    else
      w = randn(n, seed++,
                gpt2 ? 0.02 : 1.0 / std::sqrt(double(shape[shape.rank - 1])));  // (L, out, in)
    if (name == "wte" || name == "lm_head")
      std::fill(w.begin() + int64_t(config.vocab_size) * config.n_embd, w.end(), 0.0);
    for (double& x : w) x = round_to(DType::bf16, x);
    weights[name] = w;
  });
  for (GPT* model : {&a, &b})
    model->params.visit([&](const char* name, Tensor& t, Shape) {
      tensor_from_host_f64(model->backend(), t, weights.at(name));
    });
}

std::vector<std::pair<std::string, Tensor>> named_tensors(ParameterTensors& tensors) {
  std::vector<std::pair<std::string, Tensor>> out;
  tensors.visit([&](const char* name, Tensor& t, Shape) { out.push_back({name, t}); });
  return out;
}

void expect_relative_rms(const std::string& what, const std::vector<double>& gpu,
                         const std::vector<double>& cpu, double bound) {
  const double error = relative_rms_error(gpu, cpu);
  std::printf("  [worst/bound %.3g] %s: ||gpu - cpu|| / ||cpu|| = %.3g\n", error / bound,
              what.c_str(), error);
  INFO(what << ": ||gpu - cpu|| / ||cpu|| = " << error << ", allowed " << bound);
  CHECK(error <= bound);
}

}  // namespace

TEST_CASE(
    "cuda GPT: loss, logits and every parameter gradient match the CPU model (GPT-2 and "
    "Llama-style)") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  for (const auto& [model_name, config] : tiny_models()) {
    INFO("model: " << model_name);
    std::printf("  model: %s\n", model_name.c_str());
    GPT cpu_model(config, *cpu), gpu_model(config, *gpu);
    load_same_weights(cpu_model, gpu_model, WeightScale::order_one, 1);
    const int B = 3, T = 29;  // T below max_seq_len and no multiple of a tile
    const std::vector<int32_t> tokens = random_tokens(B * T, config.vocab_size, 2),
                               targets = random_tokens(B * T, config.vocab_size, 3);
    // Measured worst (see above): loss 3.5e-4 relative, logits 7.3e-3, gradients 1.13e-2 (qkvw,
    // ln1w, wpe, ln2b; the others 3e-3 .. 1e-2). Bounds: 2e-3, 2.5e-2, 4e-2. The Llama-style
    // model, one weight seed on the CUDA emulation: logits 8.0e-3, gradients up to 1.9e-2 (ln1w;
    // wte, ln2w, qkvw 1.6e-2): inside the same bounds with a margin of 2.
    const double loss_bound = 2e-3, logits_bound = 2.5e-2, gradient_bound = 4e-2;

    const double cpu_loss = cpu_model.forward(tokens.data(), targets.data(), B, T);
    const double gpu_loss = gpu_model.forward(tokens.data(), targets.data(), B, T);
    INFO("forward loss: gpu " << gpu_loss << ", cpu " << cpu_loss << " (relative " << loss_bound
                              << " allowed)");
    CHECK(std::abs(gpu_loss - cpu_loss) <= loss_bound * cpu_loss);
    CHECK(gpu_model.forward(tokens.data(), targets.data(), B, T) == gpu_loss);  // deterministic
    expect_relative_rms("GPT logits", tensor_to_host_f64(*gpu, gpu_model.acts.logits),
                        tensor_to_host_f64(*cpu, cpu_model.acts.logits), logits_bound);

    cpu_model.zero_grad();
    gpu_model.zero_grad();
    const double cpu_loss2 = cpu_model.forward_backward(tokens.data(), targets.data(), B, T);
    const double gpu_loss2 = gpu_model.forward_backward(tokens.data(), targets.data(), B, T);
    INFO("forward_backward loss: gpu " << gpu_loss2 << ", cpu " << cpu_loss2);
    CHECK(std::abs(gpu_loss2 - cpu_loss2) <= loss_bound * cpu_loss2);
    const auto cpu_grads = named_tensors(cpu_model.grads),
               gpu_grads = named_tensors(gpu_model.grads);
    for (size_t i = 0; i < cpu_grads.size(); i++)
      expect_relative_rms("GPT gradient " + cpu_grads[i].first,
                          tensor_to_host_f64(*gpu, gpu_grads[i].second),
                          tensor_to_host_f64(*cpu, cpu_grads[i].second), gradient_bound);
  }
}

TEST_CASE(
    "cuda GPT: AdamW steps (10; 2 at small shapes) give the CPU run's losses (GPT-2; "
    "Llama-style at large shapes)") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  // At small shapes (CI, under the emulation) only GPT-2: the Llama-style model's kernels are
  // covered by the gradient test above, and a second model here doubles the label's time.
  auto models = tiny_models();
  if (!large_shapes()) models.resize(1);
  for (const auto& [model_name, config] : models) {
    INFO("model: " << model_name);
    std::printf("  model: %s\n", model_name.c_str());
    GPT cpu_model(config, *cpu), gpu_model(config, *gpu);
    // GPT-2-scale weights: with O(1) weights the two runs drift apart ~10x faster (~5e-3 after 10
    // steps, measured) and the test would measure the chaos of training rather than the GPU.
    load_same_weights(cpu_model, gpu_model, WeightScale::gpt2, 11);
    // After the weights: on the GPU AdamW initialises its f32 master weights from the bf16 params.
    const AdamWConfig adam;  // beta1 0.9, beta2 0.99, weight decay 0.1 on the matrices
    AdamW cpu_opt(cpu_model, adam), gpu_opt(gpu_model, adam);
    // One batch, seen every step: the loss falls ~12% in 10 steps, so the run is a real
    // optimisation (and falls already at the second of the 2 steps at small shapes).
    const int B = 4, T = 32;
    const int steps = large_shapes() ? 10 : 2;
    const double final_loss_ratio = steps == 10 ? 0.95 : 1.0;
    const std::vector<int32_t> tokens = random_tokens(B * T, config.vocab_size, 12),
                               targets = random_tokens(B * T, config.vocab_size, 13);
    // Measured worst over 8 weight seeds: losses 5e-4 relative over the 10 steps; the gradient norm
    // 7e-4 at step 0. Bounds 5e-3 for both. The norm is checked at step 0 only: later, Adam's
    // sign-like steps turn tiny gradient differences of the parameters with small gradients into
    // whole-lr differences, and the norms drift apart by up to 2.5e-2 while the losses agree.
    const double loss_bound = 5e-3, norm_bound = 5e-3;
    auto train_step = [&](GPT& model, AdamW& optimizer) {
      model.zero_grad();
      const double loss = model.forward_backward(tokens.data(), targets.data(), B, T);
      const double norm = global_grad_norm(model);
      optimizer.step(3e-3f, 1.0f);
      return std::pair{loss, norm};
    };
    std::vector<double> cpu_losses, gpu_losses;
    for (int step = 0; step < steps; step++) {
      const auto [cpu_loss, cpu_norm] = train_step(cpu_model, cpu_opt);
      const auto [gpu_loss, gpu_norm] = train_step(gpu_model, gpu_opt);
      cpu_losses.push_back(cpu_loss);
      gpu_losses.push_back(gpu_loss);
      std::printf("  step %d: loss gpu %.6f cpu %.6f, grad norm gpu %.6f cpu %.6f\n", step,
                  gpu_loss, cpu_loss, gpu_norm, cpu_norm);
      INFO("step " << step << ": loss gpu " << gpu_loss << ", cpu " << cpu_loss << " (relative "
                   << loss_bound << " allowed); grad norm gpu " << gpu_norm << ", cpu "
                   << cpu_norm);
      CHECK(std::abs(gpu_loss - cpu_loss) <= loss_bound * cpu_loss);
      if (step == 0) CHECK(std::abs(gpu_norm - cpu_norm) <= norm_bound * cpu_norm);
    }
    CHECK(cpu_losses.back() < final_loss_ratio * cpu_losses.front());
    CHECK(gpu_losses.back() < final_loss_ratio * gpu_losses.front());
  }
}

TEST_CASE("cuda GPT: Muon steps (f32 momentum and masters, bf16 Newton-Schulz) follow the CPU's") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(DType::f32);
  // One layer: its four hidden matrices have the four shapes (tall, square, tall, wide), and the
  // emulation's time goes per launch, which a second layer would double.
  GPTConfig config = tiny_gpt();
  config.n_layer = 1;
  GPT cpu_model(config, *cpu), gpu_model(config, *gpu);
  load_same_weights(cpu_model, gpu_model, WeightScale::gpt2, 21);
  // After the weights: on the GPU Muon initialises its f32 masters from the bf16 params.
  Muon cpu_muon(cpu_model, MuonConfig{}), gpu_muon(gpu_model, MuonConfig{});
  REQUIRE(gpu_muon.has_master());
  std::map<std::string, Tensor> cpu_momentum, gpu_momentum, gpu_master;
  cpu_muon.visit_momentum([&](const char* name, Tensor t) { cpu_momentum[name] = t; });
  gpu_muon.visit_momentum([&](const char* name, Tensor t) { gpu_momentum[name] = t; });
  gpu_muon.visit_master([&](const char* name, Tensor t) { gpu_master[name] = t; });
  REQUIRE(gpu_master.size() == 4);
  // The hidden matrices as they were before the last step: CPU weights and GPU masters.
  std::map<std::string, std::vector<double>> cpu_before, gpu_before;

  // Each step's gradients come from the CPU model (the GPU's forward and backward are the GPT
  // test's subject), rounded to bf16 and handed to both sides, so the two optimizers see the same
  // numbers and a difference measures Muon's precision alone: the f32 momentum, the bf16 U and
  // Newton-Schulz iteration, the f32 masters. A new batch every step, so that successive
  // gradients differ and the Nesterov look-ahead changes the update's direction, not only its size
  // (which Newton-Schulz normalises away).
  const int B = 2, T = 16, steps = 2;
  const float lr = 0.02f, grad_scale = 0.5f;  // as clipping would scale: exact in both dtypes
  double first_loss = 0;                      // the first batch's, before any step
  for (int step = 0; step < steps; step++) {
    const std::vector<int32_t> tokens = random_tokens(B * T, config.vocab_size, 40 + 2 * step),
                               targets = random_tokens(B * T, config.vocab_size, 41 + 2 * step);
    cpu_model.zero_grad();
    const double loss = cpu_model.forward_backward(tokens.data(), targets.data(), B, T);
    if (step == 0) first_loss = loss;
    for (const auto& [name, g] : named_tensors(cpu_model.grads)) {
      std::vector<double> rounded = tensor_to_host_f64(*cpu, g);
      for (double& x : rounded) x = round_to(DType::bf16, x);
      tensor_from_host_f64(*cpu, g, rounded);
      gpu_model.grads.visit([&](const char* n, Tensor& t, Shape) {
        if (name == n) tensor_from_host_f64(*gpu, t, rounded);
      });
    }
    if (step == steps - 1) {
      for (const auto& [name, t] : named_tensors(cpu_model.params)) {
        if (!is_muon_matrix(name.c_str())) continue;
        cpu_before[name] = tensor_to_host_f64(*cpu, t);
        gpu_before[name] = tensor_to_host_f64(*gpu, gpu_master.at(name));
      }
    }
    cpu_muon.step(lr, grad_scale);
    gpu_muon.step(lr, grad_scale);
  }

  // Measured on the emulation: the momentum is bit-equal (f32 from the same bf16 gradients, the
  // same formula); the last step's update differs by 5.9e-2 .. 1.0e-1 (relative RMS), the bf16
  // rounding of U and of the 15 products and sums of the 5 Newton-Schulz iterations (PyTorch's
  // bf16 iteration, measured the same way, is 4-8% off its f64 one on matrices of these shapes).
  // Bounds: 1e-5 and 2e-1. Planted bugs: a missed master update errs by 1 (the masters stay), the
  // Nesterov term left out (U = buf) by 0.39 .. 0.45.
  const double momentum_bound = 1e-5, update_bound = 2e-1;
  for (const auto& [name, t] : named_tensors(cpu_model.params)) {
    if (!is_muon_matrix(name.c_str())) continue;
    expect_relative_rms("Muon momentum " + name, tensor_to_host_f64(*gpu, gpu_momentum.at(name)),
                        tensor_to_host_f64(*cpu, cpu_momentum.at(name)), momentum_bound);
    // The last step's update (the weights' size would hide it), whose U has a momentum term.
    std::vector<double> cpu_update = tensor_to_host_f64(*cpu, t),
                        master = tensor_to_host_f64(*gpu, gpu_master.at(name));
    std::vector<double> gpu_update = master;
    for (size_t i = 0; i < master.size(); i++) {
      cpu_update[i] -= cpu_before.at(name)[i];
      gpu_update[i] -= gpu_before.at(name)[i];
    }
    expect_relative_rms("Muon update " + name, gpu_update, cpu_update, update_bound);
    // The bf16 weights are exactly the masters' rounding.
    Tensor param;
    gpu_model.params.visit([&](const char* n, Tensor& p, Shape) {
      if (name == n) param = p;
    });
    const std::vector<double> weights = tensor_to_host_f64(*gpu, param);
    int64_t wrong = 0;
    for (size_t i = 0; i < master.size(); i++)
      wrong += weights[i] != round_to(DType::bf16, master[i]);
    INFO("Muon " << name << ": " << wrong << " weights differ from bf16(master)");
    CHECK(wrong == 0);
  }

  // The models with their new weights: the same loss on the first batch, lower than before the
  // steps. Measured: 3e-6 relative; bound 2e-3, the GPT test's for a forward pass.
  const std::vector<int32_t> tokens = random_tokens(B * T, config.vocab_size, 40),
                             targets = random_tokens(B * T, config.vocab_size, 41);
  const double cpu_loss = cpu_model.forward(tokens.data(), targets.data(), B, T);
  const double gpu_loss = gpu_model.forward(tokens.data(), targets.data(), B, T);
  std::printf("  the first batch's loss: %.6f before, after %d Muon steps gpu %.6f cpu %.6f\n",
              first_loss, steps, gpu_loss, cpu_loss);
  CHECK(std::abs(gpu_loss - cpu_loss) <= 2e-3 * cpu_loss);
  CHECK(gpu_loss < first_loss);
  CHECK(cpu_loss < first_loss);
}
