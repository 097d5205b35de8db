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
// f32), runs the CPU f32 backend's op on them, and rounds its bf16 outputs back to nearest-even
// bf16, as a GPU kernel's store does. Tensors that are f32 already (statistics, losses, moments,
// masters) and the i32 token ids are handed to the CPU op as they are. A backward reads its
// gradient outputs, adds in f32 and rounds the sums: accumulation in bf16, as on the GPU.
// AdamW REQUIRES a master copy, as the GPU does: it updates the f32 master and writes
// param = bf16(master).
//
// So its arithmetic is the CPU's, with the GPU's roundings at every op boundary. It is a model of
// the dtypes the tensors have between ops, not of the CUDA kernels themselves (they round inside,
// e.g. in tensor-core products, and save log-sum-exps (B, NH, T) as the attention state where this
// saves the CPU's probabilities (B, NH, T, T), in f32): the kernels are tested against their CPU
// twins on a GPU (tests/test_cuda_ops.cpp).
//
// Device. It reports Device::cpu: its memory is host memory, so tests read it directly, and the
// CPU backend's checks (every tensor on Device::cpu) accept the scratch views. The argument checks
// of llm/backend/op_checks.hpp run first with this backend's dtypes, so a caller that hands a bf16
// backend an f32 activation (or the reverse) fails as it would on the GPU. Allocations are
// 256-byte aligned, as cudaMalloc's are, so the Arena's per-tensor alignment can be checked on the
// real addresses.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "llm/backend/backend.hpp"
#include "llm/backend/op_checks.hpp"
#include "llm/core/bf16.hpp"
#include "llm/core/error.hpp"
#include "llm/core/tensor.hpp"

namespace bf16_emulation {

// One argument of an op, as the CPU f32 backend takes it. A bf16 tensor is widened into an f32
// copy of its own; any other tensor (f32 statistics, moments and masters, i32 token ids) and an
// empty one (an optional argument) is used as it is. After the CPU op wrote into f32(),
// round_back() stores the copy into the original tensor rounded to bf16 (nothing to do for a
// tensor that was not copied: the op wrote into it directly).
class Widened {
 public:
  explicit Widened(llm::Tensor t) : original_(t), view_(t) {
    if (t.empty() || t.dtype != llm::DType::bf16) return;
    copy_.resize(size_t(t.numel()));
    const uint16_t* bits = static_cast<const uint16_t*>(t.data);
    for (size_t i = 0; i < copy_.size(); i++) copy_[i] = llm::bf16_to_float(bits[i]);
    view_.data = copy_.data();
    view_.dtype = llm::DType::f32;
  }
  Widened(const Widened&) = delete;  // view_ points into copy_
  Widened& operator=(const Widened&) = delete;

  llm::Tensor f32() const { return view_; }

  void round_back() {
    if (view_.data == original_.data) return;
    uint16_t* bits = static_cast<uint16_t*>(original_.data);
    for (size_t i = 0; i < copy_.size(); i++) bits[i] = llm::float_to_bf16(copy_[i]);
  }

 private:
  llm::Tensor original_;
  llm::Tensor view_;
  std::vector<float> copy_;
};

class Bf16EmulationBackend final : public llm::Backend {
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

  void encoder_forward(llm::Tensor out, llm::Tensor tokens, llm::Tensor wte, llm::Tensor wpe,
                       int pos0) override {
    llm::check_encoder_forward(*this, out, tokens, wte, wpe, pos0);
    Widened out32(out), wte32(wte), wpe32(wpe);
    cpu_->encoder_forward(out32.f32(), tokens, wte32.f32(), wpe32.f32(), pos0);
    out32.round_back();
  }
  void encoder_backward(llm::Tensor dwte, llm::Tensor dwpe, llm::Tensor dout,
                        llm::Tensor tokens) override {
    llm::check_encoder_backward(*this, dwte, dwpe, dout, tokens);
    Widened dwte32(dwte), dwpe32(dwpe), dout32(dout);
    cpu_->encoder_backward(dwte32.f32(), dwpe32.f32(), dout32.f32(), tokens);
    dwte32.round_back();
    dwpe32.round_back();
  }

