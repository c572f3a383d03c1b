#!/usr/bin/env python3
"""Independent PyTorch / numpy cross-check of "Inside the ViT" (issue 19).

What this does
--------------
Builds a tiny DINOv2-with-registers-style Vision Transformer in plain PyTorch
(CLS token, learned position table added after the CLS concatenation, 4
register tokens inserted after CLS, pre-LN blocks with LayerScale, exact GELU),
exports it with torch.onnx.export (opset 14: LayerNorm is decomposed into
ReduceMean/Sub/Pow/Sqrt/Div, so the residual-stream finder sees a real
exporter's graph, not ViT Lens's own fixture builder), runs it in PyTorch on a
fixed pixel tensor and writes, computed here in numpy float64:

  anatomy     PCA of the patch-embedding filters W [D,3,p,p] (the D filters as
              rows of 3*p*p values, mean-centred; numpy.linalg.eigh of the
              covariance), the first 28 components and their explained
              variance ratios; cosine similarity of the position table's patch
              rows (the CLS row dropped).
  tokens      norms[l][t] = ||x_l[t]||_2 of the residual stream, l = 0 (after
              the embeddings, registers included) .. L (after block L);
              attentionReceived[l][t] = mean over heads h and queries q of
              A_l[h, q, t] (torch's softmax probabilities).
  features    PCA of the patch tokens x_l[firstPatch:] at two layers (rows =
              patches, mean-centred): explained variance ratios of the first
              three components and the scores of every patch on them.

  test/fixtures/torch-inside/
    model/onnx/model.onnx, model/config.json, model/preprocessor_config.json
    pixel_values.f32      input [1,3,48,48], raw little-endian float32, C order
    expected.json         the references above

How to run
----------
From the repository root, with Debian's packages (bookworm: torch 1.13, onnx
1.12, numpy 1.24; use /usr/bin/python3 when another Python comes first):

    /usr/bin/python3 scripts/torch-crosscheck/export_inside.py

Outputs are deterministic (fixed seeds) and committed, so the TypeScript test
(test/unit/analyses/inside/torchCrosscheck.test.ts) needs no Python.
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torchlib import hf, vit  # noqa: E402
from torchlib.export import FirstOutput, export_onnx, init_in_order  # noqa: E402

HEIGHT = WIDTH = 48
PATCH = 8
GRID = (HEIGHT // PATCH, WIDTH // PATCH)  # (6, 6)
NUM_PATCHES = GRID[0] * GRID[1]  # 36
REGISTERS = 4
HIDDEN = 32
HEADS = 4
HEAD_DIM = HIDDEN // HEADS
LAYERS = 3
MLP = 64
NUM_LABELS = 10
LN_EPS = 1e-6  # DINOv2's layer_norm_eps
SEED = 19
PIXEL_SEED = 1919
FILTER_COMPONENTS = 28
FEATURE_LAYERS = [2, 3]

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "test", "fixtures", "torch-inside")


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.qkv = nn.Linear(HIDDEN, 3 * HIDDEN)
        self.proj = nn.Linear(HIDDEN, HIDDEN)
        self.ls1 = nn.Parameter(torch.ones(HIDDEN))
        self.norm2 = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.fc1 = nn.Linear(HIDDEN, MLP)
        self.fc2 = nn.Linear(MLP, HIDDEN)
        self.ls2 = nn.Parameter(torch.ones(HIDDEN))

    def forward(self, x):
        b, n, _ = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, HEADS, HEAD_DIM).permute(2, 0, 3, 1, 4)
        ctx, probs = vit.attend(qkv[0], qkv[1], qkv[2], HEAD_DIM)  # q, k, v [B,H,N,hd] -> ctx, probs [B,H,N,N]
        ctx = ctx.transpose(1, 2).reshape(b, n, HIDDEN)
        x = x + self.ls1 * self.proj(ctx)
        x = x + self.ls2 * self.fc2(F.gelu(self.fc1(self.norm2(x))))
        return x, probs


class TinyDinoReg(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embeddings = nn.Conv2d(3, HIDDEN, kernel_size=PATCH, stride=PATCH)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, HIDDEN))
        self.position_embeddings = nn.Parameter(torch.zeros(1, 1 + NUM_PATCHES, HIDDEN))
        self.register_tokens = nn.Parameter(torch.zeros(1, REGISTERS, HIDDEN))
        self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
        self.norm = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.classifier = nn.Linear(HIDDEN, NUM_LABELS)

    def forward(self, pixel_values):
        x = self.patch_embeddings(pixel_values).flatten(2).transpose(1, 2)  # [B,36,D] row-major patches
        x = vit.prepend_cls(self.cls_token, x) + self.position_embeddings
        x = torch.cat([x[:, :1], self.register_tokens.expand(x.shape[0], -1, -1), x[:, 1:]], dim=1)  # [CLS, reg×4, patches]
        stream = [x]
        attentions = []
        for blk in self.blocks:
            x, probs = blk(x)
            stream.append(x)
            attentions.append(probs)
        logits = self.classifier(self.norm(x)[:, 0])
        return logits, stream, attentions


def init_parameter(name, p):
    if name.endswith("ls1") or name.endswith("ls2"):
        p.copy_(0.5 + 0.5 * torch.rand_like(p))  # LayerScale: a real Mul in the residual branch
    elif "norm" in name and name.endswith("weight"):
        p.copy_(1.0 + 0.1 * torch.randn_like(p))
    elif name.endswith("bias"):
        p.normal_(0.0, 0.05)
    elif name in ("cls_token", "position_embeddings", "register_tokens"):
        p.normal_(0.0, 0.5)
    elif name.endswith("qkv.weight"):
        p.normal_(0.0, 0.4)
    else:
        p.normal_(0.0, 1.0 / math.sqrt(p[0].numel()))


def make_pixels():
    rng = np.random.default_rng(PIXEL_SEED)
    yy, xx = np.meshgrid(np.linspace(0, 1, HEIGHT), np.linspace(0, 1, WIDTH), indexing="ij")
    blob = np.exp(-((xx - 0.55) ** 2 + (yy - 0.5) ** 2) / 0.04)  # a bright object in the middle
    chans = [2 * blob - 1, np.sin(3 * xx) * 0.5, 1.6 * blob - 0.8 + 0.3 * yy]
    img = np.stack(chans)[None] * 0.85 + 0.15 * rng.standard_normal((1, 3, HEIGHT, WIDTH))
    return np.clip(img, -1, 1).astype(np.float32)


def pca(rows, k):
    """rows [m, n] float64: mean-centred, eigh of X^T X / m; top k (values desc), scores X v."""
    x = rows - rows.mean(axis=0, keepdims=True)
    cov = x.T @ x / x.shape[0]
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    total = np.trace(cov)
    k = min(k, *rows.shape)
    return vecs[:, :k].T, np.clip(vals[:k], 0, None) / total, (x @ vecs[:, :k]).T


def cosine(rows):
    n = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return n @ n.T


def main():
    model = TinyDinoReg()
    init_in_order(model, SEED, init_parameter)
    model.eval()
    pixels = make_pixels()
    with torch.no_grad():
        _, stream, attentions = model(torch.from_numpy(pixels))
    stream = [s[0].double().numpy() for s in stream]  # [N, D] each
    attn = np.stack([a[0].double().numpy() for a in attentions])  # [L, H, N, N]

    first_patch = 1 + REGISTERS
    W = model.patch_embeddings.weight.detach().double().numpy()  # [D,3,p,p]
    comps, evr, _ = pca(W.reshape(HIDDEN, -1), FILTER_COMPONENTS)
    pos = model.position_embeddings.detach().double().numpy()[0, 1:]  # patch rows
    features = {}
    for layer in FEATURE_LAYERS:
        _, fevr, scores = pca(stream[layer][first_patch:], 3)
        features[str(layer)] = {"explainedVarianceRatio": fevr.tolist(), "scores": scores.tolist()}

    export_onnx(FirstOutput(model, "m"), torch.from_numpy(pixels), os.path.join(OUT_DIR, "model", "onnx", "model.onnx"), ["logits"])
    config = {
        "architectures": ["Dinov2WithRegistersForImageClassification"],
        "model_type": "dinov2_with_registers",
        "image_size": HEIGHT,
        "patch_size": PATCH,
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "num_register_tokens": REGISTERS,
        "id2label": {str(i): f"class_{i}" for i in range(NUM_LABELS)},
    }
    pre = hf.preprocessor_config(HEIGHT, WIDTH)
    with open(os.path.join(OUT_DIR, "model", "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(OUT_DIR, "model", "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
    pixels.astype("<f4").tofile(os.path.join(OUT_DIR, "pixel_values.f32"))
    expected = {
        "definitions": __doc__.split("What this does")[1].split("How to run")[0].strip(),
        "input": [1, 3, HEIGHT, WIDTH],
        "grid": list(GRID),
        "tokens": {"count": 1 + REGISTERS + NUM_PATCHES, "registers": REGISTERS, "firstPatch": first_patch},
        "anatomy": {
            "shape": list(W.shape),
            "components": comps.tolist(),
            "explainedVarianceRatio": evr.tolist(),
            "positionGrid": list(GRID),
            "similarity": cosine(pos).tolist(),
        },
        "norms": [np.linalg.norm(s, axis=1).tolist() for s in stream],
        "attentionReceived": attn.mean(axis=(1, 2)).tolist(),
        "features": features,
    }
    hf.write_json(os.path.join(OUT_DIR, "expected.json"), expected, indent=None)
    print("wrote", OUT_DIR)


if __name__ == "__main__":
    main()
