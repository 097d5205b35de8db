"""An independent GPT-2 in PyTorch, written from the paper and nanoGPT's description, to check glassbox.

No transformers, no fused ops: every step is spelled out (layernorm, the tanh GELU, causal attention
with an explicit softmax) so a mismatch with glassbox points at one line of math.

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


def causal_self_attention(qkv, n_head):
    """qkv (B, T, 3C) -> (B, T, C): softmax(q k^T / sqrt(hs), causal) v per head, heads concatenated."""
    B, T, C3 = qkv.shape
    C = C3 // 3
    hs = C // n_head
    q, k, v = qkv.split(C, dim=2)
    q = q.view(B, T, n_head, hs).transpose(1, 2)  # (B, NH, T, hs)
    k = k.view(B, T, n_head, hs).transpose(1, 2)
    v = v.view(B, T, n_head, hs).transpose(1, 2)
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
                 dtype=torch.float32):
        super().__init__()
        self.n_layer, self.n_head, self.n_embd = n_layer, n_head, n_embd
        self.n_positions, self.vocab_size = n_positions, vocab_size
        self.padded_vocab_size = padded_vocab_size or pad_vocab(vocab_size)
        C, L = n_embd, n_layer
        P = torch.nn.Parameter

        def zeros(*shape):
            return P(torch.zeros(*shape, dtype=dtype))

        # A flat dict of HF-named parameters; nn.ParameterDict does not allow dots, so register by hand.
        self.hf_names = []

        def add(name, param):
            self.register_parameter(name.replace(".", "__"), param)
            self.hf_names.append(name)

        add("transformer.wte.weight", zeros(self.padded_vocab_size, C))
        add("transformer.wpe.weight", zeros(n_positions, C))
        for l in range(L):
            h = f"transformer.h.{l}."
            add(h + "ln_1.weight", P(torch.ones(C, dtype=dtype)))
            add(h + "ln_1.bias", zeros(C))
            add(h + "attn.c_attn.weight", zeros(C, 3 * C))  # Conv1D: (in, out)
            add(h + "attn.c_attn.bias", zeros(3 * C))
            add(h + "attn.c_proj.weight", zeros(C, C))
            add(h + "attn.c_proj.bias", zeros(C))
            add(h + "ln_2.weight", P(torch.ones(C, dtype=dtype)))
            add(h + "ln_2.bias", zeros(C))
            add(h + "mlp.c_fc.weight", zeros(C, 4 * C))
            add(h + "mlp.c_fc.bias", zeros(4 * C))
            add(h + "mlp.c_proj.weight", zeros(4 * C, C))
            add(h + "mlp.c_proj.bias", zeros(C))
        add("transformer.ln_f.weight", P(torch.ones(C, dtype=dtype)))
        add("transformer.ln_f.bias", zeros(C))

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
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                param.fill_(1.0)
            elif name.endswith(".bias"):
                param.zero_()
            else:
                std = residual_std if name.endswith("c_proj.weight") else 0.02
                param.copy_(torch.randn(param.shape, generator=g, dtype=torch.float64) * std)
        self.p("transformer.wte.weight")[self.vocab_size:].zero_()

    # ---- forward ----
    def forward(self, tokens, targets=None):
        """tokens (B, T) int64 -> logits (B, T, Vp); with targets also the mean loss over first V logits."""
        B, T = tokens.shape
        assert T <= self.n_positions, f"sequence length {T} > n_positions {self.n_positions}"
        p = self.p
        wte = p("transformer.wte.weight")
        x = wte[tokens] + p("transformer.wpe.weight")[:T]  # (B, T, C)
        for l in range(self.n_layer):
            h = f"transformer.h.{l}."
            a = layernorm(x, p(h + "ln_1.weight"), p(h + "ln_1.bias"))
            qkv = a @ p(h + "attn.c_attn.weight") + p(h + "attn.c_attn.bias")  # (B, T, 3C)
            y = causal_self_attention(qkv, self.n_head)
            x = x + (y @ p(h + "attn.c_proj.weight") + p(h + "attn.c_proj.bias"))
            m = layernorm(x, p(h + "ln_2.weight"), p(h + "ln_2.bias"))
            m = gelu_tanh(m @ p(h + "mlp.c_fc.weight") + p(h + "mlp.c_fc.bias"))  # (B, T, 4C)
            x = x + (m @ p(h + "mlp.c_proj.weight") + p(h + "mlp.c_proj.bias"))
        x = layernorm(x, p("transformer.ln_f.weight"), p("transformer.ln_f.bias"))
        logits = x @ wte.t()  # (B, T, Vp), the tied head
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
            if name == "transformer.wte.weight":
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
            if name == "transformer.wte.weight":
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
    """AdamW parameter groups as nanoGPT and glassbox: decay the 2-D weights (wte, wpe and the four
    matmul weights per layer), not the biases or layernorm gains."""
    decay = [p for _, p in model.named_hf_parameters() if p.dim() >= 2]
    no_decay = [p for _, p in model.named_hf_parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def load_checkpoint(directory, dtype=torch.float32):
    """A glassbox (or HF GPT-2) checkpoint directory -> GPT2Reference in `dtype`."""
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    model = GPT2Reference(
        n_layer=cfg["n_layer"], n_head=cfg["n_head"], n_embd=cfg["n_embd"],
        n_positions=cfg["n_positions"], vocab_size=cfg["vocab_size"],
        padded_vocab_size=cfg.get("padded_vocab_size"), dtype=dtype)
    tensors, _ = safetensors_io.load(os.path.join(directory, "model.safetensors"))
    model.load_hf_state_dict(tensors)
    return model


def save_checkpoint(model, directory):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(model.hf_config(), f, indent=2)
    tensors = {k: v.to(torch.float32).numpy() for k, v in model.hf_state_dict().items()}
    safetensors_io.save(os.path.join(directory, "model.safetensors"), tensors, {"format": "pt"})
