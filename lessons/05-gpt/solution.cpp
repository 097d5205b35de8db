// Lesson 05, reference solution: the op sequence of llm/model/gpt.cpp (run_forward / run_backward)
// on the CPU backend's kernels, in double.
#include <vector>

#include "lesson.hpp"
#include "llm/backend/cpu/attention.hpp"
#include "llm/backend/cpu/classifier.hpp"
#include "llm/backend/cpu/encoder.hpp"
#include "llm/backend/cpu/gelu.hpp"
#include "llm/backend/cpu/layernorm.hpp"
#include "llm/backend/cpu/matmul.hpp"
#include "llm/backend/cpu/residual.hpp"

namespace lesson05 {

using namespace llm::cpu;

void block_forward(BlockActs& a, const double* x, const Block& w, int64_t B, int64_t T, int64_t C,
                   int64_t NH) {
  const int64_t N = B * T;
  layernorm_forward<double>(a.ln1.data(), a.ln1_mean.data(), a.ln1_rstd.data(), x, w.ln1w, w.ln1b,
                            N, C);
  matmul_forward<double>(a.qkv.data(), a.ln1.data(), w.qkvw, w.qkvb, N, C, 3 * C);
  attention_forward<double>(a.atty.data(), a.att.data(), a.qkv.data(), B, T, C, NH);
  matmul_forward<double>(a.attproj.data(), a.atty.data(), w.attprojw, w.attprojb, N, C, C);
  residual_forward<double>(a.residual2.data(), x, a.attproj.data(), N * C);
  layernorm_forward<double>(a.ln2.data(), a.ln2_mean.data(), a.ln2_rstd.data(), a.residual2.data(),
                            w.ln2w, w.ln2b, N, C);
  matmul_forward<double>(a.fch.data(), a.ln2.data(), w.fcw, w.fcb, N, C, 4 * C);
  gelu_forward<double>(a.fch_gelu.data(), a.fch.data(), N * 4 * C);
  matmul_forward<double>(a.fcproj.data(), a.fch_gelu.data(), w.fcprojw, w.fcprojb, N, 4 * C, C);
  residual_forward<double>(a.residual3.data(), a.residual2.data(), a.fcproj.data(), N * C);
}

void block_backward(double* dx, Block& g, const double* dout, const double* x, const BlockActs& a,
                    const Block& w, int64_t B, int64_t T, int64_t C, int64_t NH) {
  const int64_t N = B * T;
  // gradients of the block's activations, zeroed: every backward below adds into them
  std::vector<double> dresidual2(N * C, 0.0), dfcproj(N * C, 0.0), dfch_gelu(N * 4 * C, 0.0),
      dfch(N * 4 * C, 0.0), dln2(N * C, 0.0), dattproj(N * C, 0.0), datty(N * C, 0.0),
      dqkv(N * 3 * C, 0.0), dln1(N * C, 0.0), datt(a.att.size(), 0.0);
  // MLP branch, in reverse
  residual_backward<double>(dresidual2.data(), dfcproj.data(), dout, N * C);
  matmul_backward<double>(dfch_gelu.data(), g.fcprojw, g.fcprojb, dfcproj.data(), a.fch_gelu.data(),
                          w.fcprojw, N, 4 * C, C);
  gelu_backward<double>(dfch.data(), a.fch.data(), dfch_gelu.data(), N * 4 * C);
  matmul_backward<double>(dln2.data(), g.fcw, g.fcb, dfch.data(), a.ln2.data(), w.fcw, N, C, 4 * C);
  layernorm_backward<double>(dresidual2.data(), g.ln2w, g.ln2b, dln2.data(), a.residual2.data(),
                             w.ln2w, a.ln2_mean.data(), a.ln2_rstd.data(), N, C);
  // attention branch, in reverse
  residual_backward<double>(dx, dattproj.data(), dresidual2.data(), N * C);
  matmul_backward<double>(datty.data(), g.attprojw, g.attprojb, dattproj.data(), a.atty.data(),
                          w.attprojw, N, C, C);
  attention_backward<double>(dqkv.data(), datt.data(), datty.data(), a.qkv.data(), a.att.data(), B,
                             T, C, NH);
  matmul_backward<double>(dln1.data(), g.qkvw, g.qkvb, dqkv.data(), a.ln1.data(), w.qkvw, N, C,
                          3 * C);
  layernorm_backward<double>(dx, g.ln1w, g.ln1b, dln1.data(), x, w.ln1w, a.ln1_mean.data(),
                             a.ln1_rstd.data(), N, C);
}

double gpt_forward(GptActs& acts, const Gpt& p, const int32_t* tokens, const int32_t* targets,
                   int64_t B, int64_t T) {
  const int64_t N = B * T, C = p.C;
  encoder_forward<double>(acts.encoded.data(), tokens, p.wte, p.wpe, B, T, C, 0);
  const double* x = acts.encoded.data();
  for (int64_t l = 0; l < p.L; l++) {
    block_forward(acts.layers[l], x, p.layers[l], B, T, C, p.NH);
    x = acts.layers[l].residual3.data();
  }
  layernorm_forward<double>(acts.lnf.data(), acts.lnf_mean.data(), acts.lnf_rstd.data(), x, p.lnfw,
                            p.lnfb, N, C);
  matmul_forward<double>(acts.logits.data(), acts.lnf.data(), p.wte, nullptr, N, C, p.Vp);
  std::vector<double> logits =
      acts.logits;  // the classifier may write gradients in place: keep the logits
  classifier_forward<double>(acts.losses.data(), logits.data(), targets, 0.0, N, p.V, p.Vp);
  double sum = 0;
  for (double l : acts.losses) sum += l;
  return sum / double(N);
}

void gpt_backward(Gpt& g, GptActs& acts, const Gpt& p, const int32_t* tokens,
                  const int32_t* targets, int64_t B, int64_t T) {
  const int64_t N = B * T, C = p.C;
  // dlogits = (softmax - onehot) / (B T): the loss is a mean over B T positions
  std::vector<double> dlogits = acts.logits, losses(N);
  classifier_forward<double>(losses.data(), dlogits.data(), targets, 1.0 / double(N), N, p.V, p.Vp);
  std::vector<double> dlnf(N * C, 0.0), dx(N * C, 0.0);
  matmul_backward<double>(dlnf.data(), g.wte, nullptr, dlogits.data(), acts.lnf.data(), p.wte, N, C,
                          p.Vp);
  const double* last = p.L > 0 ? acts.layers[p.L - 1].residual3.data() : acts.encoded.data();
  layernorm_backward<double>(dx.data(), g.lnfw, g.lnfb, dlnf.data(), last, p.lnfw,
                             acts.lnf_mean.data(), acts.lnf_rstd.data(), N, C);
  for (int64_t l = p.L - 1; l >= 0; l--) {
    const double* x = l == 0 ? acts.encoded.data() : acts.layers[l - 1].residual3.data();
    std::vector<double> dx_in(N * C, 0.0);
    block_backward(dx_in.data(), g.layers[l], dx.data(), x, acts.layers[l], p.layers[l], B, T, C,
                   p.NH);
    dx.swap(dx_in);
  }
  encoder_backward<double>(g.wte, g.wpe, dx.data(), tokens, B, T, C);
}

}  // namespace lesson05
