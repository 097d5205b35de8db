#pragma once
// defines: bf16_emulation::Bf16EmulationBackend, a host Backend with the CUDA backend's dtypes.
//
// Why it exists. The CUDA backend keeps weights, activations and their gradients in bf16, and the
// statistics (layernorm means and rstds, the attention state), the losses, AdamW's moments and its
// master weights in f32 (kernels/cuda_backend.hpp). So the code around the ops has a second path
// that runs only when dtype() != master_dtype(): activations carved with a dtype per tensor
// (activation_dtype in llm/model/gpt.cpp, the second Arena::carve), AdamW's f32 master copy
// (llm/train/optimizer.cpp), training checkpoints that save and restore those masters
// (llm/train/train_checkpoint.cpp), bf16 host copies (llm/backend/host_copy.cpp), the decoder's
// buffers and estimate_memory. The CPU backend is f32 through and through and never takes that
// path, and CI has no GPU. This backend has the GPU's dtype rules and runs on the host, so
// tests/test_mixed_precision.cpp can test that path everywhere.
//
// How. Every op widens its bf16 inputs to f32 scratch copies (exact: bf16 is the top half of an
// f32), runs the CPU f32 backend's op on them, and rounds what the op wrote back to nearest-even
// bf16, as a GPU kernel's store does. Tensors that are f32 already (statistics, losses, moments,
// masters) and the i32 token ids are handed to the CPU op as they are. A backward reads its
// gradient outputs, adds in f32 and rounds the sums: accumulation in bf16, as on the GPU.
// Every op arrives through one template, forward_op (llm/backend/forwarding_backend.hpp, generated
// from the Backend at build time), so a new op needs no edit here. AdamW is the one op written out:
// it REQUIRES a master copy, as the GPU does; it updates the f32 master and writes param =
// bf16(master).
//
// So its arithmetic is the CPU's, with the GPU's roundings at every op boundary. It is a model of
// the dtypes the tensors have between ops, not of the CUDA kernels themselves (they round inside,
// e.g. in tensor-core products, and save log-sum-exps (B, NH, T) as the attention state where this
// saves the CPU's probabilities (B, NH, T, T), in f32): the kernels are tested against their CPU
// twins on a GPU (tests/ops/).
//
// Device. It reports Device::cpu: its memory is host memory, so tests read it directly, and the
// CPU backend's checks (every tensor on Device::cpu) accept the scratch views. The argument checks
// of the ops (Backend::check_<op>) run first with this backend's dtypes, so a caller that hands a
// bf16 backend an f32 activation (or the reverse) fails as it would on the GPU. Allocations are
// 256-byte aligned, as cudaMalloc's are, so the Arena's per-tensor alignment can be checked on the
// real addresses.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <tuple>
#include <type_traits>
#include <vector>

#include "llm/backend/backend.hpp"
#include "llm/backend/forwarding_backend.hpp"
#include "llm/core/bf16.hpp"
#include "llm/core/error.hpp"
#include "llm/core/tensor.hpp"

namespace bf16_emulation {

// One tensor argument of an op, as the CPU f32 backend takes it. A bf16 tensor is widened into an
// f32 copy of its own; any other tensor (f32 statistics, moments and masters, i32 token ids) and an
// empty one (an optional argument) is used as it is. After the CPU op ran, round_back() stores
// into the original tensor, rounded to bf16, every element the op changed in the copy: its outputs.
// Inputs are left alone, so an output that shares memory with an input is not overwritten by it.
class Widened {
 public:
  explicit Widened(llm::Tensor t) : original_(t), view_(t) {
    if (t.empty() || t.dtype != llm::DType::bf16) return;
    const uint16_t* bits = static_cast<const uint16_t*>(t.data);
    read_.assign(bits, bits + t.numel());
    copy_.resize(read_.size());
    for (size_t i = 0; i < copy_.size(); i++) copy_[i] = llm::bf16_to_float(read_[i]);
    view_.data = copy_.data();
    view_.dtype = llm::DType::f32;
  }
  Widened(const Widened&) = delete;  // view_ points into copy_
  Widened& operator=(const Widened&) = delete;

  llm::Tensor f32() const { return view_; }

