#pragma once
// defines: the argument checks every backend op starts with (CPU and CUDA alike).
//
// Each throws llm::Error with a message of the form "<op>: <tensor> <what is wrong>", e.g.
// "layernorm_forward: mean is bf16, expected f32", so a wrong call names itself.
//
// check_<op>(backend, <the op's arguments>) checks what llm/backend/backend.hpp asks of that op's
// arguments on every backend: each tensor non-empty and on backend.device(); weights, activations
// and their gradients in backend.dtype(); the statistics (layernorm mean and rstd, the attention
// state and its scratch, the losses) and AdamW's moments and master weights in
// backend.master_dtype(); token ids and targets i32; and the shapes. A backend calls it first and
// then checks only what is its own: the CPU range-checks the token ids and targets (it can read
// them), the CUDA kernels need 16-byte alignment, supported head sizes, a master copy for AdamW.
#include <cstdint>
#include <string>

#include "llm/backend/backend.hpp"
#include "llm/core/tensor.hpp"

namespace llm {

// ---- one check per op, taking exactly the op's arguments ----
// (so a wrapper can run the check of any op: llm/backend/forwarding_backend.hpp)

// wpe (dwpe) may be empty: a model without learned positions.
void check_encoder_forward(const Backend& be, Tensor out, Tensor tokens, Tensor wte, Tensor wpe,
                           int pos0);
void check_encoder_backward(const Backend& be, Tensor dwte, Tensor dwpe, Tensor dout,
                            Tensor tokens);

void check_layernorm_forward(const Backend& be, Tensor out, Tensor mean, Tensor rstd, Tensor inp,
                             Tensor weight, Tensor bias);
void check_layernorm_backward(const Backend& be, Tensor dinp, Tensor dweight, Tensor dbias,
                              Tensor dout, Tensor inp, Tensor weight, Tensor mean, Tensor rstd);

// bias may be empty; in the backward dinp and dbias may be empty.
void check_matmul_forward(const Backend& be, Tensor out, Tensor inp, Tensor weight, Tensor bias);
void check_matmul_backward(const Backend& be, Tensor dinp, Tensor dweight, Tensor dbias,
                           Tensor dout, Tensor inp, Tensor weight);

// qkv (B, T, (NH + 2 NKV) hs) with C = NH hs the channels of out (dout); NKV read from the shapes.
// state and scratch have be.attention_state_shape(B, T, NH) elements. The backward's `out` is not
// checked here: only a backend that reads it (a flash kernel) checks it.
void check_attention_forward(const Backend& be, Tensor out, Tensor state, Tensor qkv, int NH);
void check_attention_backward(const Backend& be, Tensor dqkv, Tensor scratch, Tensor dout,
                              Tensor qkv, Tensor out, Tensor state, int NH);
void check_attention_forward_cached(const Backend& be, Tensor out, Tensor k_cache, Tensor v_cache,
                                    Tensor qkv, int NH, int pos0);

void check_rmsnorm_forward(const Backend& be, Tensor out, Tensor rstd, Tensor inp, Tensor weight,
                           double eps);
void check_rmsnorm_backward(const Backend& be, Tensor dinp, Tensor dweight, Tensor dout, Tensor inp,
                            Tensor weight, Tensor rstd);

void check_rope_forward(const Backend& be, Tensor out, Tensor inp, int hs, int n_rotated, int pos0,
                        RopeFrequencies frequencies);
void check_rope_backward(const Backend& be, Tensor dinp, Tensor dout, int hs, int n_rotated,
                         int pos0, RopeFrequencies frequencies);

// inp (B, T, (NH + 2 NKV) hs) with hs = q_weight's size and NKV >= 1 read from the shapes;
// rstd (B, T, NH + NKV); out not aliasing inp.
void check_qk_norm_forward(const Backend& be, Tensor out, Tensor rstd, Tensor inp, Tensor q_weight,
                           Tensor k_weight, int NH, double eps);
void check_qk_norm_backward(const Backend& be, Tensor dinp, Tensor dq_weight, Tensor dk_weight,
                            Tensor dout, Tensor inp, Tensor q_weight, Tensor k_weight, Tensor rstd,
                            int NH);

void check_swiglu_forward(const Backend& be, Tensor out, Tensor inp);
void check_swiglu_backward(const Backend& be, Tensor dinp, Tensor inp, Tensor dout);

void check_gelu_forward(const Backend& be, Tensor out, Tensor inp);
void check_gelu_backward(const Backend& be, Tensor dinp, Tensor inp, Tensor dout);

void check_residual_forward(const Backend& be, Tensor out, Tensor a, Tensor b);
void check_residual_backward(const Backend& be, Tensor da, Tensor db, Tensor dout);

// out, a and b each in dtype() or master_dtype(), one number of elements; out may be a or b only
// in the same dtype. alpha and beta may be any number.
void check_scale_add(const Backend& be, Tensor out, double alpha, Tensor a, double beta, Tensor b);

// The targets' range [0, V) is not checked: they may be on the device. Any dloss is valid.
void check_classifier_forward(const Backend& be, Tensor losses, Tensor logits, Tensor targets,
                              int V, double dloss);

// master may be empty (a backend that needs it checks that itself). Any grad_scale is valid.
void check_adamw_update(const Backend& be, Tensor param, Tensor grad, Tensor m, Tensor v,
                        Tensor master, const AdamWSettings& settings, double grad_scale);
// t is a gradient (dtype()) or a master weight (master_dtype()).
void check_sum_of_squares(const Backend& be, Tensor t);

// ---- the pieces they are made of ----

// Non-empty, on `device`, of `dtype`.
void expect_tensor(const char* op, const char* name, const Tensor& t, DType dtype, Device device);
// Exactly `numel` elements; `expected` names the shape in words, e.g. "(B, NH, T, T)".
void expect_numel(const char* op, const char* name, const Tensor& t, int64_t numel,
                  const std::string& expected);
// (rows, cols) with every leading dimension folded into rows, as the "N" of the shape legend.
void expect_rows_cols(const char* op, const char* name, const Tensor& t, int64_t rows,
                      int64_t cols);
void expect_rank(const char* op, const char* name, const Tensor& t, int rank);
// C channels split evenly into NH heads.
void expect_heads(const char* op, int64_t C, int NH);

}  // namespace llm
