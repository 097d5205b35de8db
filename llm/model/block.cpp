// One transformer block, forward and backward, against the Backend interface.
#include "llm/model/block.hpp"

namespace llm {

void norm_forward(Backend& be, const GPTConfig& config, Tensor out, Tensor mean, Tensor rstd,
                  Tensor inp, Tensor weight, Tensor bias) {
  if (config.rmsnorm()) {
    be.rmsnorm_forward(out, rstd, inp, weight, config.norm_eps);
  } else {
    be.layernorm_forward(out, mean, rstd, inp, weight, bias);
  }
}

void norm_backward(Backend& be, const GPTConfig& config, Tensor dinp, Tensor dweight, Tensor dbias,
                   Tensor dout, Tensor inp, Tensor weight, Tensor mean, Tensor rstd) {
  if (config.rmsnorm()) {
    be.rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd);
  } else {
    be.layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd);
  }
}

void block_forward(Backend& be, const GPTConfig& c, const LayerWeights& w,
                   const LayerActivations& a, Tensor x, int pos0, const AttentionStep& attention) {
  const int hs = c.head_size();
  // attention branch: residual2 = x + attn_proj(attention(rope?(qk_norm?(qkv(norm1(x))))))
  norm_forward(be, c, a.ln1, a.ln1_mean, a.ln1_rstd, x, w.ln1w, w.ln1b);
  be.matmul_forward(a.qkv, a.ln1, w.qkvw, w.qkvb);
  Tensor q_k_v = a.qkv;  // what reaches attention, step by step
  if (c.qk_norm) {
    // each query and key head RMS-normalised on its own, before rope turns it
    be.qk_norm_forward(a.qkv_norm, a.qk_rstd, a.qkv, w.qnormw, w.knormw, c.n_head, c.norm_eps);
    q_k_v = a.qkv_norm;
  }
  if (c.rope()) {
    // q's NH heads and k's NKV heads turn by their position; v is copied as it is
    be.rope_forward(a.qkv_rope, q_k_v, hs, c.n_head + c.kv_heads(), pos0, c.rope_frequencies);
    q_k_v = a.qkv_rope;
  }
  attention(a.atty, q_k_v);
  be.matmul_forward(a.attproj, a.atty, w.attprojw, w.attprojb);
  be.residual_forward(a.residual2, x, a.attproj);
  // MLP branch: residual3 = residual2 + fc_proj(act(fc(norm2(residual2))))
  norm_forward(be, c, a.ln2, a.ln2_mean, a.ln2_rstd, a.residual2, w.ln2w, w.ln2b);
  be.matmul_forward(a.fch, a.ln2, w.fcw, w.fcb);
  if (c.swiglu()) {
    be.swiglu_forward(a.fch_gelu, a.fch);
  } else if (c.relu2()) {
    be.relu2_forward(a.fch_gelu, a.fch);
  } else {
    be.gelu_forward(a.fch_gelu, a.fch);
  }
  be.matmul_forward(a.fcproj, a.fch_gelu, w.fcprojw, w.fcprojb);
  be.residual_forward(a.residual3, a.residual2, a.fcproj);
}

void block_backward(Backend& be, const GPTConfig& c, const LayerWeights& w, const LayerWeights& g,
                    const LayerActivations& a, const LayerActivations& d, Tensor x, Tensor dx) {
  const int NH = c.n_head, hs = c.head_size();
  // MLP branch, in reverse. The sum residual3 = residual2 + fcproj hands its gradient to both.
  be.residual_backward(d.residual2, d.fcproj, d.residual3);
  be.matmul_backward(d.fch_gelu, g.fcprojw, g.fcprojb, d.fcproj, a.fch_gelu, w.fcprojw);
  if (c.swiglu()) {
    be.swiglu_backward(d.fch, a.fch, d.fch_gelu);
  } else if (c.relu2()) {
    be.relu2_backward(d.fch, a.fch, d.fch_gelu);
  } else {
    be.gelu_backward(d.fch, a.fch, d.fch_gelu);
  }
  be.matmul_backward(d.ln2, g.fcw, g.fcb, d.fch, a.ln2, w.fcw);
  norm_backward(be, c, d.residual2, g.ln2w, g.ln2b, d.ln2, a.residual2, w.ln2w, a.ln2_mean,
                a.ln2_rstd);
  // attention branch, in reverse; dx gathers the skip path and the path through norm1.
  be.residual_backward(dx, d.attproj, d.residual2);
  be.matmul_backward(d.atty, g.attprojw, g.attprojb, d.attproj, a.atty, w.attprojw);
  // The tensor attention read, and where its gradient goes: qkv_rope, else qkv_norm, else qkv.
  const Tensor q_k_v = c.rope() ? a.qkv_rope : c.qk_norm ? a.qkv_norm : a.qkv;
  const Tensor dq_k_v = c.rope() ? d.qkv_rope : c.qk_norm ? d.qkv_norm : d.qkv;
  be.attention_backward(dq_k_v, d.att, d.atty, q_k_v, a.atty, a.att, NH);
  if (c.rope()) {
    // the rotation is orthogonal: its backward turns the gradient back by -angle
    be.rope_backward(c.qk_norm ? d.qkv_norm : d.qkv, d.qkv_rope, hs, NH + c.kv_heads(), 0,
                     c.rope_frequencies);
  }
  if (c.qk_norm) {
    be.qk_norm_backward(d.qkv, g.qnormw, g.knormw, d.qkv_norm, a.qkv, w.qnormw, w.knormw, a.qk_rstd,
                        NH);
  }
  be.matmul_backward(d.ln1, g.qkvw, g.qkvb, d.qkv, a.ln1, w.qkvw);
  norm_backward(be, c, dx, g.ln1w, g.ln1b, d.ln1, x, w.ln1w, a.ln1_mean, a.ln1_rstd);
}

}  // namespace llm
