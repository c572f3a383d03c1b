#!/usr/bin/env python3
"""Independent PyTorch cross-check for ViT Lens.

What this does
--------------
Builds a tiny Vision Transformer in plain PyTorch (same structure as Hugging
Face's ViTModel / ViTForImageClassification, but small, with deterministic
weights), exports it to ONNX with torch.onnx.export, runs it in PyTorch on a
fixed pixel tensor, and writes everything the TypeScript tests need to check
ViT Lens against PyTorch without having torch installed:

  test/fixtures/torch-vit/
    logits-only/model.onnx             output: logits only (attention must be
                                       tapped from the 3 Softmax nodes)
    logits-only/config.json            Hugging Face style ViT config
    logits-only/preprocessor_config.json
    with-attentions/model.onnx         outputs: logits, attentions.0/1/2
    with-attentions/config.json
    with-attentions/preprocessor_config.json
    pixel_values.f32                   input [1,3,32,48], raw little-endian
                                       float32, C order
    expected.json                      torch logits, attentions, CLS
                                       attention, numpy rollout reference,
                                       head statistics, top-5

Model: input pixel_values [1,3,32,48] (non-square on purpose), patch 8
(grid 4 rows x 6 cols = 24 patches, 25 tokens with CLS), hidden 32, 3 pre-LN
encoder layers, 4 heads of dim 8, MLP 64 with exact (erf) GELU, final
LayerNorm, 10-class linear head on the CLS token. Attention is written out
explicitly (q@k^T / sqrt(d) -> torch.softmax(dim=-1) -> @v) so that each
layer's attention probabilities are exactly one ONNX Softmax node.

How to run
----------
From the repository root:

    python3 scripts/torch-crosscheck/export_vit.py

It needs Debian's packages (bookworm: torch 1.13, onnx 1.12, numpy 1.24):

    apt-get install -y python3-torch python3-onnx python3-numpy

If another Python (pyenv, venv, ...) comes first on PATH, run it with the
system interpreter, /usr/bin/python3. If onnxruntime happens to be importable
in Python, the exported models are also run and compared with torch;
otherwise that step is skipped (scripts/torch-crosscheck/verify_ort.mjs does
the same check with onnxruntime-node).

Outputs are deterministic (fixed seeds); the fixtures are committed so CI does
not need torch.
"""

import math
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torchlib import hf, vit  # noqa: E402
from torchlib.export import OPSET, FirstOutput, export_onnx, init_in_order  # noqa: E402

# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------
HEIGHT, WIDTH = 32, 48
PATCH = 8
GRID = (HEIGHT // PATCH, WIDTH // PATCH)  # (rows, cols) = (4, 6)
NUM_PATCHES = GRID[0] * GRID[1]  # 24
NUM_TOKENS = NUM_PATCHES + 1  # 25
HIDDEN = 32
HEADS = 4
HEAD_DIM = HIDDEN // HEADS  # 8
LAYERS = 3
MLP = 64
NUM_LABELS = 10
CHANNELS = 3
LN_EPS = 1e-12  # Hugging Face ViT default layer_norm_eps
QK_STD = 0.3  # large q/k weights -> peaky (non-uniform) softmax rows
SEED = 0
PIXEL_SEED = 1234

SIZE = vit.ViTSize(hidden=HIDDEN, heads=HEADS, layers=LAYERS, mlp=MLP, patch=PATCH, ln_eps=LN_EPS)

ROLLOUT_FUSIONS = ["mean", "max", "min"]
ROLLOUT_DISCARD = [0.0, 0.5, 0.9]

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "test", "fixtures", "torch-vit")


