#pragma once
// defines: llm::Backend, the seam between the model's math and the hardware that runs it.
//
// The GPT model (llm/model/gpt.cpp) is written once, as a sequence of calls on a Backend&. The CPU
// backend (llm/backend/cpu/, Eigen) is the reference; the CUDA backend (kernels/) implements the
// same ops with the same names and argument order, and every CUDA op is tested against its CPU
// twin.
//
// Conventions for every op:
// - argument order: outputs, then inputs, then sizes (as in llm.c);
// - tensors are row-major views; "N" means all leading dimensions folded, e.g. (B, T, C) -> (B*T,
// C);
// - every *_backward ACCUMULATES (+=) into all of its gradient outputs, parameter and activation
//   alike. The model zeroes the gradients once before a backward pass; accumulation is what makes
//   residual branches and gradient accumulation over micro-steps free.
// - dtypes: weights, activations and their gradients are dtype(); the statistics an op saves for
//   its backward (layernorm means and rstds, the attention state) and the per-token losses are
//   master_dtype(), so a bf16 backend keeps them in f32. Token ids and targets are i32.
// - ops are queued in order on the device; copy_to_host and sum_of_squares wait for the queue, and
//   synchronize() waits for everything queued so far (for timing).
//
// Shape legend: B = batch, T = time (sequence), C = channels, NH = heads, hs = C / NH head size,
// V = real vocabulary, Vp = vocabulary padded to a multiple of 128, OC = output channels.
#include <cstdint>
#include <memory>
#include <string>

#include "llm/core/rope_frequencies.hpp"
#include "llm/core/tensor.hpp"

namespace llm {

// Scalars are double so an f64 backend is exact; a backend rounds them to its own precision.
struct AdamWSettings {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.0;  // already 0 for tensors that are not decayed (biases, layernorms)
  int64_t step = 1;           // 1-based, for the bias corrections 1 - beta^step
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual Device device() const = 0;
  // The dtype of parameters and activations (f32 on the CPU, f64 for gradient checks, bf16 on
  // GPUs).
  virtual DType dtype() const = 0;
  // The dtype of optimizer moments and master weights (f32, or f64 when dtype() is f64).
  virtual DType master_dtype() const = 0;
  virtual const char* name() const = 0;
  // The hardware in words (e.g. "NVIDIA H100 80GB HBM3, 132 SMs"), and its peak dense FLOP/s in
  // dtype() on matrix products (tensor cores on a GPU), 0 when unknown: the denominator of MFU.
  virtual std::string description() const { return name(); }
  virtual double peak_flops() const { return 0; }

  // ---- memory: used only by Arena, at set-up, never per step ----
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* ptr) = 0;
  // True when allocate() returns zeroed memory, so an Arena need not zero it again: on the CPU,
  // untouched zero pages cost neither time nor resident memory until they are first written (the
  // gradients of a model that only samples never are).
  virtual bool allocates_zeroed() const { return false; }
  virtual void zero(Tensor t) = 0;
  // Host <-> device copies of whole tensors; `host` points to t.nbytes() bytes of t.dtype.
  virtual void copy_to_host(void* host, Tensor src) = 0;
  virtual void copy_from_host(Tensor dst, const void* host) = 0;
  // Element-wise dst = src, converting dtype (e.g. f32 master weights -> bf16 weights).
  virtual void convert(Tensor dst, Tensor src) = 0;
  // Waits until every op queued so far has finished (a no-op on the CPU, which runs them in order).
  virtual void synchronize() {}

  // ==== the ops ====
  // Every pure virtual function below is an op, and the static check_<op> under it its argument
  // check: the backend, then exactly the op's arguments (defined in llm/backend/op_checks.cpp).
  // Every backend calls it first. It checks what this header asks of the arguments on every
  // backend: each tensor non-empty and on be.device(); weights, activations and their gradients in
  // be.dtype(); the statistics, losses, AdamW's moments and master weights in be.master_dtype();
  // token ids and targets i32; the shapes. It throws llm::Error "<op>: <tensor> <what is wrong>",
  // e.g. "layernorm_forward: mean is bf16, expected f32". What is a backend's own it checks after
  // (the CPU range-checks token ids, the CUDA kernels need 16-byte alignment and supported head
  // sizes). scripts/gen_forwarding_backend.py forwards every op, with its check, to the wrappers
  // (the generated llm/backend/forwarding_backend.hpp in the build tree). llm/backend/README.md:
  // how to add an op.

