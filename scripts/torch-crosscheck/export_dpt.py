#!/usr/bin/env python3
"""Independent PyTorch cross-check of ViT Lens's dense predictions (DPT depth).

What this does
--------------
Builds a tiny Dense Prediction Transformer in plain PyTorch with the module
structure and names of Hugging Face's DPTForDepthEstimation (ViT backbone
`dpt.embeddings` / `dpt.encoder.layer.N`, neck `neck.reassemble_stage` with
readout "project", `neck.convs`, `neck.fusion_stage`, head `head.head`),
deterministic weights, exports it with torch.onnx.export (eager attention, so
each layer's probabilities are one Softmax node), runs it in PyTorch on a fixed
pixel tensor, and writes what the TypeScript tests compare against:

  test/fixtures/torch-dpt/
    model/model.onnx                input pixel_values [1,3,64,96], output
                                    predicted_depth [1,64,96]; attention and
                                    neck levels are NOT outputs (ViT Lens taps
                                    them: Softmax nodes, reassemble_stage names)
    model/config.json               HF-style DPT config
    model/preprocessor_config.json  DPTImageProcessor keys
    image.png                       the 96x64 RGB image the pixels come from
    pixel_values.f32                (image / 255 - 0.5) / 0.5, float32 C order
    predicted_depth.f32             torch's output [1,64,96]
    attentions.f32                  [4 layers, 4 heads, 25, 25] probabilities
    neck.f32                        the 4 reassembled levels, finest first,
                                    each [C,h,w], concatenated
    expected.json                   shapes, node names, depth percentiles,
                                    numpy PCA of each neck level, and torch
                                    F.interpolate references (bicubic, bilinear,
                                    argmax) on small seeded random maps

Model: input [1,3,64,96] (non-square), patch 16 -> grid 4x6 = 24 patches + CLS;
the position embedding is trained for a square 4x4 grid (image_size 64) and
resized to 4x6 at run time as HF's DPTViTEmbeddings._resize_pos_embed does
(bilinear); hidden 32, 4 pre-LN layers, 4 heads, MLP 64 (erf GELU), LayerNorm
eps 1e-12; backbone_out_indices [0,1,2,3]; neck_hidden_sizes [8,16,24,32],
reassemble factors 4, 2, 1, 0.5 (ConvTranspose, ConvTranspose, identity,
Conv stride 2) -> levels 16x24, 8x12, 4x6, 2x3; fusion_hidden_size 8 with
pre-activation residual conv units and bilinear x2 (align_corners=True); depth
head Conv 8->4, Upsample x2, Conv 4->32, ReLU, Conv 32->1, ReLU -> [1,64,96].

How to run
----------
From the repository root (Debian bookworm: torch 1.13, onnx 1.12, numpy 1.24):

    apt-get install -y python3-torch python3-onnx python3-numpy
    /usr/bin/python3 scripts/torch-crosscheck/export_dpt.py

Outputs are deterministic (fixed seeds); the fixtures are committed so the
tests do not need torch.
"""

import math
import os
import struct
import sys
import zlib

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torchlib import dpt, hf, vit  # noqa: E402
from torchlib.export import OPSET, export_onnx, init_in_order, softmax_nodes  # noqa: E402

HEIGHT, WIDTH = 64, 96
PATCH = 16
GRID = (HEIGHT // PATCH, WIDTH // PATCH)  # (4, 6)
TRAINED_GRID = 4  # position embedding trained at image_size 64 (square), resized to GRID
HIDDEN = 32
HEADS = 4
LAYERS = 4
MLP = 64
OUT_INDICES = [0, 1, 2, 3]
NECK = [8, 16, 24, 32]
FACTORS = [4, 2, 1, 0.5]
FUSION = 8
LN_EPS = 1e-12
SEED = 0
IMAGE_SEED = 2024
SIZE = dpt.DPTSize(vit.ViTSize(hidden=HIDDEN, heads=HEADS, layers=LAYERS, mlp=MLP, patch=PATCH, ln_eps=LN_EPS), OUT_INDICES, NECK, FACTORS, FUSION)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "test", "fixtures", "torch-dpt")


