#pragma once
// defines: llm::CpuBackend, the reference implementation of llm::Backend.
//
// Each op checks its tensors (dtype, device, shape: Backend::check_<op> in llm/backend/backend.hpp;
// a mismatch throws llm::Error naming the op and the tensor), range-checks the token ids and
// targets it can read on the host, and then calls the raw kernel of the same name in
// llm/backend/cpu/<op>.hpp. T is the scalar of every float tensor: float for training, double for
// finite-difference gradient checks. On the CPU the parameters are their own master copy:
// master_dtype() == dtype(), and adamw_update expects an empty `master` (a non-empty one of the
// same dtype is updated and copied to param).
// make_cpu_backend() and make_backend() are declared in llm/backend/backend.hpp.
#include "llm/backend/backend.hpp"

namespace llm {

template <typename T> class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::cpu; }
  DType dtype() const override { return dtype_of<T>(); }
  DType master_dtype() const override { return dtype_of<T>(); }
  const char* name() const override;

  void* allocate(
      size_t bytes) override;  // zeroed, 64-byte aligned (a cache line, one AVX-512 vector)
  void release(void* ptr) override;
  bool allocates_zeroed() const override { return true; }
  void zero(Tensor t) override;
  void copy_to_host(void* host, Tensor src) override;
  void copy_from_host(Tensor dst, const void* host) override;
  void convert(Tensor dst, Tensor src) override;  // between f32, f64 and bf16

  void encoder_forward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int pos0) override;
  void encoder_backward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens) override;

  void layernorm_forward(Tensor out, Tensor mean, Tensor rstd, Tensor inp, Tensor weight,
                         Tensor bias) override;
  void layernorm_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                          Tensor weight, Tensor mean, Tensor rstd) override;

  void rmsnorm_forward(Tensor out, Tensor rstd, Tensor inp, Tensor weight, double eps) override;
  void rmsnorm_backward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp, Tensor weight,
                        Tensor rstd) override;

  void rope_forward(Tensor out, Tensor inp, int hs, int n_rotated, int pos0,
                    RopeFrequencies frequencies) override;
  void rope_backward(Tensor dinp, Tensor dout, int hs, int n_rotated, int pos0,
                     RopeFrequencies frequencies) override;

  // rstd (B, T, NH + NKV) in master dtype; out must not be inp.
  void qk_norm_forward(Tensor out, Tensor rstd, Tensor inp, Tensor q_weight, Tensor k_weight,
                       int NH, double eps) override;
  void qk_norm_backward(Tensor dinp, Tensor dq_weight, Tensor dk_weight, Tensor dout, Tensor inp,
                        Tensor q_weight, Tensor k_weight, Tensor rstd, int NH) override;

  // bias may be empty; in the backward dbias and dinp may be empty (skipped).
  void matmul_forward(Tensor out, Tensor inp, Tensor weight, Tensor bias) override;
  void matmul_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                       Tensor weight) override;

  // state: the probabilities (B, NH, T, T).
  Shape attention_state_shape(int B, int Tlen, int NH) const override;
  void attention_forward(Tensor out, Tensor state, Tensor qkv, int NH) override;
  void attention_backward(Tensor dqkv, Tensor scratch, Tensor dout, Tensor qkv, Tensor out,
                          Tensor state, int NH) override;
  void attention_forward_cached(Tensor out, Tensor k_cache, Tensor v_cache, Tensor qkv, int NH,
                                int pos0) override;

  void gelu_forward(Tensor out, Tensor inp) override;
  void gelu_backward(Tensor dinp, Tensor inp, Tensor dout) override;
  void relu2_forward(Tensor out, Tensor inp) override;
  void relu2_backward(Tensor dinp, Tensor inp, Tensor dout) override;

  void swiglu_forward(Tensor out, Tensor inp) override;
  void swiglu_backward(Tensor dinp, Tensor inp, Tensor dout) override;

  void residual_forward(Tensor out, Tensor a, Tensor b) override;
  void residual_backward(Tensor da, Tensor db, Tensor dout) override;

  void classifier_forward(Tensor losses, Tensor logits, Tensor targets, int V,
                          double dloss) override;

  void adamw_update(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor master,
                    const AdamWSettings& settings, double grad_scale) override;
  double sum_of_squares(Tensor t) override;

  void scale_add(Tensor out, double alpha, Tensor a, double beta, Tensor b) override;
};

extern template class CpuBackend<float>;
extern template class CpuBackend<double>;

}  // namespace llm