# ---------------------------------------------------------------------------
# Model: a flat layout (attention.output, intermediate and output are bare Linears, layernorm_before first),
# not torchlib.vit's HF classes: its parameter names and init order make the committed weights.
# ---------------------------------------------------------------------------
class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.query = nn.Linear(HIDDEN, HIDDEN)
        self.key = nn.Linear(HIDDEN, HIDDEN)
        self.value = nn.Linear(HIDDEN, HIDDEN)
        self.output = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, x):
        b, n, _ = x.shape
        q = vit.split_heads(self.query(x), HEADS, HEAD_DIM)  # [B,H,N,hd]
        k = vit.split_heads(self.key(x), HEADS, HEAD_DIM)
        v = vit.split_heads(self.value(x), HEADS, HEAD_DIM)
        ctx, probs = vit.attend(q, k, v, HEAD_DIM)  # [B,H,N,hd], [B,H,N,N]
        ctx = ctx.transpose(1, 2).reshape(b, n, HIDDEN)
        return self.output(ctx), probs


class EncoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.layernorm_before = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.attention = SelfAttention()
        self.layernorm_after = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.intermediate = nn.Linear(HIDDEN, MLP)
        self.output = nn.Linear(MLP, HIDDEN)

    def forward(self, x):
        a, probs = self.attention(self.layernorm_before(x))
        x = x + a
        h = self.intermediate(self.layernorm_after(x))
        h = F.gelu(h)  # exact erf GELU (approximate="none")
        x = x + self.output(h)
        return x, probs


class TinyViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embeddings = nn.Conv2d(CHANNELS, HIDDEN, kernel_size=PATCH, stride=PATCH)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, HIDDEN))
        self.position_embeddings = nn.Parameter(torch.zeros(1, NUM_TOKENS, HIDDEN))
        self.layers = nn.ModuleList([EncoderLayer() for _ in range(LAYERS)])
        self.layernorm = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.classifier = nn.Linear(HIDDEN, NUM_LABELS)

    def forward(self, pixel_values):
        x = self.patch_embeddings(pixel_values)  # [B,D,4,6]
        x = x.flatten(2).transpose(1, 2)  # [B,24,D], row-major patches
        x = vit.prepend_cls(self.cls_token, x) + self.position_embeddings
        attentions = []
        for layer in self.layers:
            x, probs = layer(x)
            attentions.append(probs)
        x = self.layernorm(x)
        logits = self.classifier(x[:, 0, :])
        return logits, attentions


def init_parameter(name, p):
    if name.endswith("query.weight") or name.endswith("key.weight"):
        p.normal_(0.0, QK_STD)
    elif "layernorm" in name and name.endswith("weight"):
        p.copy_(1.0 + 0.1 * torch.randn_like(p))
    elif "layernorm" in name and name.endswith("bias"):
        p.normal_(0.0, 0.05)
    elif name.endswith("bias"):
        p.normal_(0.0, 0.05)
    elif name in ("cls_token", "position_embeddings"):
        p.normal_(0.0, 0.5)
    elif p.dim() >= 2:
        fan_in = p[0].numel()
        p.normal_(0.0, 1.0 / math.sqrt(fan_in))
    else:
        p.normal_(0.0, 0.1)


def init_weights(model):
    """Deterministic init (seed SEED, parameters in registration order)."""
    init_in_order(model, SEED, init_parameter)


