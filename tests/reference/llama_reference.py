"""An independent PyTorch forward of Hugging Face's LlamaForCausalLM, from its documented math.

Reads a checkpoint directory as transformers does (config.json + model.safetensors under HF names,
nn.Linear weights (out, in)) and computes logits and the mean cross-entropy loss, in float64:

  x = embed_tokens[tokens]                                          (B, T, C)
  for each layer:
    h = x + o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))),  n = rmsnorm(x) * w_in
    x = h + down_proj(silu(gate_proj(m)) * up_proj(m)),                        m = rmsnorm(h) * w_post
  logits = (rmsnorm(x) * w_norm) @ head^T, head = lm_head or embed_tokens (tie_word_embeddings)

rmsnorm(x) = x / sqrt(mean(x^2) + rms_norm_eps). RoPE is HF's rotate-half form: with
inv_freq[i] = rope_theta^(-2i/hs) (rescaled for rope_scaling type "llama3"), freqs = pos * inv_freq,
emb = cat(freqs, freqs), q' = q cos(emb) + rotate_half(q) sin(emb), rotate_half(q) = cat(-q2, q1).
Grouped-query attention repeats each of the num_key_value_heads heads for NH / NKV query heads
(query head h reads key/value head h // (NH / NKV)); scores are scaled by hs^-1/2, causal.
"""
import json
import math
import os

import torch

import safetensors_io


def llama3_inverse_frequencies(inv_freq, scaling):
    """Llama 3.1's rescaling, as vectors: keep the short wavelengths, slow the long ones by
    `factor`, and blend linearly in (original context / wavelength) between the two thresholds."""
    factor = scaling["factor"]
    low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
    old_context = scaling["original_max_position_embeddings"]
    wavelength = 2 * math.pi / inv_freq
    slowed = torch.where(wavelength > old_context / low, inv_freq / factor, inv_freq)
    smooth = (old_context / wavelength - low) / (high - low)
    blended = (1 - smooth) * slowed / factor + smooth * slowed
    medium = (wavelength >= old_context / high) & (wavelength <= old_context / low)
    return torch.where(medium, blended, slowed)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaReference:
    def __init__(self, config, tensors, dtype=torch.float64):
        self.cfg = config
        self.w = {name: torch.as_tensor(t).to(dtype) for name, t in tensors.items()}
        self.C = config["hidden_size"]
        self.NH = config["num_attention_heads"]
        self.NKV = config.get("num_key_value_heads") or self.NH
        self.hs = self.C // self.NH
        self.eps = config.get("rms_norm_eps", 1e-6)
        self.tied = config.get("tie_word_embeddings", False)  # LlamaConfig's default
        self.dtype = dtype

    @staticmethod
    def load(directory, dtype=torch.float64):
        with open(os.path.join(directory, "config.json")) as f:
            config = json.load(f)
        tensors, _ = safetensors_io.load(os.path.join(directory, "model.safetensors"))
        return LlamaReference(config, tensors, dtype)

    def inverse_frequencies(self):
        theta = self.cfg.get("rope_theta", 10000.0)
        exponents = torch.arange(0, self.hs, 2, dtype=torch.float64) / self.hs
        inv_freq = 1.0 / (theta ** exponents)  # (hs/2)
        scaling = self.cfg.get("rope_scaling")
        if scaling is not None:
            assert scaling.get("rope_type", scaling.get("type")) == "llama3"
            inv_freq = llama3_inverse_frequencies(inv_freq, scaling)
        return inv_freq

    def rmsnorm(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * weight

    def attention(self, x, prefix):
        B, T, _ = x.shape
        NH, NKV, hs = self.NH, self.NKV, self.hs
        q = (x @ self.w[prefix + "q_proj.weight"].t()).view(B, T, NH, hs).transpose(1, 2)
        k = (x @ self.w[prefix + "k_proj.weight"].t()).view(B, T, NKV, hs).transpose(1, 2)
        v = (x @ self.w[prefix + "v_proj.weight"].t()).view(B, T, NKV, hs).transpose(1, 2)
        freqs = torch.outer(torch.arange(T, dtype=torch.float64), self.inverse_frequencies())
        emb = torch.cat((freqs, freqs), dim=-1)  # (T, hs)
        cos, sin = emb.cos().to(self.dtype), emb.sin().to(self.dtype)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(NH // NKV, dim=1)  # (B, NH, T, hs)
        v = v.repeat_interleave(NH // NKV, dim=1)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, NH, T, T)
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        scores = scores.masked_fill(~mask, float("-inf"))
        y = torch.softmax(scores, dim=-1) @ v  # (B, NH, T, hs)
        y = y.transpose(1, 2).reshape(B, T, NH * hs)
        return y @ self.w[prefix + "o_proj.weight"].t()

    def mlp(self, x, prefix):
        gate = x @ self.w[prefix + "gate_proj.weight"].t()
        up = x @ self.w[prefix + "up_proj.weight"].t()
        return (torch.nn.functional.silu(gate) * up) @ self.w[prefix + "down_proj.weight"].t()

    def forward(self, tokens, targets=None):
        """tokens (B, T) int64 -> logits (B, T, V), and the mean loss when targets are given."""
        w = self.w
        x = w["model.embed_tokens.weight"][tokens]
        for l in range(self.cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            x = x + self.attention(self.rmsnorm(x, w[p + "input_layernorm.weight"]), p + "self_attn.")
            x = x + self.mlp(self.rmsnorm(x, w[p + "post_attention_layernorm.weight"]), p + "mlp.")
        x = self.rmsnorm(x, w["model.norm.weight"])
        head = w["model.embed_tokens.weight"] if self.tied else w["lm_head.weight"]
        logits = x @ head.t()
        if targets is None:
            return logits, None
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss
