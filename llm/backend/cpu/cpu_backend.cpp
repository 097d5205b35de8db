#include "llm/backend/cpu/cpu_backend.hpp"

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

template <typename T> void* CpuBackend<T>::allocate(size_t bytes) {
  constexpr size_t kAlign = 64;
  const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;  // aligned_alloc needs a multiple
  void* ptr = std::aligned_alloc(kAlign, rounded ? rounded : kAlign);
  check(ptr != nullptr, "cpu backend: out of memory allocating " + std::to_string(bytes) + " bytes");
  return ptr;
}

template <typename T> void CpuBackend<T>::release(void* ptr) { std::free(ptr); }

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
  const char* op = "encoder_forward";
  const DType dt = dtype_of<T>();
  expect_tensor(op, "out", out, dt, Device::cpu);
  expect_tensor(op, "tokens", tokens, DType::i32, Device::cpu);
  expect_tensor(op, "wte", wte, dt, Device::cpu);
  expect_tensor(op, "wpe", wpe, dt, Device::cpu);
  expect_rank(op, "tokens", tokens, 2);
  expect_rank(op, "wte", wte, 2);
  expect_rank(op, "wpe", wpe, 2);
  const int64_t B = tokens.size(0), Tlen = tokens.size(1), Vp = wte.size(0), C = wte.size(1);
  const int64_t maxT = wpe.size(0);
  expect_rows_cols(op, "out", out, B * Tlen, C);
  expect_rows_cols(op, "wpe", wpe, maxT, C);
  check(pos0 >= 0 && pos0 + Tlen <= maxT,
        std::string(op) + ": positions " + std::to_string(pos0) + " .. " +
            std::to_string(pos0 + Tlen - 1) + " exceed the " + std::to_string(maxT) +
            " learned positions");
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
  const char* op = "encoder_backward";
  const DType dt = dtype_of<T>();
  expect_tensor(op, "dwte", dwte, dt, Device::cpu);
  expect_tensor(op, "dwpe", dwpe, dt, Device::cpu);
  expect_tensor(op, "dout", dout, dt, Device::cpu);
  expect_tensor(op, "tokens", tokens, DType::i32, Device::cpu);
  expect_rank(op, "tokens", tokens, 2);
  expect_rank(op, "dwte", dwte, 2);
  expect_rank(op, "dwpe", dwpe, 2);
  const int64_t B = tokens.size(0), Tlen = tokens.size(1), Vp = dwte.size(0), C = dwte.size(1);
  expect_rows_cols(op, "dout", dout, B * Tlen, C);
  check(dwpe.size(1) == C && dwpe.size(0) >= Tlen,
        std::string(op) + ": dwpe has shape " + dwpe.shape.str() + ", expected (maxT >= " +
            std::to_string(Tlen) + ", " + std::to_string(C) + ")");
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
  const char* op = "layernorm_forward";
  const DType dt = dtype_of<T>();
  for (auto [name, t] : {std::pair{"out", out}, {"mean", mean}, {"rstd", rstd}, {"inp", inp},
                         {"weight", weight}, {"bias", bias}})
    expect_tensor(op, name, t, dt, Device::cpu);
  const int64_t N = inp.rows(), C = inp.last_dim();
  expect_rows_cols(op, "out", out, N, C);
  expect_numel(op, "mean", mean, N, "N");
  expect_numel(op, "rstd", rstd, N, "N");
  expect_numel(op, "weight", weight, C, "C");
  expect_numel(op, "bias", bias, C, "C");
  cpu::layernorm_forward(out.ptr<T>(), mean.ptr<T>(), rstd.ptr<T>(), inp.ptr<T>(), weight.ptr<T>(),
                         bias.ptr<T>(), N, C);
}

template <typename T>
void CpuBackend<T>::layernorm_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout,
                                       Tensor inp, Tensor weight, Tensor mean, Tensor rstd) {
  const char* op = "layernorm_backward";
  const DType dt = dtype_of<T>();
  for (auto [name, t] : {std::pair{"dinp", dinp}, {"dweight", dweight}, {"dbias", dbias},
                         {"dout", dout}, {"inp", inp}, {"weight", weight}, {"mean", mean},
                         {"rstd", rstd}})
    expect_tensor(op, name, t, dt, Device::cpu);
  const int64_t N = inp.rows(), C = inp.last_dim();
  expect_rows_cols(op, "dinp", dinp, N, C);
  expect_rows_cols(op, "dout", dout, N, C);
  expect_numel(op, "dweight", dweight, C, "C");
  expect_numel(op, "dbias", dbias, C, "C");
  expect_numel(op, "weight", weight, C, "C");
  expect_numel(op, "mean", mean, N, "N");
  expect_numel(op, "rstd", rstd, N, "N");
  cpu::layernorm_backward(dinp.ptr<T>(), dweight.ptr<T>(), dbias.ptr<T>(), dout.ptr<T>(),
                          inp.ptr<T>(), weight.ptr<T>(), mean.ptr<T>(), rstd.ptr<T>(), N, C);
}

// ---- matmul ----

template <typename T>
void CpuBackend<T>::matmul_forward(Tensor out, Tensor inp, Tensor weight, Tensor bias) {
  const char* op = "matmul_forward";
  const DType dt = dtype_of<T>();
  expect_tensor(op, "out", out, dt, Device::cpu);
  expect_tensor(op, "inp", inp, dt, Device::cpu);
  expect_tensor(op, "weight", weight, dt, Device::cpu);
  expect_rank(op, "weight", weight, 2);
  const int64_t N = inp.rows(), C = inp.last_dim(), OC = weight.size(0);
  expect_rows_cols(op, "weight", weight, OC, C);
  expect_rows_cols(op, "out", out, N, OC);
  if (!bias.empty()) {
    expect_tensor(op, "bias", bias, dt, Device::cpu);
    expect_numel(op, "bias", bias, OC, "OC");
  }
  cpu::matmul_forward(out.ptr<T>(), inp.ptr<T>(), weight.ptr<T>(),
                      bias.empty() ? nullptr : bias.ptr<T>(), N, C, OC);
}

template <typename T>
void CpuBackend<T>::matmul_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout,
                                    Tensor inp, Tensor weight) {
  const char* op = "matmul_backward";
  const DType dt = dtype_of<T>();
  expect_tensor(op, "dweight", dweight, dt, Device::cpu);
  expect_tensor(op, "dout", dout, dt, Device::cpu);
  expect_tensor(op, "inp", inp, dt, Device::cpu);
  expect_tensor(op, "weight", weight, dt, Device::cpu);
  expect_rank(op, "weight", weight, 2);
  const int64_t N = inp.rows(), C = inp.last_dim(), OC = weight.size(0);
  expect_rows_cols(op, "weight", weight, OC, C);
  expect_rows_cols(op, "dweight", dweight, OC, C);
  expect_rows_cols(op, "dout", dout, N, OC);
  if (!dinp.empty()) {
    expect_tensor(op, "dinp", dinp, dt, Device::cpu);
    expect_rows_cols(op, "dinp", dinp, N, C);
  }
  if (!dbias.empty()) {
    expect_tensor(op, "dbias", dbias, dt, Device::cpu);
    expect_numel(op, "dbias", dbias, OC, "OC");
  }
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
  const char* op = "attention_forward";
  const DType dt = dtype_of<T>();
  expect_tensor(op, "out", out, dt, Device::cpu);
  expect_tensor(op, "state", state, dt, Device::cpu);
  expect_tensor(op, "qkv", qkv, dt, Device::cpu);
  expect_rank(op, "qkv", qkv, 3);
  check(qkv.size(2) % 3 == 0, std::string(op) + ": qkv has shape " + qkv.shape.str() +
                                  ", expected (B, T, 3C)");
  const int64_t B = qkv.size(0), Tlen = qkv.size(1), C = qkv.size(2) / 3;
  expect_heads(op, C, NH);
  expect_rows_cols(op, "out", out, B * Tlen, C);
  expect_numel(op, "state", state, B * NH * Tlen * Tlen, "(B, NH, T, T)");
  cpu::attention_forward(out.ptr<T>(), state.ptr<T>(), qkv.ptr<T>(), B, Tlen, C, NH);
}