class WithAttentions(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.vit = model  # the module name is the scope of every node: /vit/...

    def forward(self, pixel_values):
        logits, attentions = self.vit(pixel_values)
        return (logits, *attentions)


# ---------------------------------------------------------------------------
# Fixed input
# ---------------------------------------------------------------------------
def make_pixels():
    """Smooth pattern + seeded noise, in [-1, 1], shape [1,3,32,48]."""
    rng = np.random.default_rng(PIXEL_SEED)
    yy, xx = np.meshgrid(np.linspace(0.0, 1.0, HEIGHT), np.linspace(0.0, 1.0, WIDTH), indexing="ij")
    chans = [
        np.sin(2 * np.pi * (1.5 * xx + 0.5 * yy)),
        np.cos(2 * np.pi * (0.7 * yy - 1.2 * xx * yy)),
        2.0 * np.exp(-((xx - 0.7) ** 2 + (yy - 0.3) ** 2) / 0.05) - 1.0,
    ]
    img = np.stack(chans)[None] * 0.8 + 0.2 * rng.standard_normal((1, CHANNELS, HEIGHT, WIDTH))
    return np.clip(img, -1.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------
# References (numpy float64)
# ---------------------------------------------------------------------------
def rollout(attn, fusion, discard_ratio):
    """attn: [L, H, N, N] float64. Returns R[0, 1:] (not rescaled)."""
    L, _, N, _ = attn.shape
    R = np.eye(N)
    for l in range(L):
        if fusion == "mean":
            Fm = attn[l].mean(axis=0)
        elif fusion == "max":
            Fm = attn[l].max(axis=0)
        elif fusion == "min":
            Fm = attn[l].min(axis=0)
        else:
            raise ValueError(fusion)
        Fm = Fm.copy()
        if discard_ratio > 0:
            flat = Fm.reshape(-1)
            k = int(math.floor(N * N * discard_ratio))
            idx = np.argsort(flat, kind="stable")[:k]
            idx = idx[idx != 0]
            flat[idx] = 0.0
        A = 0.5 * Fm + 0.5 * np.eye(N)
        A = A / A.sum(axis=1, keepdims=True)
        R = A @ R
    return R[0, 1:]


def discard_margins(attn, fusion, discard_ratio):
    """Smallest relative gap, over layers, between the k-th and (k+1)-th
    smallest fused entries: how robust the discard set is to float noise."""
    L, _, N, _ = attn.shape
    k = int(math.floor(N * N * discard_ratio))
    gaps = []
    for l in range(L):
        Fm = {"mean": np.mean, "max": np.max, "min": np.min}[fusion](attn[l], axis=0)
        s = np.sort(Fm.reshape(-1), kind="stable")
        gaps.append((s[k] - s[k - 1]) / s[k])
    return min(gaps)


def rollout_sensitivity(attn, rel=1e-5, trials=20):
    """Max change of any rollout map when the attentions get random relative
    noise of size `rel` (a stand-in for float32 differences between runtimes)."""
    rng = np.random.default_rng(7)
    worst = 0.0
    for _ in range(trials):
        noisy = attn * (1.0 + rel * rng.uniform(-1.0, 1.0, attn.shape))
        for fusion in ROLLOUT_FUSIONS:
            for ratio in ROLLOUT_DISCARD:
                d = np.abs(rollout(noisy, fusion, ratio) - rollout(attn, fusion, ratio)).max()
                worst = max(worst, d)
    return worst


def patch_distances():
    rows, cols = GRID
    centres = np.array(
        [[(k // cols) * PATCH + PATCH / 2, (k % cols) * PATCH + PATCH / 2] for k in range(NUM_PATCHES)]
    )
    diff = centres[:, None, :] - centres[None, :, :]
    return np.sqrt((diff ** 2).sum(-1))  # [24,24] in pixels


def head_stats(attn):
    dist = patch_distances()
    out = []
    for l in range(attn.shape[0]):
        layer = []
        for h in range(attn.shape[1]):
            A = attn[l, h]
            P = A[1:, 1:]  # patch queries x patch keys, raw (not renormalised)
            mean_distance = float((P * dist).sum(axis=1).mean())
            with np.errstate(divide="ignore", invalid="ignore"):
                terms = np.where(A > 0, -A * np.log(A), 0.0)
            entropy = float(terms.sum(axis=1).mean())
            layer.append({"meanDistance": mean_distance, "entropy": entropy})
        out.append(layer)
    return out


DEFINITIONS = (
    "All references are computed in numpy float64 from the float32 PyTorch attention probabilities "
    "A_l[h] (shape [N,N], N=25 tokens: index 0 = CLS, indices 1..24 = patches in row-major order over "
    "the 4x6 grid, patch k at row k//6, col k%6). "
    "clsAttention[l][h] = A_l[h][0, 1:]. "
    "rollout (Abnar & Zuidema 2020, vit-explain semantics without its keepdim bug): R = I (NxN); for l = 0..L-1 "
    "in order: F = fuse_h(A_l[h]) elementwise over heads (mean|max|min); if discardRatio > 0: flatten F "
    "(row-major), k = floor(N*N*discardRatio), take the k smallest entries by np.argsort(flat, kind='stable')[:k], "
    "remove flat index 0 (CLS->CLS) from that set, set those entries to 0; Ahat = 0.5*F + 0.5*I; divide each ROW "
    "of Ahat by its row sum; R = Ahat @ R. map = R[0, 1:] (24 numbers, not rescaled). "
    "headStats[l][h].meanDistance = mean over the 24 patch queries i of sum over the 24 patch keys j of "
    "A[i,j]*dist(i,j), using raw probabilities restricted to patch rows/columns (NOT renormalised); dist = "
    "Euclidean distance between patch centres in pixels (centre of patch k = (row*8+4, col*8+4)). "
    "headStats[l][h].entropy = mean over all N query rows of -sum over all N columns of A[i,j]*ln(A[i,j]) "
    "(natural log; terms with A=0 count as 0). "
    "topk = the 5 largest entries of softmax(logits), descending."
)


# ---------------------------------------------------------------------------
# Export helpers
# ---------------------------------------------------------------------------
def hf_config():
    """image_size is only the height: the real input is non-square (see preprocessor_config)."""
    return hf.vit_config("ViTForImageClassification", "vit", HEIGHT, SIZE, qkv_bias=True, **hf.labels([f"class_{i}" for i in range(NUM_LABELS)]))


def preprocessor_config():
    return hf.preprocessor_config(HEIGHT, WIDTH, "ViTImageProcessor")


def describe(model, label):
    g = model.graph
    ops = {}
    for n in g.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1

    def shape(vi):
        return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in vi.type.tensor_type.shape.dim]

    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    graph_outputs = [o.name for o in g.output]
    print(f"\n== {label}")
    print("  opset:", [(o.domain or "ai.onnx", o.version) for o in model.opset_import])
    print("  inputs:", [(i.name, shape(i)) for i in g.input])
    print("  outputs:", [(o.name, shape(o)) for o in g.output])
    print("  initializers:", len(g.initializer))
    print("  ops:", dict(sorted(ops.items())))
    softmax = [n for n in g.node if n.op_type == "Softmax"]
    info = []
    for n in softmax:
        axis = [a.i for a in n.attribute if a.name == "axis"]
        out = n.output[0]
        feeds = [f"{c.op_type}:{c.name}" for c in consumers.get(out, [])]
        is_out = out in graph_outputs
        print(f"  Softmax {n.name!r} axis={axis} output={out!r} graph_output={is_out} consumers={feeds}")
        info.append({"node": n.name, "output": out, "axis": axis, "graphOutput": is_out, "consumers": feeds})
    assert len(softmax) == LAYERS, f"expected {LAYERS} Softmax nodes, found {len(softmax)}"
    return ops, info


def try_onnxruntime(paths, pixels, torch_logits, torch_attn):
    try:
        import onnxruntime as ort  # noqa: F401
    except ImportError:
        print("\nonnxruntime is not importable in this Python: skipping the ORT check "
              "(run `node scripts/torch-crosscheck/verify_ort.mjs` instead).")
        return
    for p in paths:
        sess = ort.InferenceSession(p, providers=["CPUExecutionProvider"])
        outs = sess.run(None, {"pixel_values": pixels})
        d = np.abs(outs[0] - torch_logits).max()
        msg = f"ORT {os.path.relpath(p, REPO_ROOT)}: max |logits diff| = {d:.3g}"
        if len(outs) > 1:
            da = max(np.abs(outs[1 + l] - torch_attn[l]).max() for l in range(LAYERS))
            msg += f", max |attention diff| = {da:.3g}"
        print(msg)


def main():
    print("torch", torch.__version__, "onnx", onnx.__version__, "numpy", np.__version__, "opset", OPSET)
    torch.set_num_threads(1)

    tiny = TinyViT()
    init_weights(tiny)
    tiny.eval()

    pixels = make_pixels()
    os.makedirs(OUT_DIR, exist_ok=True)
    pixels.astype("<f4").tofile(os.path.join(OUT_DIR, "pixel_values.f32"))
    x = torch.from_numpy(pixels)

    with torch.no_grad():
        logits_t, attn_t = tiny(x)
    logits = logits_t[0].numpy().astype(np.float32)
    attn32 = torch.stack(attn_t, 0)[:, 0].numpy().astype(np.float32)  # [L,H,N,N]
    attn = attn32.astype(np.float64)
    assert np.allclose(attn.sum(-1), 1.0, atol=1e-5)

    # ---- ONNX export
    paths = {}
    for variant, module, names in [
        ("logits-only", FirstOutput(tiny, "vit").eval(), ["logits"]),
        ("with-attentions", WithAttentions(tiny).eval(), ["logits"] + [f"attentions.{l}" for l in range(LAYERS)]),
    ]:
        d = os.path.join(OUT_DIR, variant)
        p = os.path.join(d, "model.onnx")
        model = export_onnx(module, x, p, names)
        describe(model, variant)
        hf.write_model_configs(d, hf_config(), preprocessor_config())
        paths[variant] = p

    try_onnxruntime(list(paths.values()), pixels, logits, attn32)

    # ---- references
    probs = np.exp(logits.astype(np.float64) - logits.max())
    probs /= probs.sum()
    order = np.argsort(-probs, kind="stable")[:5]
    topk = [{"index": int(i), "label": f"class_{i}", "probability": float(probs[i])} for i in order]

    rollouts = []
    print("\nrollout discard-set margins (relative gap between k-th and (k+1)-th smallest fused entry, min over layers):")
    for fusion in ROLLOUT_FUSIONS:
        for ratio in ROLLOUT_DISCARD:
            m = rollout(attn, fusion, ratio)
            rollouts.append({"fusion": fusion, "discardRatio": ratio, "map": m.tolist()})
            if ratio > 0:
                print(f"  {fusion:4s} {ratio}: {discard_margins(attn, fusion, ratio):.3g}")

    print(f"rollout sensitivity to 1e-5 relative attention noise: max |map diff| = {rollout_sensitivity(attn):.3g}")

    stats = head_stats(attn)
    cls_attn = attn[:, :, 0, 1:]

    print("\nattention peakiness: max prob per layer",
          [float(attn[l].max()) for l in range(LAYERS)],
          "min prob", float(attn.min()))
    for l in range(LAYERS):
        print(f"  layer {l}: entropy", [round(s["entropy"], 4) for s in stats[l]],
              "meanDistance", [round(s["meanDistance"], 3) for s in stats[l]])
    print("logits", np.round(logits, 5).tolist())
    print("topk", [(t["index"], round(t["probability"], 5)) for t in topk])

    expected = {
        "description": "PyTorch reference for the tiny ViT in test/fixtures/torch-vit (see README.md).",
        "generator": "scripts/torch-crosscheck/export_vit.py",
        "torchVersion": torch.__version__,
        "onnxVersion": onnx.__version__,
        "opset": OPSET,
        "pixelShape": [1, CHANNELS, HEIGHT, WIDTH],
        "pixelFile": "pixel_values.f32",
        "grid": [GRID[0], GRID[1]],
        "patchSize": PATCH,
        "numTokens": NUM_TOKENS,
        "numLayers": LAYERS,
        "numHeads": HEADS,
        "definitions": DEFINITIONS,
        "logits": [float(v) for v in logits],
        "topk": topk,
        "attentions": attn32.tolist(),
        "clsAttention": cls_attn.tolist(),
        "rollout": rollouts,
        "headStats": stats,
    }
    # float32 -> python float gives exact float32 values; json writes them with repr
    hf.write_json(os.path.join(OUT_DIR, "expected.json"), expected, indent=None)

    total = 0
    for root, _, files in os.walk(OUT_DIR):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    print(f"\nwrote {os.path.relpath(OUT_DIR, REPO_ROOT)} ({total / 1024:.1f} KiB)")


if __name__ == "__main__":
    sys.exit(main())