  void round_back() {
    uint16_t* bits = static_cast<uint16_t*>(original_.data);
    for (size_t i = 0; i < copy_.size(); i++) {
      const uint16_t rounded = llm::float_to_bf16(copy_[i]);
      if (rounded != read_[i]) bits[i] = rounded;
    }
  }

 private:
  llm::Tensor original_;
  llm::Tensor view_;
  std::vector<uint16_t> read_;  // the bf16 bits as the op found them
  std::vector<float> copy_;
};

// Any other argument of an op (sizes, settings) passes through.
template <typename Arg> class Argument {
 public:
  explicit Argument(Arg value) : value_(value) {}
  Arg f32() const { return value_; }
  void round_back() {}

 private:
  Arg value_;
};
template <> class Argument<llm::Tensor> : public Widened {
 public:
  using Widened::Widened;
};

class Bf16EmulationBackend final : public llm::ForwardingBackend<Bf16EmulationBackend> {
 public:
  llm::Device device() const override { return llm::Device::cpu; }
  llm::DType dtype() const override { return llm::DType::bf16; }
  llm::DType master_dtype() const override { return llm::DType::f32; }
  const char* name() const override { return "bf16-emulation"; }

  // ---- memory: host memory, 256-byte aligned as cudaMalloc's ----

  void* allocate(size_t bytes) override {
    constexpr size_t kAlign = 256;
    // aligned_alloc needs a multiple of the alignment
    const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
    void* ptr = std::aligned_alloc(kAlign, rounded ? rounded : kAlign);
    llm::check(ptr != nullptr, "bf16 emulation: out of memory");
    return ptr;
  }
  void release(void* ptr) override { std::free(ptr); }
  // Bytes are bytes: the CPU backend's copies and its convert (which rounds to nearest even when
  // dst is bf16) serve any dtype.
  void zero(llm::Tensor t) override { cpu_->zero(t); }
  void copy_to_host(void* host, llm::Tensor src) override { cpu_->copy_to_host(host, src); }
  void copy_from_host(llm::Tensor dst, const void* host) override {
    cpu_->copy_from_host(dst, host);
  }
  void convert(llm::Tensor dst, llm::Tensor src) override { cpu_->convert(dst, src); }

  // ---- the ops: check with the GPU's dtypes, widen, run on the CPU, round the outputs ----

  // ForwardingBackend's two hooks: the CPU backend answers the queries, e.g. the attention state's
  // shape: the probabilities (B, NH, T, T), which the model carves (with the backward's scratch of
  // the same shape) in master_dtype(), f32, so they pass through unrounded.
  llm::Backend& inner() const { return *cpu_; }
  template <typename Op, typename Check, typename... Args>
  auto forward_op(const char*, Op op, Check check, Args... args) {
    check(*this, args...);
    std::tuple<Argument<Args>...> wide(args...);
    const auto run = [&] {
      return std::apply([&](auto&... a) { return ((*cpu_).*op)(a.f32()...); }, wide);
    };
    const auto round_back = [&] { std::apply([](auto&... a) { (a.round_back(), ...); }, wide); };
    if constexpr (std::is_void_v<decltype(run())>) {
      run();
      round_back();
    } else {
      const auto result = run();  // sum_of_squares: of the stored values, widened exactly
      round_back();
      return result;
    }
  }

  // As on the GPU: the update goes to the f32 master (a bf16 param cannot take a step below half
  // its 2^-8 relative resolution) and the param is the master rounded to nearest-even bf16.
  void adamw_update(llm::Tensor param, llm::Tensor grad, llm::Tensor m, llm::Tensor v,
                    llm::Tensor master, const llm::AdamWSettings& settings,
                    double grad_scale) override {
    check_adamw_update(*this, param, grad, m, v, master, settings, grad_scale);
    llm::check(!master.empty(),
               "adamw_update: master is empty; the bf16 emulation (like the cuda "
               "backend) needs f32 master weights");
    Widened grad32(grad);
    // The CPU updates its first argument in place when given no master: here, the master.
    cpu_->adamw_update(master, grad32.f32(), m, v, llm::Tensor{}, settings, grad_scale);
    cpu_->convert(param, master);
  }

 private:
  std::unique_ptr<llm::Backend> cpu_ = llm::make_cpu_backend(llm::DType::f32);
};

}  // namespace bf16_emulation
