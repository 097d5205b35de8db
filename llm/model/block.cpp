// One transformer block, forward and backward, against the Backend interface.
#include "llm/model/block.hpp"

namespace llm {

void block_forward(Backend& be, const LayerWeights& w, const LayerActivations& a, Tensor x,
                   const AttentionStep& attention) {
  // attention branch: residual2 = x + attn_proj(attention(qkv(ln1(x))))
  be.layernorm_forward(a.ln1, a.ln1_mean, a.ln1_rstd, x, w.ln1w, w.ln1b);
  be.matmul_forward(a.qkv, a.ln1, w.qkvw, w.qkvb);
  attention(a.atty, a.qkv);
  be.matmul_forward(a.attproj, a.atty, w.attprojw, w.attprojb);
  be.residual_forward(a.residual2, x, a.attproj);
  // MLP branch: residual3 = residual2 + fc_proj(gelu(fc(ln2(residual2))))
  be.layernorm_forward(a.ln2, a.ln2_mean, a.ln2_rstd, a.residual2, w.ln2w, w.ln2b);
  be.matmul_forward(a.fch, a.ln2, w.fcw, w.fcb);
  be.gelu_forward(a.fch_gelu, a.fch);
  be.matmul_forward(a.fcproj, a.fch_gelu, w.fcprojw, w.fcprojb);
  be.residual_forward(a.residual3, a.residual2, a.fcproj);
}

void block_backward(Backend& be, const LayerWeights& w, const LayerWeights& g,
                    const LayerActivations& a, const LayerActivations& d, Tensor x, Tensor dx,
                    int n_head) {
  // MLP branch, in reverse. The sum residual3 = residual2 + fcproj hands its gradient to both.
  be.residual_backward(d.residual2, d.fcproj, d.residual3);
  be.matmul_backward(d.fch_gelu, g.fcprojw, g.fcprojb, d.fcproj, a.fch_gelu, w.fcprojw);
  be.gelu_backward(d.fch, a.fch, d.fch_gelu);
  be.matmul_backward(d.ln2, g.fcw, g.fcb, d.fch, a.ln2, w.fcw);
  be.layernorm_backward(d.residual2, g.ln2w, g.ln2b, d.ln2, a.residual2, w.ln2w, a.ln2_mean,
                        a.ln2_rstd);
  // attention branch, in reverse; dx gathers the skip path and the path through ln1.
  be.residual_backward(dx, d.attproj, d.residual2);
  be.matmul_backward(d.atty, g.attprojw, g.attprojb, d.attproj, a.atty, w.attprojw);
  be.attention_backward(d.qkv, d.att, d.atty, a.qkv, a.atty, a.att, n_head);
  be.matmul_backward(d.ln1, g.qkvw, g.qkvb, d.qkv, a.ln1, w.qkvw);
  be.layernorm_backward(dx, g.ln1w, g.ln1b, d.ln1, x, w.ln1w, a.ln1_mean, a.ln1_rstd);
}

}  // namespace llm