template <typename T>
void CpuBackend<T>::attention_backward(Tensor dqkv, Tensor scratch, Tensor dout, Tensor qkv,
                                       Tensor /*out: the CPU reads the saved probabilities*/,
                                       Tensor state, int NH) {
  const char* op = "attention_backward";
  const DType dt = dtype_of<T>();
  for (auto [name, t] : {std::pair{"dqkv", dqkv}, {"scratch", scratch}, {"dout", dout},
                         {"qkv", qkv}, {"state", state}})
    expect_tensor(op, name, t, dt, Device::cpu);
  expect_rank(op, "qkv", qkv, 3);
  check(qkv.size(2) % 3 == 0, std::string(op) + ": qkv has shape " + qkv.shape.str() +
                                  ", expected (B, T, 3C)");
  const int64_t B = qkv.size(0), Tlen = qkv.size(1), C = qkv.size(2) / 3;
  expect_heads(op, C, NH);
  expect_rows_cols(op, "dqkv", dqkv, B * Tlen, 3 * C);
  expect_rows_cols(op, "dout", dout, B * Tlen, C);
  expect_numel(op, "state", state, B * NH * Tlen * Tlen, "(B, NH, T, T)");
  expect_numel(op, "scratch", scratch, B * NH * Tlen * Tlen, "(B, NH, T, T)");
  cpu::attention_backward(dqkv.ptr<T>(), scratch.ptr<T>(), dout.ptr<T>(), qkv.ptr<T>(),
                          state.ptr<T>(), B, Tlen, C, NH);
}

template <typename T>
void CpuBackend<T>::attention_forward_cached(Tensor out, Tensor k_cache, Tensor v_cache,
                                             Tensor qkv, int NH, int pos0) {
  const char* op = "attention_forward_cached";
  const DType dt = dtype_of<T>();
  for (auto [name, t] : {std::pair{"out", out}, {"k_cache", k_cache}, {"v_cache", v_cache},
                         {"qkv", qkv}})
    expect_tensor(op, name, t, dt, Device::cpu);
  expect_rank(op, "qkv", qkv, 3);
  expect_rank(op, "k_cache", k_cache, 4);
  check(qkv.size(2) % 3 == 0, std::string(op) + ": qkv has shape " + qkv.shape.str() +
                                  ", expected (B, Tn, 3C)");
  const int64_t B = qkv.size(0), Tn = qkv.size(1), C = qkv.size(2) / 3;
  expect_heads(op, C, NH);
  const int64_t hs = C / NH, maxT = k_cache.size(2);
  expect_rows_cols(op, "out", out, B * Tn, C);
  check(k_cache.size(0) == B && k_cache.size(1) == NH && k_cache.size(3) == hs,
        std::string(op) + ": k_cache has shape " + k_cache.shape.str() + ", expected (" +
            std::to_string(B) + ", " + std::to_string(NH) + ", maxT, " + std::to_string(hs) + ")");
  check(v_cache.shape == k_cache.shape, std::string(op) + ": v_cache has shape " +
                                            v_cache.shape.str() + ", k_cache " +
                                            k_cache.shape.str());
  check(pos0 >= 0 && pos0 + Tn <= maxT,
        std::string(op) + ": positions " + std::to_string(pos0) + " .. " +
            std::to_string(pos0 + Tn - 1) + " do not fit in a cache of " + std::to_string(maxT));
  cpu::attention_forward_cached(out.ptr<T>(), k_cache.ptr<T>(), v_cache.ptr<T>(), qkv.ptr<T>(), B,
                                Tn, C, NH, maxT, pos0);
}

// ---- gelu, residual ----

template <typename T> void CpuBackend<T>::gelu_forward(Tensor out, Tensor inp) {
  const DType dt = dtype_of<T>();
  expect_tensor("gelu_forward", "out", out, dt, Device::cpu);
  expect_tensor("gelu_forward", "inp", inp, dt, Device::cpu);
  expect_numel("gelu_forward", "out", out, inp.numel(), "inp's " + inp.shape.str());
  cpu::gelu_forward(out.ptr<T>(), inp.ptr<T>(), inp.numel());
}