# ---------------------------------------------------------------------------
# Model: HF DPT module structure and names (torchlib.dpt), tiny
# ---------------------------------------------------------------------------
class DPTViTEmbeddings(vit.ViTEmbeddings):
    """HF's DPTViTEmbeddings: the position table is for the square TRAINED_GRID, resized to the input's grid."""

    def __init__(self):
        super().__init__(SIZE.backbone, TRAINED_GRID * TRAINED_GRID)

    def _resize_pos_embed(self, posemb, grid_h, grid_w):
        tok, grid = posemb[:, :1], posemb[0, 1:]
        old = int(math.sqrt(len(grid)))
        grid = grid.reshape(1, old, old, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(grid_h, grid_w), mode="bilinear")
        grid = grid.permute(0, 2, 3, 1).reshape(1, grid_h * grid_w, -1)
        return torch.cat([tok, grid], dim=1)

    def forward(self, pixel_values):
        _, _, h, w = pixel_values.shape
        pos = self._resize_pos_embed(self.position_embeddings, h // PATCH, w // PATCH)
        return vit.prepend_cls(self.cls_token, self.patch_embeddings(pixel_values)) + pos


def init_weights(model):
    """Deterministic init, parameters in registration order; the last conv's bias keeps depth positive."""
    modules = dict(model.named_modules())

    def init(name, p):
        if name.endswith("query.weight") or name.endswith("key.weight"):
            p.normal_(0.0, 0.3)
        elif "layernorm" in name and name.endswith("weight"):
            p.copy_(1.0 + 0.1 * torch.randn_like(p))
        elif name in ("dpt.embeddings.cls_token", "dpt.embeddings.position_embeddings"):
            p.normal_(0.0, 0.5)
        elif name == "head.head.4.bias":
            p.fill_(1.0)
        elif name.endswith("bias"):
            p.normal_(0.0, 0.05)
        else:
            fan_in = p[0].numel() if p.dim() >= 2 else 1
            if isinstance(modules.get(name.rsplit(".", 1)[0]), nn.ConvTranspose2d):
                fan_in = p.shape[0]  # ConvTranspose weight is [in, out, k, k]
            p.normal_(0.0, 1.0 / math.sqrt(fan_in))

    init_in_order(model, SEED, init)


# ---------------------------------------------------------------------------
# Input image and pixels
# ---------------------------------------------------------------------------
def make_image():
    """A smooth colour pattern with seeded noise, uint8 [H, W, 3]."""
    rng = np.random.default_rng(IMAGE_SEED)
    yy, xx = np.meshgrid(np.linspace(0.0, 1.0, HEIGHT), np.linspace(0.0, 1.0, WIDTH), indexing="ij")
    chans = [
        0.5 + 0.45 * np.sin(2 * np.pi * (0.8 * xx + 0.3 * yy)),
        0.5 + 0.45 * np.cos(2 * np.pi * (0.6 * yy - 0.9 * xx * yy)),
        np.exp(-((xx - 0.65) ** 2 + (yy - 0.35) ** 2) / 0.04),
    ]
    img = np.stack(chans, axis=-1) + 0.06 * rng.standard_normal((HEIGHT, WIDTH, 3))
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def write_png_rgb(path, img):
    """8-bit RGB PNG (filter 0 on every row), so the fixture needs no imaging library."""
    h, w, _ = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def pixels_from(img):
    """DPTImageProcessor without resizing: rescale 1/255, normalise mean = std = 0.5, [1, 3, H, W] float32."""
    return np.ascontiguousarray(hf.to_pixels(img[None]).numpy())


# ---------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------
def pca_reference(level):
    """numpy PCA of a [C,h,w] map (pixels as samples), top 3 components, sign: largest |entry| positive."""
    c = level.shape[0]
    x = level.reshape(c, -1).T.astype(np.float64)  # [n, C]
    x = x - x.mean(axis=0)
    cov = x.T @ x / (x.shape[0] - 1)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1][:3]
    comps = []
    for i in order:
        v = vectors[:, i]
        if v[np.argmax(np.abs(v))] < 0:
            v = -v
        comps.append(v.tolist())
    return {"explained": (values[order] / values.sum()).tolist(), "eigenvalues": values[order].tolist(), "components": comps}


def resample_references():
    """torch F.interpolate on seeded random maps: bicubic and bilinear (align_corners=False), argmax."""
    g = torch.Generator().manual_seed(7)
    depth = torch.randn(1, 1, 5, 7, generator=g)
    logits = torch.randn(1, 6, 5, 7, generator=g)
    out = {"depth": {"shape": [5, 7], "values": depth.flatten().tolist()}, "logits": {"shape": [6, 5, 7], "values": logits.flatten().tolist()}, "cases": []}
    for size in [(13, 11), (5, 7), (3, 4), (16, 3)]:
        bic = F.interpolate(depth, size=size, mode="bicubic", align_corners=False)[0, 0]
        bil = F.interpolate(depth, size=size, mode="bilinear", align_corners=False)[0, 0]
        up = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)[0]
        out["cases"].append({"size": list(size), "bicubic": bic.flatten().tolist(), "bilinear": bil.flatten().tolist(), "labels": up.argmax(dim=0).flatten().tolist()})
    return out


