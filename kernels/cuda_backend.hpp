#pragma once
// defines: llm::CudaBackend, llm/backend/backend.hpp on one NVIDIA GPU.
//
// Precision (as llm.c and every mixed-precision trainer): weights, activations and their gradients
// are bf16; every sum inside a kernel accumulates in f32; the statistics saved for the backward
// (layernorm mean/rstd, attention log-sum-exps) and the per-token losses are f32; AdamW keeps f32
// master weights and f32 moments (master_dtype() == f32) and writes the bf16 weights from them.
//
// Every op is queued on one stream (stream_), in the order the model calls them; only copy_to_host,
// sum_of_squares and synchronize() wait for the GPU. Reductions are deterministic: no float
// atomics, every sum in a fixed order, so the same inputs give the same bits on every run.
//
// The class is declared once here; each op family defines its members in its own file, next to its
// kernels, mirroring llm/backend/cpu/: encoder.cu, layernorm.cu, rmsnorm.cu, rope.cu, matmul.cu,
// attention.cu, gelu.cu, relu2.cu, swiglu.cu, residual.cu, classifier.cu, adamw.cu, reduce.cu,
// scale_add.cu;
// memory, copies and conversions are in cuda_backend.cu.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <string>

#include "llm/backend/backend.hpp"

namespace llm {

// A device buffer that only grows: scratch space an op sizes on its first call (at set-up, since
// the first training step has the largest shapes), so steady-state steps never allocate.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer();
  // At least `bytes` of device memory (contents undefined after a growth).
  void* get(size_t bytes);

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

class CudaBackend final : public Backend {
 public:
  CudaBackend();  // on the current device (cudaSetDevice first to pick another)
  ~CudaBackend() override;

  Device device() const override { return Device::cuda; }
  DType dtype() const override { return DType::bf16; }
  DType master_dtype() const override { return DType::f32; }
  const char* name() const override { return "cuda-bf16"; }
  std::string description() const override;
  double peak_flops()
      const override;  // dense bf16 tensor-core peak from the data sheet, 0 if unknown

  void* allocate(
      size_t bytes) override;  // cudaMalloc; out of memory names the size and what is free
  void release(void* ptr) override;
  void zero(Tensor t) override;
  void copy_to_host(void* host, Tensor src) override;
  void copy_from_host(Tensor dst, const void* host) override;
  void convert(Tensor dst, Tensor src) override;  // between f32 and bf16 (or a copy)
  void synchronize() override;

  // wpe and dwpe are empty for a model without learned positions (rope).
  void encoder_forward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int pos0) override;
  void encoder_backward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens) override;

  // mean, rstd f32
  void layernorm_forward(Tensor out, Tensor mean, Tensor rstd, Tensor inp, Tensor weight,
                         Tensor bias) override;
  void layernorm_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                          Tensor weight, Tensor mean, Tensor rstd) override;

  // rstd f32
  void rmsnorm_forward(Tensor out, Tensor rstd, Tensor inp, Tensor weight, double eps) override;
  void rmsnorm_backward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp, Tensor weight,
                        Tensor rstd) override;
  void rope_forward(Tensor out, Tensor inp, int hs, int n_rotated, int pos0,
                    RopeFrequencies frequencies) override;
  void rope_backward(Tensor dinp, Tensor dout, int hs, int n_rotated, int pos0,
                     RopeFrequencies frequencies) override;
  void swiglu_forward(Tensor out, Tensor inp) override;
  void swiglu_backward(Tensor dinp, Tensor inp, Tensor dout) override;

  // rstd (B, T, NH + NKV) in master dtype; out must not be inp.
  void qk_norm_forward(Tensor out, Tensor rstd, Tensor inp, Tensor q_weight, Tensor k_weight,
                       int NH, double eps) override;
  void qk_norm_backward(Tensor dinp, Tensor dq_weight, Tensor dk_weight, Tensor dout, Tensor inp,
                        Tensor q_weight, Tensor k_weight, Tensor rstd, int NH) override;

  void matmul_forward(Tensor out, Tensor inp, Tensor weight, Tensor bias) override;
  void matmul_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                       Tensor weight) override;

  // state: log-sum-exps (B, NH, T) f32; scratch the same shape (rowsum(dout * out) in the
  // backward). Grouped-query (NKV < NH) and multi-query (NKV = 1) qkv as the CPU's.
  Shape attention_state_shape(int B, int T, int NH) const override;
  void attention_forward(Tensor out, Tensor state, Tensor qkv, int NH) override;
  void attention_backward(Tensor dqkv, Tensor scratch, Tensor dout, Tensor qkv, Tensor out,
                          Tensor state, int NH) override;
  void attention_forward_cached(Tensor out, Tensor k_cache, Tensor v_cache, Tensor qkv, int NH,
                                int pos0) override;

  void gelu_forward(Tensor out, Tensor inp) override;
  void gelu_backward(Tensor dinp, Tensor inp, Tensor dout) override;
  void relu2_forward(Tensor out, Tensor inp) override;
  void relu2_backward(Tensor dinp, Tensor inp, Tensor dout) override;

  void residual_forward(Tensor out, Tensor a, Tensor b) override;
  void residual_backward(Tensor da, Tensor db, Tensor dout) override;

  // losses f32, logits bf16 (overwritten with dlogits)
  void classifier_forward(Tensor losses, Tensor logits, Tensor targets, int V,
                          double dloss) override;

  // param, grad bf16; m, v, master f32 (master is required: the bf16 weights are its rounding)
  void adamw_update(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor master,
                    const AdamWSettings& settings, double grad_scale) override;
  double sum_of_squares(Tensor t) override;
  // out, a, b each bf16 or f32, computed in f32 (Muon: f32 momentum and masters, bf16 gradients)
  void scale_add(Tensor out, double alpha, Tensor a, double beta, Tensor b) override;

  cudaStream_t stream() const { return stream_; }
  int sm_count() const { return properties_.multiProcessorCount; }

 private:
  cudaStream_t stream_ = nullptr;
  cudaDeviceProp properties_{};

  // matmul.cu: cuBLASLt and its workspace
  cublasLtHandle_t cublaslt_ = nullptr;
  DeviceBuffer cublaslt_workspace_;
  // Scratch per op family, for deterministic multi-pass reductions and sorts.
  DeviceBuffer encoder_scratch_;  // encoder.cu: the token sort behind a deterministic dwte
  DeviceBuffer norm_scratch_;  // layernorm.cu, rmsnorm.cu: per-chunk partial sums of dweight, dbias
  DeviceBuffer matmul_scratch_;    // matmul.cu: per-block partial sums of dbias
  DeviceBuffer reduce_scratch_;    // reduce.cu: per-block partial sums of squares
  double* host_result_ = nullptr;  // reduce.cu: pinned host memory the final sum is copied into
};

}  // namespace llm
