"""An independent GPT-2 in PyTorch, written from the paper and nanoGPT's description, to check glassbox.

No transformers, no fused ops: every step is spelled out (layernorm, the tanh GELU, causal attention
with an explicit softmax) so a mismatch with glassbox points at one line of math.

The same architecture switches as glassbox's config (llm/model/config.hpp), written here from the
papers and Hugging Face's Llama description: norm = "rmsnorm" (x / sqrt(mean(x^2) + eps) * w),
position = "rope" (rotary embedding, HF's rotate-half form: q cos + rotate_half(q) sin), mlp =
"swiglu" (silu(gate) * up) or "relu2" (max(x, 0)^2, the squared ReLU of modded-nanogpt), n_kv_head < n_head (grouped-query attention by repeating each key/value
head over its group), tie_embeddings = False (its own lm_head.weight), bias = False (no linear
biases) and qk_norm = True (each query and key head RMS-normalised over its hs channels, eps
norm_eps, with gains attn.q_norm.weight and attn.k_norm.weight of hs shared by the heads, as in
Qwen3, before rope). Their config.json keys are glassbox's (norm, position, mlp, mlp_hidden,
n_kv_head, bias, qk_norm, tie_word_embeddings).

Shape legend: B batch, T time, C channels, NH heads, hs = C / NH, V real vocabulary, Vp padded
vocabulary (V rounded up to a multiple of 128, as glassbox and llm.c do).

    x = wte[tokens] + wpe[0..T)                                   (B, T, C)
    for each block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))  (pre-LN)
    logits = ln_f(x) @ wte^T                                      (B, T, Vp), head tied to wte
    loss = mean cross-entropy over the first V columns of logits

Parameters are named and laid out exactly as Hugging Face's GPT-2 checkpoints, so a glassbox
checkpoint (config.json + model.safetensors) loads with no renaming: the attention and MLP weights
are Conv1D, stored (in, out), and applied as x @ W + b. Only wte differs: the file holds (V, C),
this model holds (Vp, C) with zero rows V..Vp (they never reach the loss: tokens are < V and the
padded logit columns are not scored, so their gradient is exactly 0).
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

LAYERNORM_EPS = 1e-5


def pad_vocab(vocab_size):
    return (vocab_size + 127) // 128 * 128


def layernorm(x, weight, bias):
    # normalise over the last dimension with the biased variance, as nn.LayerNorm does
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + LAYERNORM_EPS) * weight + bias


def gelu_tanh(x):
    # GPT-2's GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def rmsnorm(x, weight, eps):
    # normalise by the root mean square over the last dimension, no mean subtracted, no bias
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps) * weight


def silu(x):
    return x / (1.0 + torch.exp(-x))


def rotate_half(x):
    """(x1, x2) -> (-x2, x1) over the two halves of the last dimension, as HF's Llama."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x, theta):
    """x (B, heads, T, hs) at positions 0..T-1: x cos + rotate_half(x) sin, frequencies
    theta^(-2i/hs) for i < hs/2, each used by channel i and channel i + hs/2."""
    T, hs = x.shape[-2], x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs))  # (hs/2)
    angles = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]  # (T, hs/2)
    angles = torch.cat((angles, angles), dim=-1)  # (T, hs)
    return x * torch.cos(angles).to(x.dtype) + rotate_half(x) * torch.sin(angles).to(x.dtype)


def causal_self_attention(qkv, n_head, n_kv_head=None, rope_theta=None, qk_norm=None):
    """qkv (B, T, (NH + 2 NKV) hs) -> (B, T, C): softmax(q k^T / sqrt(hs), causal) v per head, heads
    concatenated. NKV < NH: each key/value head serves NH / NKV consecutive query heads. With
    qk_norm = (q_weight, k_weight, eps), every q and k head is RMS-normalised first; with
    rope_theta, q and k are then rotated by position."""
    n_kv_head = n_kv_head or n_head
    B, T, W = qkv.shape
    hs = W // (n_head + 2 * n_kv_head)
    C, KV = n_head * hs, n_kv_head * hs
    q, k, v = qkv.split([C, KV, KV], dim=2)
    q = q.view(B, T, n_head, hs).transpose(1, 2)  # (B, NH, T, hs)
    k = k.view(B, T, n_kv_head, hs).transpose(1, 2)  # (B, NKV, T, hs)
    v = v.view(B, T, n_kv_head, hs).transpose(1, 2)
    if qk_norm is not None:
        q_weight, k_weight, eps = qk_norm
        q, k = rmsnorm(q, q_weight, eps), rmsnorm(k, k_weight, eps)  # over hs, per head
    if rope_theta is not None:
        q, k = apply_rope(q, rope_theta), apply_rope(k, rope_theta)
    group = n_head // n_kv_head
    k = k.repeat_interleave(group, dim=1)  # (B, NH, T, hs)
    v = v.repeat_interleave(group, dim=1)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, NH, T, T)
    future = torch.triu(torch.ones(T, T, dtype=torch.bool, device=qkv.device), diagonal=1)
    scores = scores.masked_fill(future, float("-inf"))
    # explicit softmax: subtract the row max, exponentiate, normalise
    scores = scores - scores.max(dim=-1, keepdim=True).values
    probs = torch.exp(scores)
    probs = probs / probs.sum(dim=-1, keepdim=True)
    y = probs @ v  # (B, NH, T, hs)
    return y.transpose(1, 2).contiguous().view(B, T, C)


