"""The ViT pieces of the trainers and the cross-check exporters.

`attend` and `split_heads` are the attention of every model here (the HF-layout ones below, export_vit's
flat layers, export_inside's fused-qkv blocks). The modules carry the class structure and parameter names of
Hugging Face's ViT (ViTSelfAttention, ViTSelfOutput, ViTIntermediate, ViTOutput, ViTLayer, ViTPatchEmbeddings,
ViTEmbeddings; DPT's backbone is the same with a DPTViT prefix), so exports get HF's parameter and node names:
pre-LN, CLS token, learned position embeddings, Conv patch embedding, exact (erf) GELU.

Parameter registration order matters: the scripts initialise weights by walking named_parameters() after a
seed, so reordering a module's attributes changes every weight after it.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class ViTSize:
    hidden: int
    heads: int
    layers: int
    mlp: int
    patch: int
    ln_eps: float = 1e-12  # Hugging Face ViT's default layer_norm_eps

    @property
    def head_dim(self):
        return self.hidden // self.heads


def split_heads(t, heads, head_dim):
    """[B, N, heads * head_dim] -> [B, heads, N, head_dim] (HF's transpose_for_scores; sizes read from t)."""
    b, n, _ = t.shape
    return t.reshape(b, n, heads, head_dim).transpose(1, 2)


def attend(q, k, v, head_dim):
    """Eager scaled dot-product attention (Vaswani et al. 2017), q, k, v [B, H, N, d]:
    probs = softmax(q k^T / sqrt(d)) [B, H, N, N] -- written out so that each layer's attention probabilities
    are exactly one ONNX Softmax node, the one ViT Lens taps -- and ctx = probs v [B, H, N, d]."""
    probs = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(head_dim), dim=-1)
    return torch.matmul(probs, v), probs


def prepend_cls(cls_token, tokens):
    """[1, 1, D] and [B, P, D] -> [B, 1 + P, D], CLS first."""
    return torch.cat([cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)


class ViTSelfAttention(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.size = size
        self.query = nn.Linear(size.hidden, size.hidden)
        self.key = nn.Linear(size.hidden, size.hidden)
        self.value = nn.Linear(size.hidden, size.hidden)

    def forward(self, x):
        s = self.size
        q = split_heads(self.query(x), s.heads, s.head_dim)
        k = split_heads(self.key(x), s.heads, s.head_dim)
        v = split_heads(self.value(x), s.heads, s.head_dim)
        ctx, probs = attend(q, k, v, s.head_dim)
        ctx = ctx.transpose(1, 2)  # [B, N, H, d]
        return ctx.reshape(ctx.shape[0], ctx.shape[1], s.hidden), probs


class Dense(nn.Module):
    """One Linear named `dense`: all that HF's ViTSelfOutput, ViTIntermediate and ViTOutput hold."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)


class ViTSelfOutput(Dense):
    def __init__(self, size):
        super().__init__(size.hidden, size.hidden)

    def forward(self, x):
        return self.dense(x)


class ViTIntermediate(Dense):
    def __init__(self, size):
        super().__init__(size.hidden, size.mlp)

    def forward(self, x):
        return F.gelu(self.dense(x))  # exact erf GELU (approximate="none")


class ViTOutput(Dense):
    def __init__(self, size):
        super().__init__(size.mlp, size.hidden)

    def forward(self, h, residual):
        return self.dense(h) + residual


class ViTAttention(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.attention = ViTSelfAttention(size)
        self.output = ViTSelfOutput(size)

    def forward(self, x):
        ctx, probs = self.attention(x)
        return self.output(ctx), probs


class ViTLayer(nn.Module):
    """Pre-LN block: x + attention(LN(x)), then x + MLP(LN(x)); returns (x, attention probabilities)."""

    def __init__(self, size):
        super().__init__()
        self.attention = ViTAttention(size)
        self.intermediate = ViTIntermediate(size)
        self.output = ViTOutput(size)
        self.layernorm_before = nn.LayerNorm(size.hidden, eps=size.ln_eps)
        self.layernorm_after = nn.LayerNorm(size.hidden, eps=size.ln_eps)

    def forward(self, x):
        a, probs = self.attention(self.layernorm_before(x))
        x = a + x
        return self.output(self.intermediate(self.layernorm_after(x)), x), probs


class ViTEncoder(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.layer = nn.ModuleList([ViTLayer(size) for _ in range(size.layers)])

    def forward(self, x):
        """Returns every layer's output and attention probabilities, in layer order."""
        hidden, attentions = [], []
        for layer in self.layer:
            x, probs = layer(x)
            hidden.append(x)
            attentions.append(probs)
        return hidden, attentions


class ViTPatchEmbeddings(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.projection = nn.Conv2d(3, size.hidden, kernel_size=size.patch, stride=size.patch)

    def forward(self, pixel_values):
        return self.projection(pixel_values).flatten(2).transpose(1, 2)  # [B, P, D], patches row-major


class ViTEmbeddings(nn.Module):
    """CLS + patch tokens plus a learned position table of 1 + `positions` rows."""

    def __init__(self, size, positions):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, size.hidden))
        self.patch_embeddings = ViTPatchEmbeddings(size)
        self.position_embeddings = nn.Parameter(torch.zeros(1, positions + 1, size.hidden))

    def forward(self, pixel_values):
        return prepend_cls(self.cls_token, self.patch_embeddings(pixel_values)) + self.position_embeddings