  void layernorm_forward(llm::Tensor out, llm::Tensor mean, llm::Tensor rstd, llm::Tensor inp,
                         llm::Tensor weight, llm::Tensor bias) override {
    llm::check_layernorm_forward(*this, out, mean, rstd, inp, weight, bias);
    Widened out32(out), inp32(inp), weight32(weight), bias32(bias);
    cpu_->layernorm_forward(out32.f32(), mean, rstd, inp32.f32(), weight32.f32(), bias32.f32());
    out32.round_back();
  }
  void layernorm_backward(llm::Tensor dinp, llm::Tensor dweight, llm::Tensor dbias,
                          llm::Tensor dout, llm::Tensor inp, llm::Tensor weight, llm::Tensor mean,
                          llm::Tensor rstd) override {
    llm::check_layernorm_backward(*this, dinp, dweight, dbias, dout, inp, weight, mean, rstd);
    Widened dinp32(dinp), dweight32(dweight), dbias32(dbias), dout32(dout), inp32(inp),
        weight32(weight);
    cpu_->layernorm_backward(dinp32.f32(), dweight32.f32(), dbias32.f32(), dout32.f32(),
                             inp32.f32(), weight32.f32(), mean, rstd);
    dinp32.round_back();
    dweight32.round_back();
    dbias32.round_back();
  }

  void rmsnorm_forward(llm::Tensor out, llm::Tensor rstd, llm::Tensor inp, llm::Tensor weight,
                       double eps) override {
    llm::check_rmsnorm_forward(*this, out, rstd, inp, weight, eps);
    Widened out32(out), inp32(inp), weight32(weight);
    cpu_->rmsnorm_forward(out32.f32(), rstd, inp32.f32(), weight32.f32(), eps);
    out32.round_back();
  }
  void rmsnorm_backward(llm::Tensor dinp, llm::Tensor dweight, llm::Tensor dout, llm::Tensor inp,
                        llm::Tensor weight, llm::Tensor rstd) override {
    llm::check_rmsnorm_backward(*this, dinp, dweight, dout, inp, weight, rstd);
    Widened dinp32(dinp), dweight32(dweight), dout32(dout), inp32(inp), weight32(weight);
    cpu_->rmsnorm_backward(dinp32.f32(), dweight32.f32(), dout32.f32(), inp32.f32(), weight32.f32(),
                           rstd);
    dinp32.round_back();
    dweight32.round_back();
  }

  void rope_forward(llm::Tensor out, llm::Tensor inp, int hs, int n_rotated, int pos0,
                    double theta) override {
    llm::check_rope_forward(*this, out, inp, hs, n_rotated, pos0, theta);
    Widened out32(out), inp32(inp);
    cpu_->rope_forward(out32.f32(), inp32.f32(), hs, n_rotated, pos0, theta);
    out32.round_back();
  }
  void rope_backward(llm::Tensor dinp, llm::Tensor dout, int hs, int n_rotated, int pos0,
                     double theta) override {
    llm::check_rope_backward(*this, dinp, dout, hs, n_rotated, pos0, theta);
    Widened dinp32(dinp), dout32(dout);
    cpu_->rope_backward(dinp32.f32(), dout32.f32(), hs, n_rotated, pos0, theta);
    dinp32.round_back();
  }

  void matmul_forward(llm::Tensor out, llm::Tensor inp, llm::Tensor weight,
                      llm::Tensor bias) override {
    llm::check_matmul_forward(*this, out, inp, weight, bias);
    Widened out32(out), inp32(inp), weight32(weight), bias32(bias);  // bias may be empty
    cpu_->matmul_forward(out32.f32(), inp32.f32(), weight32.f32(), bias32.f32());
    out32.round_back();
  }
  void matmul_backward(llm::Tensor dinp, llm::Tensor dweight, llm::Tensor dbias, llm::Tensor dout,
                       llm::Tensor inp, llm::Tensor weight) override {
    llm::check_matmul_backward(*this, dinp, dweight, dbias, dout, inp, weight);
    Widened dinp32(dinp), dweight32(dweight), dbias32(dbias);  // dinp, dbias may be empty
    Widened dout32(dout), inp32(inp), weight32(weight);
    cpu_->matmul_backward(dinp32.f32(), dweight32.f32(), dbias32.f32(), dout32.f32(), inp32.f32(),
                          weight32.f32());
    dinp32.round_back();
    dweight32.round_back();
    dbias32.round_back();
  }