  // ---- token + position embedding ----
  // out[b,t,:] = wte[tokens[b,t],:] + wpe[pos0 + t,:]
  // out (B, T, C), tokens (B, T) i32, wte (Vp, C), wpe (maxT, C); pos0 > 0 when decoding with a
  // cache. wpe (and in the backward dwpe) is empty for a model without learned positions (rope):
  // then out is the token embedding alone.
  virtual void encoder_forward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int pos0) = 0;
  static void check_encoder_forward(const Backend& be, Tensor out, Tensor tokens, Tensor wte,
                                    Tensor wpe, int pos0);
  virtual void encoder_backward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens) = 0;
  static void check_encoder_backward(const Backend& be, Tensor dwte, Tensor dwpe, Tensor dout,
                                     Tensor tokens);

  // ---- layernorm over the last dimension, eps = 1e-5 ----
  // out = (inp - mean) * rstd * weight + bias; mean and rstd (N) are saved for the backward.
  // out, inp (N, C); mean, rstd (N); weight, bias (C)
  virtual void layernorm_forward(Tensor out, Tensor mean, Tensor rstd, Tensor inp, Tensor weight,
                                 Tensor bias) = 0;
  static void check_layernorm_forward(const Backend& be, Tensor out, Tensor mean, Tensor rstd,
                                      Tensor inp, Tensor weight, Tensor bias);
  virtual void layernorm_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout,
                                  Tensor inp, Tensor weight, Tensor mean, Tensor rstd) = 0;
  static void check_layernorm_backward(const Backend& be, Tensor dinp, Tensor dweight, Tensor dbias,
                                       Tensor dout, Tensor inp, Tensor weight, Tensor mean,
                                       Tensor rstd);

  // ---- RMSNorm over the last dimension (Zhang & Sennrich 2019; Llama) ----
  // out = inp * rstd * weight, rstd = 1 / sqrt(mean_c(inp^2) + eps); rstd (N) is saved.
  // out, inp (N, C); rstd (N) in master_dtype(); weight (C).
  virtual void rmsnorm_forward(Tensor out, Tensor rstd, Tensor inp, Tensor weight, double eps) = 0;
  static void check_rmsnorm_forward(const Backend& be, Tensor out, Tensor rstd, Tensor inp,
                                    Tensor weight, double eps);
  virtual void rmsnorm_backward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp, Tensor weight,
                                Tensor rstd) = 0;
  static void check_rmsnorm_backward(const Backend& be, Tensor dinp, Tensor dweight, Tensor dout,
                                     Tensor inp, Tensor weight, Tensor rstd);

  // ---- rotary position embedding, RoPE (Su et al. 2021), rotate-half as in HF Llama ----
  // Each row of inp (B, T, W) holds heads of hs channels; the first n_rotated heads (q's and k's
  // inside qkv) are rotated by their position p = pos0 + t, the rest (v) copied. Within a head,
  // channel i and i + hs/2 (i < hs/2) turn together by the angle p * f_i, f_i =
  // frequencies.inverse_frequency(i, hs) (theta^(-2i/hs), or Llama 3.1's rescaling of it):
  //   out[i]        = x[i] cos - x[i + hs/2] sin
  //   out[i + hs/2] = x[i + hs/2] cos + x[i] sin
  // out (B, T, W) may be inp itself (in place). The backward turns dout back by -angle and
  // ACCUMULATES it into dinp.
  virtual void rope_forward(Tensor out, Tensor inp, int hs, int n_rotated, int pos0,
                            RopeFrequencies frequencies) = 0;
  static void check_rope_forward(const Backend& be, Tensor out, Tensor inp, int hs, int n_rotated,
                                 int pos0, RopeFrequencies frequencies);
  virtual void rope_backward(Tensor dinp, Tensor dout, int hs, int n_rotated, int pos0,
                             RopeFrequencies frequencies) = 0;
  static void check_rope_backward(const Backend& be, Tensor dinp, Tensor dout, int hs,
                                  int n_rotated, int pos0, RopeFrequencies frequencies);

  // ---- QK-norm: RMSNorm of every query and key head (OLMo 2, Qwen3, nanochat) ----
  // inp (B, T, (NH + 2 NKV) hs) is qkv: NH query heads, then NKV key heads, then NKV value heads.
  // Each query head x (hs channels) becomes x * rstd * q_weight, each key head x * rstd * k_weight,
  // rstd = 1 / sqrt(mean_i(x[i]^2) + eps); the value heads are copied. q_weight and k_weight (hs)
  // are shared by all heads (as in Qwen3). rstd (B, T, NH + NKV) in master_dtype() is saved, one
  // per normalised head. out has inp's shape and must not be inp: the backward reads inp.
  // Why: the attention logits q.k are then bounded by |q_weight| |k_weight| hs, so they cannot grow
  // without limit during training (the instability OLMo 2 and Dehghani et al. 2023 remove with it).
  virtual void qk_norm_forward(Tensor out, Tensor rstd, Tensor inp, Tensor q_weight,
                               Tensor k_weight, int NH, double eps) = 0;
  static void check_qk_norm_forward(const Backend& be, Tensor out, Tensor rstd, Tensor inp,
                                    Tensor q_weight, Tensor k_weight, int NH, double eps);
  // dinp (B, T, QKV) += d out / d inp (dout copied into the value heads); dq_weight, dk_weight
  // (hs) += the sums over rows and heads of dout * x * rstd.
  virtual void qk_norm_backward(Tensor dinp, Tensor dq_weight, Tensor dk_weight, Tensor dout,
                                Tensor inp, Tensor q_weight, Tensor k_weight, Tensor rstd,
                                int NH) = 0;
  static void check_qk_norm_backward(const Backend& be, Tensor dinp, Tensor dq_weight,
                                     Tensor dk_weight, Tensor dout, Tensor inp, Tensor q_weight,
                                     Tensor k_weight, Tensor rstd, int NH);

  // ---- matmul with bias: out = inp @ weight^T + bias ----
  // out (N, OC), inp (N, C), weight (OC, C) (PyTorch nn.Linear layout), bias (OC) or empty.
  virtual void matmul_forward(Tensor out, Tensor inp, Tensor weight, Tensor bias) = 0;
  static void check_matmul_forward(const Backend& be, Tensor out, Tensor inp, Tensor weight,
                                   Tensor bias);
  // dinp (N, C) += dout @ weight; dweight (OC, C) += dout^T @ inp; dbias (OC) += sum_n dout
  // (dbias may be empty when the forward had no bias; dinp may be empty when the input needs no
  // gradient, e.g. the token ids' embedding is reached through another path).
  virtual void matmul_backward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                               Tensor weight) = 0;
  static void check_matmul_backward(const Backend& be, Tensor dinp, Tensor dweight, Tensor dbias,
                                    Tensor dout, Tensor inp, Tensor weight);

  // ---- causal multi-head self-attention, grouped-query when NKV < NH ----
  // qkv (B, T, (NH + 2 NKV) hs) holds q (NH heads of hs channels), then k and v (NKV heads each);
  // hs = C / NH with C the channels of out. Query head h reads key/value head h / (NH / NKV).
  // NKV is read from the shapes: NKV = NH (qkv (B, T, 3C)) is ordinary multi-head attention.
  // out (B, T, C) = concat over heads of softmax(q k^T / sqrt(hs), causal) v.
  // `state` is whatever the backend saves for the backward, shaped by attention_state_shape():
  // the CPU keeps the probabilities (B, NH, T, T); a flash kernel keeps log-sum-exps (B, NH, T).
  virtual Shape attention_state_shape(int B, int T, int NH) const = 0;
  virtual void attention_forward(Tensor out, Tensor state, Tensor qkv, int NH) = 0;
  static void check_attention_forward(const Backend& be, Tensor out, Tensor state, Tensor qkv,
                                      int NH);
  // `out` is the forward's output; `scratch` has the state's shape and holds intermediate
  // gradients (d scores on the CPU; rowsum(dout * out) for a flash kernel).
  virtual void attention_backward(Tensor dqkv, Tensor scratch, Tensor dout, Tensor qkv, Tensor out,
                                  Tensor state, int NH) = 0;
  // Its check leaves `out` alone: only a backend that reads it (a flash kernel) checks it.
  static void check_attention_backward(const Backend& be, Tensor dqkv, Tensor scratch, Tensor dout,
                                       Tensor qkv, Tensor out, Tensor state, int NH);
  // Inference with a KV cache: the Tn new positions pos0 .. pos0+Tn-1 of qkv (B, Tn, QKV) write
  // their keys and values into k_cache, v_cache (B, NKV, maxT, hs) and attend causally to all
  // keys 0 .. pos0+Tn-1. out (B, Tn, C).
  virtual void attention_forward_cached(Tensor out, Tensor k_cache, Tensor v_cache, Tensor qkv,
                                        int NH, int pos0) = 0;
  static void check_attention_forward_cached(const Backend& be, Tensor out, Tensor k_cache,
                                             Tensor v_cache, Tensor qkv, int NH, int pos0);

  // ---- GELU, tanh approximation as in GPT-2 ----
  // gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  virtual void gelu_forward(Tensor out, Tensor inp) = 0;
  static void check_gelu_forward(const Backend& be, Tensor out, Tensor inp);
  virtual void gelu_backward(Tensor dinp, Tensor inp, Tensor dout) = 0;
  static void check_gelu_backward(const Backend& be, Tensor dinp, Tensor inp, Tensor dout);

  // ---- SwiGLU (Shazeer 2020; Llama's MLP) ----
  // inp (N, 2H) holds gate [0, H) and up [H, 2H); out (N, H) = silu(gate) * up,
  // silu(g) = g * sigmoid(g).
  virtual void swiglu_forward(Tensor out, Tensor inp) = 0;
  static void check_swiglu_forward(const Backend& be, Tensor out, Tensor inp);
  virtual void swiglu_backward(Tensor dinp, Tensor inp, Tensor dout) = 0;
  static void check_swiglu_backward(const Backend& be, Tensor dinp, Tensor inp, Tensor dout);

  // ---- squared ReLU (So et al. 2021, Primer; the MLP of modded-nanogpt and nanochat) ----
  // relu2(x) = max(x, 0)^2, element-wise; relu2'(x) = 2 max(x, 0). out, inp of one size (any
  // shape); the backward: dinp += 2 max(inp, 0) * dout.
  virtual void relu2_forward(Tensor out, Tensor inp) = 0;
  static void check_relu2_forward(const Backend& be, Tensor out, Tensor inp);
  virtual void relu2_backward(Tensor dinp, Tensor inp, Tensor dout) = 0;
  static void check_relu2_backward(const Backend& be, Tensor dinp, Tensor inp, Tensor dout);

  // ---- residual: out = a + b; backward adds dout to both ----
  virtual void residual_forward(Tensor out, Tensor a, Tensor b) = 0;
  static void check_residual_forward(const Backend& be, Tensor out, Tensor a, Tensor b);
  virtual void residual_backward(Tensor da, Tensor db, Tensor dout) = 0;
  static void check_residual_backward(const Backend& be, Tensor da, Tensor db, Tensor dout);

  // ---- fused classifier: softmax + cross-entropy (+ its gradient) in one pass ----
  // logits (N, Vp); only the first V columns are real (the rest is padding and gets gradient 0).
  // losses (N) = -log softmax(logits)[target]. If dloss != 0, logits is overwritten in place with
  // dlogits = dloss * (softmax - onehot(target)), so probabilities are never stored.
  // targets (N) i32, each in [0, V).
  virtual void classifier_forward(Tensor losses, Tensor logits, Tensor targets, int V,
                                  double dloss) = 0;
  // The targets' range [0, V) is not checked: they may be on the device. Any dloss is valid.
  static void check_classifier_forward(const Backend& be, Tensor losses, Tensor logits,
                                       Tensor targets, int V, double dloss);

  // ---- optimizer ----
  // AdamW (Loshchilov & Hutter) on one tensor; m, v and (if non-empty) master are master_dtype().
  //   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
  //   p -= lr * ( m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps) + wd * p )
  // `grad_scale` multiplies the gradient first (global-norm clipping). With a `master` copy the
  // update is applied to master and param receives master converted to param's dtype.
  virtual void adamw_update(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor master,
                            const AdamWSettings& settings, double grad_scale) = 0;
  // master may be empty (a backend that needs it checks that itself). Any grad_scale is valid.
  static void check_adamw_update(const Backend& be, Tensor param, Tensor grad, Tensor m, Tensor v,
                                 Tensor master, const AdamWSettings& settings, double grad_scale);
  // Sum of squares of every element, accumulated in double: the global norm is sqrt of the sum of
  // this over all gradient tensors.
  virtual double sum_of_squares(Tensor t) = 0;
  // t is a gradient (dtype()) or a master weight (master_dtype()).
  static void check_sum_of_squares(const Backend& be, Tensor t);

  // ---- element-wise linear combination (Muon: momentum and the Newton-Schulz iteration) ----
  // out = alpha * a + beta * b, element by element; out, a and b have one number of elements, each
  // in dtype() or master_dtype() (one dtype on the CPU; on the GPU Muon adds a bf16 gradient to its
  // f32 momentum). Computed in master_dtype() with alpha and beta rounded to it, then rounded once
  // to out's dtype. out may be a or b (in place; then in the same dtype).
  virtual void scale_add(Tensor out, double alpha, Tensor a, double beta, Tensor b) = 0;
  // out, a and b each in dtype() or master_dtype(), one number of elements; out may be a or b only
  // in the same dtype. alpha and beta may be any number.
  static void check_scale_add(const Backend& be, Tensor out, double alpha, Tensor a, double beta,
                              Tensor b);
};

// The CPU backend in f32 (training) or f64 (gradient checks).
std::unique_ptr<Backend> make_cpu_backend(DType dtype = DType::f32);
// The CUDA backend (kernels/) in bf16 with f32 master weights, on the current GPU; throws
// llm::Error saying why when this build has no CUDA backend or the machine no usable GPU.
std::unique_ptr<Backend> make_cuda_backend();
// Whether make_cuda_backend() can succeed here; if not, `why` says why (no CUDA build, no GPU).
bool cuda_available(std::string* why = nullptr);
// "cpu" or "cuda"; throws llm::Error naming the device when this build cannot provide it.
std::unique_ptr<Backend> make_backend(const std::string& device);

}  // namespace llm
