#include "llm/backend/cpu/cpu_backend.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "llm/backend/cpu/adamw.hpp"
#include "llm/backend/cpu/attention.hpp"
#include "llm/backend/cpu/classifier.hpp"
#include "llm/backend/cpu/encoder.hpp"
#include "llm/backend/cpu/gelu.hpp"
#include "llm/backend/cpu/layernorm.hpp"
#include "llm/backend/cpu/matmul.hpp"
#include "llm/backend/cpu/reduce.hpp"
#include "llm/backend/cpu/residual.hpp"
#include "llm/backend/op_checks.hpp"
#include "llm/core/bf16.hpp"

namespace llm {
namespace {

double load_element(const void* data, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::f32: return static_cast<const float*>(data)[i];
    case DType::f64: return static_cast<const double*>(data)[i];
    case DType::bf16: return bf16_to_float(static_cast<const uint16_t*>(data)[i]);
    case DType::i32: return static_cast<const int32_t*>(data)[i];
  }
  return 0.0;
}

void store_element(void* data, DType dtype, int64_t i, double value) {
  switch (dtype) {
    case DType::f32: static_cast<float*>(data)[i] = static_cast<float>(value); break;
    case DType::f64: static_cast<double*>(data)[i] = value; break;
    case DType::bf16:
      static_cast<uint16_t*>(data)[i] = float_to_bf16(static_cast<float>(value));
      break;
    case DType::i32: static_cast<int32_t*>(data)[i] = static_cast<int32_t>(value); break;
  }
}

}  // namespace

template <typename T> const char* CpuBackend<T>::name() const {
  return dtype_of<T>() == DType::f32 ? "cpu-f32" : "cpu-f64";
}

// ---- memory ----

// calloc, because for large blocks it maps fresh zero pages from the kernel instead of writing
// zeros: memory is only committed where it is written. calloc promises 16-byte alignment, so the
// block is over-allocated by kAlign and the pointer calloc returned is kept just below the aligned
// one, for release().
template <typename T> void* CpuBackend<T>::allocate(size_t bytes) {
  constexpr size_t kAlign = 64;
  void* block = std::calloc(1, bytes + kAlign);
  check(block != nullptr, "cpu backend: out of memory allocating " + std::to_string(bytes) + " bytes");
  const uintptr_t aligned = (uintptr_t(block) + sizeof(void*) + kAlign - 1) / kAlign * kAlign;
  reinterpret_cast<void**>(aligned)[-1] = block;
  // Ask for 2 MiB pages where the kernel has them (transparent huge pages): first writes to a large
  // arena, e.g. while loading a checkpoint into it, then fault 512 times less often.
  constexpr uintptr_t kHugePage = uintptr_t(2) << 20;
  const uintptr_t first = (aligned + kHugePage - 1) / kHugePage * kHugePage;
  const uintptr_t last = (aligned + bytes) / kHugePage * kHugePage;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

template <typename T> void CpuBackend<T>::release(void* ptr) {
  if (ptr) std::free(static_cast<void**>(ptr)[-1]);
}

template <typename T> void CpuBackend<T>::zero(Tensor t) {
  if (t.empty()) return;
  check(t.device == Device::cpu, "zero: tensor is on the GPU");
  std::memset(t.data, 0, t.nbytes());
}

template <typename T> void CpuBackend<T>::copy_to_host(void* host, Tensor src) {
  check(src.device == Device::cpu, "copy_to_host: src is on the GPU");
  if (src.nbytes()) std::memcpy(host, src.data, src.nbytes());
}

template <typename T> void CpuBackend<T>::copy_from_host(Tensor dst, const void* host) {
  check(dst.device == Device::cpu, "copy_from_host: dst is on the GPU");
  if (dst.nbytes()) std::memcpy(dst.data, host, dst.nbytes());
}

template <typename T> void CpuBackend<T>::convert(Tensor dst, Tensor src) {
  check(dst.device == Device::cpu && src.device == Device::cpu, "convert: tensor is on the GPU");
  expect_numel("convert", "dst", dst, src.numel(), "src's " + src.shape.str());
  if (dst.dtype == src.dtype) {
    std::memcpy(dst.data, src.data, src.nbytes());
    return;
  }
  const int64_t n = src.numel();
#pragma omp parallel for
  for (int64_t i = 0; i < n; i++)
    store_element(dst.data, dst.dtype, i, load_element(src.data, src.dtype, i));
}

// ---- encoder ----

template <typename T>
void CpuBackend<T>::encoder_forward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int pos0) {
  check_encoder_forward(*this, out, tokens, wte, wpe, pos0);
  // The token ids are on the host here, so they are range-checked too.
  const char* op = "encoder_forward";
  const int64_t B = tokens.size(0), Tlen = tokens.size(1), Vp = wte.size(0), C = wte.size(1);
  const int32_t* tok = tokens.ptr<int32_t>();
  for (int64_t i = 0; i < B * Tlen; i++)
    check(tok[i] >= 0 && tok[i] < Vp, std::string(op) + ": token " + std::to_string(tok[i]) +
                                          " at index " + std::to_string(i) +
                                          " is outside the vocabulary [0, " + std::to_string(Vp) +
                                          ")");
  cpu::encoder_forward(out.ptr<T>(), tok, wte.ptr<T>(), wpe.ptr<T>(), B, Tlen, C, pos0);
}