  // The CPU's attention state, the probabilities (B, NH, T, T); the model carves it (and the
  // backward's scratch of the same shape) in master_dtype(), f32, so it passes through unrounded.
  llm::Shape attention_state_shape(int B, int T, int NH) const override {
    return cpu_->attention_state_shape(B, T, NH);
  }
  void attention_forward(llm::Tensor out, llm::Tensor state, llm::Tensor qkv, int NH) override {
    llm::check_attention_forward(*this, out, state, qkv, NH);
    Widened out32(out), qkv32(qkv);
    cpu_->attention_forward(out32.f32(), state, qkv32.f32(), NH);
    out32.round_back();
  }
  void attention_backward(llm::Tensor dqkv, llm::Tensor scratch, llm::Tensor dout, llm::Tensor qkv,
                          llm::Tensor out, llm::Tensor state, int NH) override {
    llm::check_attention_backward(*this, dqkv, scratch, dout, qkv, state, NH);
    Widened dqkv32(dqkv), dout32(dout), qkv32(qkv), out32(out);
    cpu_->attention_backward(dqkv32.f32(), scratch, dout32.f32(), qkv32.f32(), out32.f32(), state,
                             NH);
    dqkv32.round_back();
  }
  void attention_forward_cached(llm::Tensor out, llm::Tensor k_cache, llm::Tensor v_cache,
                                llm::Tensor qkv, int NH, int pos0) override {
    llm::check_attention_forward_cached(*this, out, k_cache, v_cache, qkv, NH, pos0);
    Widened out32(out), k_cache32(k_cache), v_cache32(v_cache), qkv32(qkv);
    cpu_->attention_forward_cached(out32.f32(), k_cache32.f32(), v_cache32.f32(), qkv32.f32(), NH,
                                   pos0);
    out32.round_back();
    k_cache32.round_back();  // the new positions' keys and values
    v_cache32.round_back();
  }

  void gelu_forward(llm::Tensor out, llm::Tensor inp) override {
    llm::check_gelu_forward(*this, out, inp);
    Widened out32(out), inp32(inp);
    cpu_->gelu_forward(out32.f32(), inp32.f32());
    out32.round_back();
  }
  void gelu_backward(llm::Tensor dinp, llm::Tensor inp, llm::Tensor dout) override {
    llm::check_gelu_backward(*this, dinp, inp, dout);
    Widened dinp32(dinp), inp32(inp), dout32(dout);
    cpu_->gelu_backward(dinp32.f32(), inp32.f32(), dout32.f32());
    dinp32.round_back();
  }

  void swiglu_forward(llm::Tensor out, llm::Tensor inp) override {
    llm::check_swiglu_forward(*this, out, inp);
    Widened out32(out), inp32(inp);
    cpu_->swiglu_forward(out32.f32(), inp32.f32());
    out32.round_back();
  }
  void swiglu_backward(llm::Tensor dinp, llm::Tensor inp, llm::Tensor dout) override {
    llm::check_swiglu_backward(*this, dinp, inp, dout);
    Widened dinp32(dinp), inp32(inp), dout32(dout);
    cpu_->swiglu_backward(dinp32.f32(), inp32.f32(), dout32.f32());
    dinp32.round_back();
  }

  void residual_forward(llm::Tensor out, llm::Tensor a, llm::Tensor b) override {
    llm::check_residual_forward(*this, out, a, b);
    Widened out32(out), a32(a), b32(b);
    cpu_->residual_forward(out32.f32(), a32.f32(), b32.f32());
    out32.round_back();
  }
  void residual_backward(llm::Tensor da, llm::Tensor db, llm::Tensor dout) override {
    llm::check_residual_backward(*this, da, db, dout);
    Widened da32(da), db32(db), dout32(dout);
    cpu_->residual_backward(da32.f32(), db32.f32(), dout32.f32());
    da32.round_back();
    db32.round_back();
  }

  // losses are f32; logits (bf16) are overwritten with dlogits when dloss != 0.
  void classifier_forward(llm::Tensor losses, llm::Tensor logits, llm::Tensor targets, int V,
                          double dloss) override {
    llm::check_classifier_forward(*this, losses, logits, targets, V);
    Widened logits32(logits);
    cpu_->classifier_forward(losses, logits32.f32(), targets, V, dloss);
    if (dloss != 0.0) logits32.round_back();
  }

  // As on the GPU: the update goes to the f32 master (a bf16 param cannot take a step below half
  // its 2^-8 relative resolution) and the param is the master rounded to nearest-even bf16.
  void adamw_update(llm::Tensor param, llm::Tensor grad, llm::Tensor m, llm::Tensor v,
                    llm::Tensor master, const llm::AdamWSettings& settings,
                    double grad_scale) override {
    llm::check_adamw_update(*this, param, grad, m, v, master, settings);
    llm::check(!master.empty(),
               "adamw_update: master is empty; the bf16 emulation (like the cuda "
               "backend) needs f32 master weights");
    Widened grad32(grad);
    // The CPU updates its first argument in place when given no master: here, the master.
    cpu_->adamw_update(master, grad32.f32(), m, v, llm::Tensor{}, settings, grad_scale);
    cpu_->convert(param, master);
  }
  // Gradients (bf16) or master weights (f32); widening is exact, so this is the sum of the
  // stored values' squares.
  double sum_of_squares(llm::Tensor t) override {
    llm::check_sum_of_squares(*this, t);
    Widened t32(t);
    return cpu_->sum_of_squares(t32.f32());
  }

 private:
  std::unique_ptr<llm::Backend> cpu_ = llm::make_cpu_backend(llm::DType::f32);
};

}  // namespace bf16_emulation
