#pragma once
// defines: llm::ProfilingBackend, a Backend that times every op of another one.
//
// It forwards each call to the wrapped backend, then waits for the device (synchronize()) and adds
// the wall time since the call began to that op's row, with the bytes the op must move (every
// tensor it reads, plus every tensor it writes; an accumulated gradient is read and written) and,
// for the matmuls and attention, its floating-point operations. Waiting after every op serialises
// the GPU with the host, so each row also carries one launch latency (a few microseconds): the
// table shows where the time goes, not the fastest the step can run. Use it for a per-kernel table
// (glassbox bench --profile), never for training.
#include <chrono>
#include <string>
#include <type_traits>
#include <vector>

#include "llm/backend/backend.hpp"
#include "llm/backend/forwarding_backend.hpp"

namespace llm {

struct OpProfile {
  std::string op;
  int64_t calls = 0;
  double seconds = 0;
  double bytes = 0;  // moved to and from device memory, at least once each
  double flops = 0;  // 0 for the memory-bound ops
};

// Every op reaches it through ForwardingBackend (generated from llm/backend/backend.hpp), so a new
// op is timed with no edit here: its bytes default to every tensor argument moved once and its
// FLOPs to 0. The ops declared below refine that: accumulated gradients (read and written), rows
// gathered by token id, and the FLOPs of the matmuls and of attention.
class ProfilingBackend final : public ForwardingBackend<ProfilingBackend> {
 public:
  explicit ProfilingBackend(Backend& inner) : inner_(inner) {}

  // One row per op name in first-call order; reset() empties them (e.g. after warm-up steps).
  const std::vector<OpProfile>& profile() const { return rows_; }
  void reset() { rows_.clear(); }

  Device device() const override { return inner_.device(); }
  DType dtype() const override { return inner_.dtype(); }
  DType master_dtype() const override { return inner_.master_dtype(); }
  const char* name() const override { return inner_.name(); }

  void* allocate(size_t bytes) override { return inner_.allocate(bytes); }
  void release(void* ptr) override { inner_.release(ptr); }
  bool allocates_zeroed() const override { return inner_.allocates_zeroed(); }
  void zero(Tensor t) override;
  void copy_to_host(void* host, Tensor src) override;
  void copy_from_host(Tensor dst, const void* host) override;
  void convert(Tensor dst, Tensor src) override;
  void synchronize() override { inner_.synchronize(); }

  // ForwardingBackend's two hooks: the wrapped backend, and every op not refined below.
  Backend& inner() const { return inner_; }
  template <typename Op, typename Check, typename... Args>
  auto forward_op(const char* op, Op method, Check, Args... args) {
    const double bytes = (0.0 + ... + argument_bytes(args));
    const auto start = std::chrono::steady_clock::now();
    if constexpr (std::is_void_v<std::invoke_result_t<Op, Backend&, Args...>>) {
      (inner_.*method)(args...);
      book(op, seconds_since_synchronized(start), bytes, 0);
    } else {
      const auto result = (inner_.*method)(args...);
      book(op, seconds_since_synchronized(start), bytes, 0);
      return result;
    }
  }

  void encoder_forward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int pos0) override;
  void encoder_backward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens) override;
  void layernorm_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                          Tensor weight, Tensor mean, Tensor rstd) override;
  void matmul_forward(Tensor out, Tensor inp, Tensor weight, Tensor bias) override;
  void matmul_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                       Tensor weight) override;
  void attention_forward(Tensor out, Tensor state, Tensor qkv, int NH) override;
  void attention_backward(Tensor dqkv, Tensor scratch, Tensor dout, Tensor qkv, Tensor out,
                          Tensor state, int NH) override;
  void gelu_backward(Tensor dinp, Tensor inp, Tensor dout) override;
  void residual_backward(Tensor da, Tensor db, Tensor dout) override;
  void classifier_forward(Tensor losses, Tensor logits, Tensor targets, int V,
                          double dloss) override;
  void adamw_update(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor master,
                    const AdamWSettings& settings, double grad_scale) override;

 private:
  // The bytes a tensor argument moves, once; other arguments (sizes, settings) move none.
  static double argument_bytes(const Tensor& t) { return t.empty() ? 0.0 : double(t.nbytes()); }
  template <typename Arg> static double argument_bytes(const Arg&) { return 0.0; }
  // Runs `call` on the inner backend, waits for it, and books the time under `op`.
  template <typename Call> void timed(const char* op, double bytes, double flops, Call&& call) {
    const auto start = std::chrono::steady_clock::now();
    call();
    book(op, seconds_since_synchronized(start), bytes, flops);
  }
  // Waits for the device, then the seconds since `start`.
  double seconds_since_synchronized(std::chrono::steady_clock::time_point start);
  void book(const char* op, double seconds, double bytes, double flops);

  Backend& inner_;
  std::vector<OpProfile> rows_;
};

// The table, one row per op sorted by time: calls, ms per step (total / steps), share of the total,
// GB/s, and for memory-bound ops the fraction of `copy_gbps` (the device's measured copy bandwidth;
// 0 leaves that column out), for the compute-bound ones TFLOP/s.
void print_profile(const std::vector<OpProfile>& rows, int steps, double copy_gbps);

// The device's copy bandwidth in GB/s (bytes read + bytes written per second), measured by timing
// convert() between two buffers of `bytes` each.
double measure_copy_bandwidth(Backend& backend, size_t bytes = size_t(1) << 30);

}  // namespace llm
