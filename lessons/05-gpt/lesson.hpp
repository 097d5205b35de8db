#pragma once
// Lesson 05: the transformer block and the whole GPT, forward and backward. The functions you write
// in exercise.cpp, and the structs that hold their tensors (given). Shapes: B batch, T sequence,
// C channels, NH heads, L layers, V vocabulary, Vp = V padded to a multiple of 128, maxT positions.
// Everything is double and lives in a GPT built on the f64 CPU backend
// (llm::make_cpu_backend(f64)).
#include <cstdint>
#include <vector>

#include "llm/model/gpt.hpp"

namespace lesson05 {

// One layer's parameters (or their gradients): pointers into the model's stacked tensors.
struct Block {
  double* ln1w;      // (C)
  double* ln1b;      // (C)
  double* qkvw;      // (3C, C)
  double* qkvb;      // (3C)
  double* attprojw;  // (C, C)
  double* attprojb;  // (C)
  double* ln2w;      // (C)
  double* ln2b;      // (C)
  double* fcw;       // (4C, C)
  double* fcb;       // (4C)
  double* fcprojw;   // (C, 4C)
  double* fcprojb;   // (C)
};

// The whole model's parameters (or gradients).
struct Gpt {
  int64_t V, Vp, maxT, L, NH, C;
  double* wte;  // (Vp, C) token embedding, and the output head (tied)
  double* wpe;  // (maxT, C)
  std::vector<Block> layers;
  double* lnfw;  // (C)
  double* lnfb;  // (C)
};

// GIVEN: a Gpt of pointers into an f64 model's parameters (model.params) or gradients
// (model.grads).
inline Gpt view_of(llm::ParameterTensors& p) {
  const llm::GPTConfig& c = p.config;
  auto d = [](const llm::Tensor& t) { return static_cast<double*>(t.data); };
  Gpt g{c.vocab_size,
        c.padded_vocab_size(),
        c.max_seq_len,
        c.n_layer,
        c.n_head,
        c.n_embd,
        d(p.wte),
        d(p.wpe),
        {},
        d(p.lnfw),
        d(p.lnfb)};
  for (int l = 0; l < c.n_layer; l++) {
    g.layers.push_back({d(p.ln1w.slice(l)), d(p.ln1b.slice(l)), d(p.qkvw.slice(l)),
                        d(p.qkvb.slice(l)), d(p.attprojw.slice(l)), d(p.attprojb.slice(l)),
                        d(p.ln2w.slice(l)), d(p.ln2b.slice(l)), d(p.fcw.slice(l)),
                        d(p.fcb.slice(l)), d(p.fcprojw.slice(l)), d(p.fcprojb.slice(l))});
  }
  return g;
}

// What one block's forward saves for its backward (GIVEN: sized by resize()).
struct BlockActs {
  std::vector<double> ln1, ln1_mean, ln1_rstd;  // (B, T, C), (B, T), (B, T)
  std::vector<double> qkv;                      // (B, T, 3C)
  std::vector<double> att;                      // (B, NH, T, T)
  std::vector<double> atty;                     // (B, T, C)   attention output, heads merged
  std::vector<double> attproj;                  // (B, T, C)
  std::vector<double> residual2;                // (B, T, C)   x + attproj
  std::vector<double> ln2, ln2_mean, ln2_rstd;  // (B, T, C), (B, T), (B, T)
  std::vector<double> fch, fch_gelu;            // (B, T, 4C)
  std::vector<double> fcproj;                   // (B, T, C)
  std::vector<double> residual3;                // (B, T, C)   the block's output
  void resize(int64_t B, int64_t T, int64_t C, int64_t NH) {
    for (auto* v : {&ln1, &atty, &attproj, &residual2, &ln2, &fcproj, &residual3})
      v->assign(B * T * C, 0.0);
    for (auto* v : {&ln1_mean, &ln1_rstd, &ln2_mean, &ln2_rstd}) v->assign(B * T, 0.0);
    qkv.assign(B * T * 3 * C, 0.0);
    att.assign(B * NH * T * T, 0.0);
    fch.assign(B * T * 4 * C, 0.0);
    fch_gelu.assign(B * T * 4 * C, 0.0);
  }
};

// What the GPT's forward saves (GIVEN: sized by resize()).
struct GptActs {
  int64_t B = 0, T = 0;
  std::vector<double> encoded;                  // (B, T, C)   wte[token] + wpe[t]
  std::vector<BlockActs> layers;                // L
  std::vector<double> lnf, lnf_mean, lnf_rstd;  // (B, T, C), (B, T), (B, T)
  std::vector<double> logits;                   // (B, T, Vp)  lnf @ wte^T
  std::vector<double> losses;                   // (B, T)      -log softmax(logits)[target]
  void resize(const Gpt& g, int64_t B_, int64_t T_) {
    B = B_;
    T = T_;
    encoded.assign(B * T * g.C, 0.0);
    layers.resize(g.L);
    for (BlockActs& a : layers) a.resize(B, T, g.C, g.NH);
    lnf.assign(B * T * g.C, 0.0);
    lnf_mean.assign(B * T, 0.0);
    lnf_rstd.assign(B * T, 0.0);
    logits.assign(B * T * g.Vp, 0.0);
    losses.assign(B * T, 0.0);
  }
};

// ---- one transformer block (pre-LN, GPT-2) ----
//   ln1 = layernorm(x);  qkv = ln1 @ qkvw^T + qkvb;  atty = attention(qkv)
//   residual2 = x + (atty @ attprojw^T + attprojb)
//   ln2 = layernorm(residual2);  fch = ln2 @ fcw^T + fcb;  fch_gelu = gelu(fch)
//   residual3 = residual2 + (fch_gelu @ fcprojw^T + fcprojb)
void block_forward(BlockActs& a,     // fills every field; a.residual3 is the output (B, T, C)
                   const double* x,  // (B, T, C)
                   const Block& w, int64_t B, int64_t T, int64_t C, int64_t NH);
// Given dout = dLoss/d residual3, ADDS dLoss/dx into dx and dLoss/dparam into g.
void block_backward(double* dx,          // (B, T, C)
                    Block& g,            // gradients of the block's parameters
                    const double* dout,  // (B, T, C)
                    const double* x,     // (B, T, C) the block's input
                    const BlockActs& a, const Block& w, int64_t B, int64_t T, int64_t C,
                    int64_t NH);

// ---- the GPT ----
// encoded = wte[tokens] + wpe[0..T); L blocks; lnf = layernorm(last residual3); logits = lnf @
// wte^T; returns the mean over (B, T) of -log softmax(logits[b, t, :V])[targets[b, t]]. acts must
// have been resized to (B, T) by the caller; acts.logits keeps the logits (not their gradient).
double gpt_forward(GptActs& acts, const Gpt& params, const int32_t* tokens, const int32_t* targets,
                   int64_t B, int64_t T);
// After gpt_forward on the same tokens and targets: ADDS d(mean loss)/d(param) into grads.
void gpt_backward(Gpt& grads, GptActs& acts, const Gpt& params, const int32_t* tokens,
                  const int32_t* targets, int64_t B, int64_t T);

}  // namespace lesson05