template <typename T>
void CpuBackend<T>::encoder_backward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens) {
  check_encoder_backward(*this, dwte, dwpe, dout, tokens);
  // The token ids are on the host here, so they are range-checked too.
  const char* op = "encoder_backward";
  const int64_t B = tokens.size(0), Tlen = tokens.size(1), Vp = dwte.size(0), C = dwte.size(1);
  const int32_t* tok = tokens.ptr<int32_t>();
  for (int64_t i = 0; i < B * Tlen; i++)
    check(tok[i] >= 0 && tok[i] < Vp, std::string(op) + ": token " + std::to_string(tok[i]) +
                                          " at index " + std::to_string(i) +
                                          " is outside the vocabulary [0, " + std::to_string(Vp) +
                                          ")");
  cpu::encoder_backward(dwte.ptr<T>(), dwpe.ptr<T>(), dout.ptr<T>(), tok, B, Tlen, C);
}

// ---- layernorm ----

template <typename T>
void CpuBackend<T>::layernorm_forward(Tensor out, Tensor mean, Tensor rstd, Tensor inp,
                                      Tensor weight, Tensor bias) {
  check_layernorm_forward(*this, out, mean, rstd, inp, weight, bias);
  const int64_t N = inp.rows(), C = inp.last_dim();
  cpu::layernorm_forward(out.ptr<T>(), mean.ptr<T>(), rstd.ptr<T>(), inp.ptr<T>(), weight.ptr<T>(),
                         bias.ptr<T>(), N, C);
}

template <typename T>
void CpuBackend<T>::layernorm_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout,
                                       Tensor inp, Tensor weight, Tensor mean, Tensor rstd) {
  check_layernorm_backward(*this, dinp, dweight, dbias, dout, inp, weight, mean, rstd);
  const int64_t N = inp.rows(), C = inp.last_dim();
  cpu::layernorm_backward(dinp.ptr<T>(), dweight.ptr<T>(), dbias.ptr<T>(), dout.ptr<T>(),
                          inp.ptr<T>(), weight.ptr<T>(), mean.ptr<T>(), rstd.ptr<T>(), N, C);
}

// ---- matmul ----

template <typename T>
void CpuBackend<T>::matmul_forward(Tensor out, Tensor inp, Tensor weight, Tensor bias) {
  check_matmul_forward(*this, out, inp, weight, bias);
  const int64_t N = inp.rows(), C = inp.last_dim(), OC = weight.size(0);
  cpu::matmul_forward(out.ptr<T>(), inp.ptr<T>(), weight.ptr<T>(),
                      bias.empty() ? nullptr : bias.ptr<T>(), N, C, OC);
}

template <typename T>
void CpuBackend<T>::matmul_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout,
                                    Tensor inp, Tensor weight) {
  check_matmul_backward(*this, dinp, dweight, dbias, dout, inp, weight);
  const int64_t N = inp.rows(), C = inp.last_dim(), OC = weight.size(0);
  cpu::matmul_backward(dinp.empty() ? nullptr : dinp.ptr<T>(), dweight.ptr<T>(),
                       dbias.empty() ? nullptr : dbias.ptr<T>(), dout.ptr<T>(), inp.ptr<T>(),
                       weight.ptr<T>(), N, C, OC);
}

// ---- attention ----

template <typename T> Shape CpuBackend<T>::attention_state_shape(int B, int Tlen, int NH) const {
  return Shape{B, NH, Tlen, Tlen};
}

template <typename T>
void CpuBackend<T>::attention_forward(Tensor out, Tensor state, Tensor qkv, int NH) {
  check_attention_forward(*this, out, state, qkv, NH);
  const int64_t B = qkv.size(0), Tlen = qkv.size(1), C = qkv.size(2) / 3;
  cpu::attention_forward(out.ptr<T>(), state.ptr<T>(), qkv.ptr<T>(), B, Tlen, C, NH);
}