def write_f32(path, array):
    np.ascontiguousarray(array, dtype="<f4").tofile(path)


def main():
    torch.set_grad_enabled(False)
    model = dpt.DPTForDepthEstimation(SIZE, DPTViTEmbeddings()).eval()
    init_weights(model)
    img = make_image()
    pixels = pixels_from(img)
    x = torch.from_numpy(pixels)
    depth, attentions, levels = model.forward_all(x)
    depth_np = depth.numpy()
    positive = float((depth_np > 0).mean())
    assert positive > 0.9, f"only {positive:.0%} of the depth is positive: the final ReLU would hide differences"

    model_dir = os.path.join(OUT_DIR, "model")
    os.makedirs(model_dir, exist_ok=True)
    onnx_path = os.path.join(model_dir, "model.onnx")
    graph = export_onnx(model, x, onnx_path, ["predicted_depth"])
    nodes = graph.graph.node
    softmax = softmax_nodes(graph, LAYERS)
    neck_nodes = []
    for i in range(4):
        scoped = [n for n in nodes if f"reassemble_stage/layers.{i}/" in n.name]
        neck_nodes.append({"node": scoped[-1].name, "output": scoped[-1].output[0], "op": scoped[-1].op_type})
    ops = sorted({n.op_type for n in nodes})

    config = hf.vit_config("DPTForDepthEstimation", "dpt", TRAINED_GRID * PATCH, SIZE.backbone, **dpt.neck_config(SIZE))
    preprocessor = hf.preprocessor_config(HEIGHT, WIDTH, "DPTImageProcessor", resample=3, keep_aspect_ratio=False, ensure_multiple_of=1)
    hf.write_model_configs(model_dir, config, preprocessor)

    write_png_rgb(os.path.join(OUT_DIR, "image.png"), img)
    write_f32(os.path.join(OUT_DIR, "pixel_values.f32"), pixels)
    write_f32(os.path.join(OUT_DIR, "predicted_depth.f32"), depth_np)
    att = torch.stack([a[0] for a in attentions]).numpy()  # [L, H, N, N]
    write_f32(os.path.join(OUT_DIR, "attentions.f32"), att)
    level_np = [l[0].numpy() for l in levels]
    write_f32(os.path.join(OUT_DIR, "neck.f32"), np.concatenate([l.ravel() for l in level_np]))

    finite = depth_np.ravel().astype(np.float64)
    expected = {
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "numpy": np.__version__, "opset": OPSET},
        "pixelShape": list(pixels.shape),
        "depthShape": list(depth_np.shape),
        "attentionShape": list(att.shape),
        "grid": list(GRID),
        "patchSize": PATCH,
        "neckShapes": [list(l.shape) for l in level_np],
        "neckNodes": neck_nodes,
        "softmaxNodes": softmax,
        "ops": ops,
        "depthStats": {"min": float(finite.min()), "max": float(finite.max()), "p2": float(np.percentile(finite, 2)), "p98": float(np.percentile(finite, 98))},
        "pca": [pca_reference(l) for l in level_np],
        "resample": resample_references(),
        "definitions": (
            "depthStats: numpy float64 min, max and np.percentile (linear) 2 and 98 of predicted_depth. "
            "pca[i]: level i as [C, h*w] -> samples x channels, centred, covariance X^T X / (n-1), numpy eigh, "
            "top 3 eigenpairs descending; explained = eigenvalue / trace; each component's largest-|entry| is positive. "
            "resample.cases: torch.nn.functional.interpolate(align_corners=False) of resample.depth [1,1,5,7] "
            "(bicubic, bilinear) and of resample.logits [1,6,5,7] (bilinear, then argmax over dim 0) to each size."
        ),
    }
    hf.write_json(os.path.join(OUT_DIR, "expected.json"), expected, indent=1)

    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(OUT_DIR) for fn in fns)
    print(f"ops: {ops}")
    print(f"softmax nodes: {softmax}")
    print(f"neck nodes: {[n['node'] for n in neck_nodes]}")
    print(f"depth {depth_np.shape}: min {finite.min():.4f} max {finite.max():.4f}, {positive:.0%} positive")
    print(f"wrote {OUT_DIR} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