class GPT2Reference(torch.nn.Module):
    def __init__(self, n_layer, n_head, n_embd, n_positions, vocab_size, padded_vocab_size=None,
                 dtype=torch.float32, norm="layernorm", norm_eps=LAYERNORM_EPS, position="learned",
                 rope_theta=10000.0, mlp="gelu", mlp_hidden=None, n_kv_head=None,
                 tie_embeddings=True, bias=True, qk_norm=False):
        super().__init__()
        self.n_layer, self.n_head, self.n_embd = n_layer, n_head, n_embd
        self.n_positions, self.vocab_size = n_positions, vocab_size
        self.padded_vocab_size = padded_vocab_size or pad_vocab(vocab_size)
        self.norm, self.norm_eps, self.position, self.rope_theta = norm, norm_eps, position, rope_theta
        self.mlp, self.mlp_hidden = mlp, mlp_hidden or 4 * n_embd
        self.n_kv_head = n_kv_head or n_head
        self.tie_embeddings, self.bias, self.qk_norm = tie_embeddings, bias, qk_norm
        C, L, H = n_embd, n_layer, self.mlp_hidden
        hs = C // n_head
        QKV = C + 2 * self.n_kv_head * hs
        FC = 2 * H if mlp == "swiglu" else H
        P = torch.nn.Parameter

        def zeros(*shape):
            return P(torch.zeros(*shape, dtype=dtype))

        # A flat dict of HF-named parameters; nn.ParameterDict does not allow dots, so register by hand.
        self.hf_names = []

        def add(name, param):
            self.register_parameter(name.replace(".", "__"), param)
            self.hf_names.append(name)

        def add_norm(prefix):
            add(prefix + ".weight", P(torch.ones(C, dtype=dtype)))
            if norm == "layernorm":
                add(prefix + ".bias", zeros(C))

        add("transformer.wte.weight", zeros(self.padded_vocab_size, C))
        if position == "learned":
            add("transformer.wpe.weight", zeros(n_positions, C))
        for l in range(L):
            h = f"transformer.h.{l}."
            add_norm(h + "ln_1")
            add(h + "attn.c_attn.weight", zeros(C, QKV))  # Conv1D: (in, out)
            if bias:
                add(h + "attn.c_attn.bias", zeros(QKV))
            if qk_norm:
                add(h + "attn.q_norm.weight", P(torch.ones(hs, dtype=dtype)))
                add(h + "attn.k_norm.weight", P(torch.ones(hs, dtype=dtype)))
            add(h + "attn.c_proj.weight", zeros(C, C))
            if bias:
                add(h + "attn.c_proj.bias", zeros(C))
            add_norm(h + "ln_2")
            add(h + "mlp.c_fc.weight", zeros(C, FC))
            if bias:
                add(h + "mlp.c_fc.bias", zeros(FC))
            add(h + "mlp.c_proj.weight", zeros(H, C))
            if bias:
                add(h + "mlp.c_proj.bias", zeros(C))
        add_norm("transformer.ln_f")
        if not tie_embeddings:
            add("lm_head.weight", zeros(self.padded_vocab_size, C))

    def p(self, hf_name):
        return getattr(self, hf_name.replace(".", "__"))

    def named_hf_parameters(self):
        return [(name, self.p(name)) for name in self.hf_names]

    # ---- GPT-2 initialisation (used by the benchmark; the cross-check loads glassbox's weights) ----
    @torch.no_grad()
    def init_weights(self, seed=0):
        g = torch.Generator().manual_seed(seed)
        residual_std = 0.02 / math.sqrt(2 * self.n_layer)
        for name, param in self.named_hf_parameters():
            if any(name.endswith(n + ".weight") for n in ("ln_1", "ln_2", "ln_f", "q_norm", "k_norm")):
                param.fill_(1.0)
            elif name.endswith(".bias"):
                param.zero_()
            else:
                std = residual_std if name.endswith("c_proj.weight") else 0.02
                param.copy_(torch.randn(param.shape, generator=g, dtype=torch.float64) * std)
        self.p("transformer.wte.weight")[self.vocab_size:].zero_()
        if not self.tie_embeddings:
            self.p("lm_head.weight")[self.vocab_size:].zero_()

    # ---- forward ----
    def _norm(self, x, prefix):
        if self.norm == "rmsnorm":
            return rmsnorm(x, self.p(prefix + ".weight"), self.norm_eps)
        return layernorm(x, self.p(prefix + ".weight"), self.p(prefix + ".bias"))

    def _linear(self, x, prefix):
        """x @ W (+ b): a Conv1D, its bias only when the model has biases."""
        y = x @ self.p(prefix + ".weight")
        return y + self.p(prefix + ".bias") if self.bias else y

    def forward(self, tokens, targets=None):
        """tokens (B, T) int64 -> logits (B, T, Vp); with targets also the mean loss over first V logits."""
        B, T = tokens.shape
        assert T <= self.n_positions, f"sequence length {T} > n_positions {self.n_positions}"
        p = self.p
        wte = p("transformer.wte.weight")
        x = wte[tokens]  # (B, T, C)
        if self.position == "learned":
            x = x + p("transformer.wpe.weight")[:T]
        theta = self.rope_theta if self.position == "rope" else None
        for l in range(self.n_layer):
            h = f"transformer.h.{l}."
            a = self._norm(x, h + "ln_1")
            qkv = self._linear(a, h + "attn.c_attn")  # (B, T, QKV)
            qk = None
            if self.qk_norm:
                qk = (p(h + "attn.q_norm.weight"), p(h + "attn.k_norm.weight"), self.norm_eps)
            y = causal_self_attention(qkv, self.n_head, self.n_kv_head, theta, qk)
            x = x + self._linear(y, h + "attn.c_proj")
            m = self._linear(self._norm(x, h + "ln_2"), h + "mlp.c_fc")  # (B, T, FC)
            if self.mlp == "swiglu":
                gate, up = m.split(self.mlp_hidden, dim=-1)
                m = silu(gate) * up
            elif self.mlp == "relu2":
                m = torch.relu(m).square()
            else:
                m = gelu_tanh(m)
            x = x + self._linear(m, h + "mlp.c_proj")
        x = self._norm(x, "transformer.ln_f")
        head = wte if self.tie_embeddings else p("lm_head.weight")
        logits = x @ head.t()  # (B, T, Vp)
        if targets is None:
            return logits, None
        loss = cross_entropy(logits[..., : self.vocab_size], targets)
        return logits, loss

    # ---- Hugging Face layout in and out ----
    def hf_state_dict(self):
        """HF-named tensors with wte unpadded (V, C), as glassbox writes model.safetensors."""
        out = {}
        for name, param in self.named_hf_parameters():
            t = param.detach()
            if name in ("transformer.wte.weight", "lm_head.weight"):
                t = t[: self.vocab_size]
            out[name] = t.clone()
        return out

    @torch.no_grad()
    def load_hf_state_dict(self, tensors):
        """Loads HF-named arrays/tensors (wte (V, C), padded here with zero rows). Checks every shape."""
        missing = [n for n in self.hf_names if n not in tensors]
        if missing:
            raise KeyError(f"missing tensors: {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        for name, param in self.named_hf_parameters():
            t = torch.as_tensor(tensors[name]).to(param.dtype)
            if name in ("transformer.wte.weight", "lm_head.weight"):
                if tuple(t.shape) != (self.vocab_size, self.n_embd):
                    raise ValueError(f"{name}: shape {tuple(t.shape)}, expected {(self.vocab_size, self.n_embd)}")
                param.zero_()
                param[: self.vocab_size].copy_(t)
            else:
                if tuple(t.shape) != tuple(param.shape):
                    raise ValueError(f"{name}: shape {tuple(t.shape)}, expected {tuple(param.shape)}")
                param.copy_(t)

    def hf_config(self):
        return {
            "model_type": "gpt2",
            "architectures": ["GPT2LMHeadModel"],
            "n_layer": self.n_layer,
            "n_head": self.n_head,
            "n_embd": self.n_embd,
            "n_positions": self.n_positions,
            "n_ctx": self.n_positions,
            "vocab_size": self.vocab_size,
            "padded_vocab_size": self.padded_vocab_size,
            "layer_norm_epsilon": LAYERNORM_EPS,
            "activation_function": "gelu_new",
            "tie_word_embeddings": self.tie_embeddings,
            "norm": self.norm,
            "norm_eps": self.norm_eps,
            "position": self.position,
            "rope_theta": self.rope_theta,
            "mlp": self.mlp,
            "mlp_hidden": self.mlp_hidden,
            "n_kv_head": self.n_kv_head,
            "bias": self.bias,
        }


def cross_entropy(logits, targets):
    """Mean of -log softmax(logits)[target], written out: logsumexp(row) - row[target]."""
    V = logits.shape[-1]
    logits = logits.reshape(-1, V)
    targets = targets.reshape(-1)
    row_max = logits.max(dim=-1, keepdim=True).values
    logsumexp = row_max.squeeze(-1) + torch.log(torch.exp(logits - row_max).sum(dim=-1))
    picked = logits.gather(1, targets.view(-1, 1)).squeeze(1)
    return (logsumexp - picked).mean()


def decay_groups(model, weight_decay):
    """AdamW parameter groups as nanoGPT and glassbox: decay the 2-D weights (wte, wpe, lm_head and
    the four matmul weights per layer), not the biases or norm gains."""
    decay = [p for _, p in model.named_hf_parameters() if p.dim() >= 2]
    no_decay = [p for _, p in model.named_hf_parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def llama_config_to_glassbox(cfg):
    """A LlamaForCausalLM config.json (as glassbox writes a Llama-style model) -> this reference's
    GPT-2-style config keys."""
    return {
        "n_layer": cfg["num_hidden_layers"], "n_head": cfg["num_attention_heads"],
        "n_embd": cfg["hidden_size"], "n_positions": cfg["max_position_embeddings"],
        "vocab_size": cfg["vocab_size"], "padded_vocab_size": cfg.get("padded_vocab_size"),
        "norm": "rmsnorm", "norm_eps": cfg["rms_norm_eps"], "position": "rope",
        "rope_theta": cfg["rope_theta"], "mlp": "swiglu", "mlp_hidden": cfg["intermediate_size"],
        "n_kv_head": cfg["num_key_value_heads"], "tie_word_embeddings": cfg["tie_word_embeddings"],
        "bias": False,
    }


def llama_tensors_to_glassbox(tensors, n_layer):
    """LlamaForCausalLM's tensors -> this reference's HF GPT-2 names: q, k, v stacked by rows into
    c_attn and gate, up into c_fc, and the matmul weights transposed into Conv1D's (in, out)."""
    out = {"transformer.wte.weight": tensors["model.embed_tokens.weight"],
           "transformer.ln_f.weight": tensors["model.norm.weight"]}
    if "lm_head.weight" in tensors:
        out["lm_head.weight"] = tensors["lm_head.weight"]
    for l in range(n_layer):
        hf, h = f"model.layers.{l}.", f"transformer.h.{l}."
        attn = [tensors[hf + f"self_attn.{x}_proj.weight"] for x in ("q", "k", "v")]
        out[h + "attn.c_attn.weight"] = np.concatenate(attn, axis=0).T
        out[h + "attn.c_proj.weight"] = tensors[hf + "self_attn.o_proj.weight"].T
        fc = [tensors[hf + f"mlp.{x}_proj.weight"] for x in ("gate", "up")]
        out[h + "mlp.c_fc.weight"] = np.concatenate(fc, axis=0).T
        out[h + "mlp.c_proj.weight"] = tensors[hf + "mlp.down_proj.weight"].T
        out[h + "ln_1.weight"] = tensors[hf + "input_layernorm.weight"]
        out[h + "ln_2.weight"] = tensors[hf + "post_attention_layernorm.weight"]
    return out


def load_checkpoint(directory, dtype=torch.float32):
    """A glassbox (or HF GPT-2, or LlamaForCausalLM) checkpoint directory -> GPT2Reference."""
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    llama = cfg.get("model_type") == "llama"
    if llama:
        cfg = llama_config_to_glassbox(cfg)
    model = GPT2Reference(
        n_layer=cfg["n_layer"], n_head=cfg["n_head"], n_embd=cfg["n_embd"],
        n_positions=cfg["n_positions"], vocab_size=cfg["vocab_size"],
        padded_vocab_size=cfg.get("padded_vocab_size"), dtype=dtype,
        norm=cfg.get("norm", "layernorm"), norm_eps=cfg.get("norm_eps", LAYERNORM_EPS),
        position=cfg.get("position", "learned"), rope_theta=cfg.get("rope_theta", 10000.0),
        mlp=cfg.get("mlp", "gelu"), mlp_hidden=cfg.get("mlp_hidden"),
        n_kv_head=cfg.get("n_kv_head"), tie_embeddings=cfg.get("tie_word_embeddings", True),
        bias=cfg.get("bias", True), qk_norm=cfg.get("qk_norm", False))
    tensors, _ = safetensors_io.load(os.path.join(directory, "model.safetensors"))
    if llama:
        tensors = llama_tensors_to_glassbox(tensors, cfg["n_layer"])
    model.load_hf_state_dict(tensors)
    return model


def save_checkpoint(model, directory):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(model.hf_config(), f, indent=2)
    tensors = {k: v.to(torch.float32).numpy() for k, v in model.hf_state_dict().items()}
    safetensors_io.save(os.path.join(directory, "model.safetensors"), tensors, {"format": "pt"})