template <typename T> void CpuBackend<T>::gelu_backward(Tensor dinp, Tensor inp, Tensor dout) {
  const char* op = "gelu_backward";
  const DType dt = dtype_of<T>();
  expect_tensor(op, "dinp", dinp, dt, Device::cpu);
  expect_tensor(op, "inp", inp, dt, Device::cpu);
  expect_tensor(op, "dout", dout, dt, Device::cpu);
  expect_numel(op, "dinp", dinp, inp.numel(), "inp's " + inp.shape.str());
  expect_numel(op, "dout", dout, inp.numel(), "inp's " + inp.shape.str());
  cpu::gelu_backward(dinp.ptr<T>(), inp.ptr<T>(), dout.ptr<T>(), inp.numel());
}

template <typename T> void CpuBackend<T>::residual_forward(Tensor out, Tensor a, Tensor b) {
  const char* op = "residual_forward";
  const DType dt = dtype_of<T>();
  expect_tensor(op, "out", out, dt, Device::cpu);
  expect_tensor(op, "a", a, dt, Device::cpu);
  expect_tensor(op, "b", b, dt, Device::cpu);
  expect_numel(op, "out", out, a.numel(), "a's " + a.shape.str());
  expect_numel(op, "b", b, a.numel(), "a's " + a.shape.str());
  cpu::residual_forward(out.ptr<T>(), a.ptr<T>(), b.ptr<T>(), a.numel());
}

template <typename T> void CpuBackend<T>::residual_backward(Tensor da, Tensor db, Tensor dout) {
  const char* op = "residual_backward";
  const DType dt = dtype_of<T>();
  expect_tensor(op, "da", da, dt, Device::cpu);
  expect_tensor(op, "db", db, dt, Device::cpu);
  expect_tensor(op, "dout", dout, dt, Device::cpu);
  expect_numel(op, "da", da, dout.numel(), "dout's " + dout.shape.str());
  expect_numel(op, "db", db, dout.numel(), "dout's " + dout.shape.str());
  cpu::residual_backward(da.ptr<T>(), db.ptr<T>(), dout.ptr<T>(), dout.numel());
}

// ---- classifier ----

template <typename T>
void CpuBackend<T>::classifier_forward(Tensor losses, Tensor logits, Tensor targets, int V,
                                       double dloss) {
  const char* op = "classifier_forward";
  const DType dt = dtype_of<T>();
  expect_tensor(op, "losses", losses, dt, Device::cpu);
  expect_tensor(op, "logits", logits, dt, Device::cpu);
  expect_tensor(op, "targets", targets, DType::i32, Device::cpu);
  const int64_t N = logits.rows(), Vp = logits.last_dim();
  check(V > 0 && V <= Vp, std::string(op) + ": V = " + std::to_string(V) +
                              " real columns, but logits has shape " + logits.shape.str());
  expect_numel(op, "losses", losses, N, "N");
  expect_numel(op, "targets", targets, N, "N");
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
  const char* op = "adamw_update";
  const DType dt = dtype_of<T>();
  for (auto [name, t] : {std::pair{"param", param}, {"grad", grad}, {"m", m}, {"v", v}})
    expect_tensor(op, name, t, dt, Device::cpu);
  const int64_t N = param.numel();
  const std::string param_shape = "param's " + param.shape.str();
  expect_numel(op, "grad", grad, N, param_shape);
  expect_numel(op, "m", m, N, param_shape);
  expect_numel(op, "v", v, N, param_shape);
  check(s.step >= 1, std::string(op) + ": step is " + std::to_string(s.step) + ", must be >= 1");
  // On the CPU the parameters are the master weights; a master copy, if given, is updated and
  // then copied into param.
  T* target = param.ptr<T>();
  if (!master.empty()) {
    expect_tensor(op, "master", master, dt, Device::cpu);
    expect_numel(op, "master", master, N, param_shape);
    target = master.ptr<T>();
  }
  cpu::adamw_update(target, grad.ptr<T>(), m.ptr<T>(), v.ptr<T>(), s.learning_rate, s.beta1,
                    s.beta2, s.eps, s.weight_decay, s.step, grad_scale, N);
  if (!master.empty()) std::memcpy(param.data, master.data, param.nbytes());
}

template <typename T> double CpuBackend<T>::sum_of_squares(Tensor t) {
  expect_tensor("sum_of_squares", "t", t, dtype_of<T>(), Device::cpu);
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