template <typename T>
void CpuBackend<T>::attention_backward(Tensor dqkv, Tensor scratch, Tensor dout, Tensor qkv,
                                       Tensor /*out: the CPU reads the saved probabilities*/,
                                       Tensor state, int NH) {
  check_attention_backward(*this, dqkv, scratch, dout, qkv, state, NH);
  const int64_t B = qkv.size(0), Tlen = qkv.size(1), C = qkv.size(2) / 3;
  cpu::attention_backward(dqkv.ptr<T>(), scratch.ptr<T>(), dout.ptr<T>(), qkv.ptr<T>(),
                          state.ptr<T>(), B, Tlen, C, NH);
}

template <typename T>
void CpuBackend<T>::attention_forward_cached(Tensor out, Tensor k_cache, Tensor v_cache,
                                             Tensor qkv, int NH, int pos0) {
  check_attention_forward_cached(*this, out, k_cache, v_cache, qkv, NH, pos0);
  const int64_t B = qkv.size(0), Tn = qkv.size(1), C = qkv.size(2) / 3, maxT = k_cache.size(2);
  cpu::attention_forward_cached(out.ptr<T>(), k_cache.ptr<T>(), v_cache.ptr<T>(), qkv.ptr<T>(), B,
                                Tn, C, NH, maxT, pos0);
}

// ---- gelu, residual ----

template <typename T> void CpuBackend<T>::gelu_forward(Tensor out, Tensor inp) {
  check_gelu_forward(*this, out, inp);
  cpu::gelu_forward(out.ptr<T>(), inp.ptr<T>(), inp.numel());
}

template <typename T> void CpuBackend<T>::gelu_backward(Tensor dinp, Tensor inp, Tensor dout) {
  check_gelu_backward(*this, dinp, inp, dout);
  cpu::gelu_backward(dinp.ptr<T>(), inp.ptr<T>(), dout.ptr<T>(), inp.numel());
}

template <typename T> void CpuBackend<T>::residual_forward(Tensor out, Tensor a, Tensor b) {
  check_residual_forward(*this, out, a, b);
  cpu::residual_forward(out.ptr<T>(), a.ptr<T>(), b.ptr<T>(), a.numel());
}

template <typename T> void CpuBackend<T>::residual_backward(Tensor da, Tensor db, Tensor dout) {
  check_residual_backward(*this, da, db, dout);
  cpu::residual_backward(da.ptr<T>(), db.ptr<T>(), dout.ptr<T>(), dout.numel());
}

// ---- classifier ----

template <typename T>
void CpuBackend<T>::classifier_forward(Tensor losses, Tensor logits, Tensor targets, int V,
                                       double dloss) {
  check_classifier_forward(*this, losses, logits, targets, V);
  // The targets are on the host here, so they are range-checked too.
  const char* op = "classifier_forward";
  const int64_t N = logits.rows(), Vp = logits.last_dim();
  const int32_t* y = targets.ptr<int32_t>();
  for (int64_t n = 0; n < N; n++)
    check(y[n] >= 0 && y[n] < V, std::string(op) + ": target " + std::to_string(y[n]) +
                                     " at index " + std::to_string(n) + " is outside [0, V = " +
                                     std::to_string(V) + ")");
  cpu::classifier_forward(losses.ptr<T>(), logits.ptr<T>(), y, static_cast<T>(dloss), N,
                          static_cast<int64_t>(V), Vp);
}

// ---- optimizer ----

template <typename T>
void CpuBackend<T>::adamw_update(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor master,
                                 const AdamWSettings& s, double grad_scale) {
  check_adamw_update(*this, param, grad, m, v, master, s);
  const int64_t N = param.numel();
  // On the CPU the parameters are the master weights; a master copy, if given, is updated and
  // then copied into param.
  T* target = master.empty() ? param.ptr<T>() : master.ptr<T>();
  cpu::adamw_update(target, grad.ptr<T>(), m.ptr<T>(), v.ptr<T>(), s.learning_rate, s.beta1,
                    s.beta2, s.eps, s.weight_decay, s.step, grad_scale, N);
  if (!master.empty()) std::memcpy(param.data, master.data, param.nbytes());
}

template <typename T> double CpuBackend<T>::sum_of_squares(Tensor t) {
  check_sum_of_squares(*this, t);
  return cpu::sum_of_squares(t.ptr<T>(), t.numel());
}

template class CpuBackend<float>;
template class CpuBackend<double>;

// ---- factory (declared in backend.hpp; make_backend is in llm/backend/make_backend.cpp) ----

std::unique_ptr<Backend> make_cpu_backend(DType dtype) {
  switch (dtype) {
    case DType::f32: return std::make_unique<CpuBackend<float>>();
    case DType::f64: return std::make_unique<CpuBackend<double>>();
    default:
      throw Error(std::string("the CPU backend runs in f32 or f64, not ") + dtype_name(dtype));
  }
}

}  // namespace llm
