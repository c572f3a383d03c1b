#!/usr/bin/env python3
"""Trains the demo ViT classifier on generated shape scenes and exports it in Hugging Face layout.

The scenes come from ViT Lens's own TypeScript generator (src/scenes/shapes.ts), exported as raw
binary files by `node dist/exportDataset.js --out <dir>` (see scripts/scenes/exportDataset.ts), so
training and the TypeScript tests see byte-identical images. Nothing here is needed at run time.

    /usr/bin/python3 scripts/train/train_shapes_vit.py --data <dir> [--out models/demo/shapes-vit]

Needs Debian's python3-torch (1.13), python3-onnx and numpy (libopenblas0-pthread for speed).

Model: the module and parameter names of HF ViTForImageClassification (vit.embeddings.patch_embeddings
.projection, vit.encoder.layer.N.attention.attention.query, ...), pre-LN, CLS token, learned position
embeddings, Conv patch embedding (patch 16), exact GELU, LayerNorm eps 1e-12, and attention written out
(q k^T / sqrt(d) -> softmax -> v), so each layer's attention probabilities are one ONNX Softmax node.

Training: AdamW, linear warm-up then cosine decay, soft-target cross-entropy with label smoothing
(two-object scenes carry 0.5 / 0.5 targets), plus token labelling: an auxiliary head (not exported)
classifies each patch token by the class shares of its pixels; random horizontal flips. Inputs are exactly the preprocessing in preprocessor_config.json:
(x / 255 - 0.5) / 0.5 of the uint8 images, no resize (the scenes are 128 x 128).
"""

import argparse
import json
import math
import os
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

IMAGE = 128
PATCH = 16
GRID = IMAGE // PATCH
HIDDEN = 96
HEADS = 4
LAYERS = 4
MLP = 2 * HIDDEN
LN_EPS = 1e-12
OPSET = 14
MEAN = STD = 0.5


class ViTSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.query = nn.Linear(HIDDEN, HIDDEN)
        self.key = nn.Linear(HIDDEN, HIDDEN)
        self.value = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, x):
        b, n, _ = x.shape
        split = lambda t: t.reshape(b, n, HEADS, HIDDEN // HEADS).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        probs = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(HIDDEN // HEADS), dim=-1)
        return torch.matmul(probs, v).transpose(1, 2).reshape(b, n, HIDDEN)


class ViTSelfOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, x):
        return self.dense(x)


class ViTAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = ViTSelfAttention()
        self.output = ViTSelfOutput()

    def forward(self, x):
        return self.output(self.attention(x))


class ViTIntermediate(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(HIDDEN, MLP)

    def forward(self, x):
        return F.gelu(self.dense(x))


class ViTOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(MLP, HIDDEN)

    def forward(self, h, x):
        return self.dense(h) + x


class ViTLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = ViTAttention()
        self.intermediate = ViTIntermediate()
        self.output = ViTOutput()
        self.layernorm_before = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.layernorm_after = nn.LayerNorm(HIDDEN, eps=LN_EPS)

    def forward(self, x):
        x = self.attention(self.layernorm_before(x)) + x
        return self.output(self.intermediate(self.layernorm_after(x)), x)


class ViTEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.ModuleList([ViTLayer() for _ in range(LAYERS)])

    def forward(self, x):
        for layer in self.layer:
            x = layer(x)
        return x


class ViTPatchEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.projection = nn.Conv2d(3, HIDDEN, kernel_size=PATCH, stride=PATCH)

    def forward(self, x):
        return self.projection(x).flatten(2).transpose(1, 2)


class ViTEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, HIDDEN))
        self.patch_embeddings = ViTPatchEmbeddings()
        self.position_embeddings = nn.Parameter(torch.zeros(1, GRID * GRID + 1, HIDDEN))

    def forward(self, x):
        x = self.patch_embeddings(x)
        return torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.position_embeddings


class ViTModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = ViTEmbeddings()
        self.encoder = ViTEncoder()
        self.layernorm = nn.LayerNorm(HIDDEN, eps=LN_EPS)

    def forward(self, x):
        return self.layernorm(self.encoder(self.embeddings(x)))


class ViTForImageClassification(nn.Module):
    def __init__(self, num_labels):
        super().__init__()
        self.vit = ViTModel()
        self.classifier = nn.Linear(HIDDEN, num_labels)

    def forward(self, pixel_values):
        return self.classifier(self.vit(pixel_values)[:, 0, :])

    def forward_train(self, pixel_values, token_head):
        """Training only: the CLS logits and, from the same pass, per-patch logits of the token-label head."""
        hidden = self.vit(pixel_values)
        return self.classifier(hidden[:, 0, :]), token_head(hidden[:, 1:, :])


def sincos_2d(dim, grid):
    """2-D sine-cosine position codes (MAE / MoCo v3) for the patches; zeros for CLS: [1 + grid^2, dim]."""
    quarter = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float32) / quarter))
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32), torch.arange(grid, dtype=torch.float32), indexing="ij")
    oy, ox = ys.reshape(-1, 1) * omega, xs.reshape(-1, 1) * omega
    codes = torch.cat([torch.sin(ox), torch.cos(ox), torch.sin(oy), torch.cos(oy)], dim=1)
    return torch.cat([torch.zeros(1, dim), codes], dim=0)


def init_weights(model):
    """HF ViT's init (truncated normal, std 0.02, zero biases); position embeddings start as 2-D sine-cosine
    codes (still learned), which gives the small model its patch neighbourhoods from the first step."""
    for name, p in model.named_parameters():
        if name.endswith("position_embeddings"):
            with torch.no_grad():
                p.copy_(0.5 * sincos_2d(HIDDEN, GRID)[None])
        elif p.dim() >= 2 or name.endswith("cls_token"):
            nn.init.trunc_normal_(p, std=0.02)
        elif "layernorm" in name and name.endswith("weight"):
            nn.init.ones_(p)
        else:
            nn.init.zeros_(p)


def load_split(data, split, classes):
    n = os.path.getsize(os.path.join(data, f"shapes_{split}_labels.i32")) // 4
    images = np.fromfile(os.path.join(data, f"shapes_{split}_images.u8"), dtype=np.uint8).reshape(n, IMAGE, IMAGE, 3)
    targets = np.fromfile(os.path.join(data, f"shapes_{split}_targets.f32"), dtype="<f4").reshape(n, classes)
    labels = np.fromfile(os.path.join(data, f"shapes_{split}_labels.i32"), dtype="<i4")
    patches = np.fromfile(os.path.join(data, f"shapes_{split}_patches.f32"), dtype="<f4").reshape(n, GRID * GRID, classes)
    return images, targets, labels, patches


def to_pixels(batch_u8):
    """preprocessor_config.json exactly: rescale 1/255, normalise mean = std = 0.5, HWC -> CHW."""
    x = torch.from_numpy(batch_u8).permute(0, 3, 1, 2).float() * (1 / 255)
    return (x - MEAN) / STD


def augment(x, patches, gen):
    """Random horizontal flips (the shapes are upright within 20 degrees, so no vertical flips or turns);
    the per-patch labels [B, 64, C] flip with the image."""
    if torch.rand(1, generator=gen).item() < 0.5:
        b, p, c = patches.shape
        return x.flip(3), patches.reshape(b, GRID, GRID, c).flip(2).reshape(b, p, c)
    return x, patches


@torch.no_grad()
def evaluate(model, images, labels, batch=200):
    model.eval()
    preds = []
    for i in range(0, len(images), batch):
        preds.append(model(to_pixels(images[i:i + batch])).argmax(1).numpy())
    model.train()
    preds = np.concatenate(preds)
    return preds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "models", "demo", "shapes-vit"))
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--smoothing", type=float, default=0.05)
    ap.add_argument("--token-weight", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    meta = json.load(open(os.path.join(args.data, "shapes_meta.json")))
    classes = meta["classes"]
    nc = len(classes)
    train_x, train_t, _, train_p = load_split(args.data, "train", nc)
    test_x, _, test_y, _ = load_split(args.data, "test", nc)
    print(f"train {train_x.shape}, test {test_x.shape}, classes {classes}")

    model = ViTForImageClassification(nc)
    init_weights(model)
    # Token labelling (Jiang et al. 2021, LV-ViT): an auxiliary linear head classifies every patch token by
    # the class shares of its pixels (patchCoverage in src/scenes/shapes.ts). 64 labels per image instead
    # of one make the small ViT learn the shapes in far fewer steps; the head is not exported.
    token_head = nn.Linear(HIDDEN, nc)
    named = list(model.named_parameters()) + [("token_head." + n, p) for n, p in token_head.named_parameters()]
    decay = [p for n, p in named if p.dim() >= 2 and "embeddings" not in n]
    no_decay = [p for n, p in named if not (p.dim() >= 2 and "embeddings" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.999))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / args.warmup if s < args.warmup else 0.5 * (1 + math.cos(math.pi * (s - args.warmup) / max(1, args.steps - args.warmup))))

    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    log = []
    running = 0.0
    for step in range(1, args.steps + 1):
        idx = np.sort(rng.choice(len(train_x), args.batch, replace=False))
        x, tp = augment(to_pixels(train_x[idx]), torch.from_numpy(train_p[idx]), gen)
        t = torch.from_numpy(train_t[idx]) * (1 - args.smoothing) + args.smoothing / nc
        logits, token_logits = model.forward_train(x, token_head)
        loss = -(t * F.log_softmax(logits, dim=1)).sum(1).mean()
        loss = loss + args.token_weight * -(tp * F.log_softmax(token_logits, dim=-1)).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in named], 1.0)
        opt.step()
        sched.step()
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 100 == 0 or step == args.steps:
            entry = {"step": step, "loss": round(running, 4), "seconds": round(time.time() - t0, 1)}
            if step % 500 == 0 or step == args.steps:
                entry["test_accuracy"] = float((evaluate(model, test_x[:600], test_y[:600]) == test_y[:600]).mean())
            log.append(entry)
            print(json.dumps(entry), flush=True)
    train_seconds = time.time() - t0

    model.eval()
    preds = evaluate(model, test_x, test_y)
    acc = float((preds == test_y).mean())
    per_class = {classes[c]: float((preds[test_y == c] == c).mean()) for c in range(nc)}
    print(f"held-out accuracy {acc:.4f} on {len(test_y)} scenes; per class {per_class}")

    out = os.path.abspath(args.out)
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    onnx_path = os.path.join(out, "onnx", "model.onnx")
    example = to_pixels(test_x[:1])
    with torch.no_grad():
        torch.onnx.export(model, (example,), onnx_path, input_names=["pixel_values"], output_names=["logits"],
                          dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=OPSET, do_constant_folding=True, export_params=True)
    graph = onnx.load(onnx_path)
    onnx.checker.check_model(graph, full_check=True)
    softmax = [n.name for n in graph.graph.node if n.op_type == "Softmax"]
    assert len(softmax) == LAYERS, softmax

    config = {
        "architectures": ["ViTForImageClassification"],
        "model_type": "vit",
        "image_size": IMAGE,
        "patch_size": PATCH,
        "num_channels": 3,
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": MLP,
        "hidden_act": "gelu",
        "layer_norm_eps": LN_EPS,
        "qkv_bias": True,
        "attn_implementation": "eager",
        "id2label": {str(i): c for i, c in enumerate(classes)},
        "label2id": {c: i for i, c in enumerate(classes)},
        "vit_lens_description": "Trained on procedurally generated shapes among clutter, 128x128; classes: " + ", ".join(classes) + ".",
    }
    preprocessor = {
        "image_processor_type": "ViTImageProcessor",
        "do_resize": True,
        "size": {"height": IMAGE, "width": IMAGE},
        "resample": 2,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [MEAN] * 3,
        "image_std": [STD] * 3,
    }
    for name, obj in [("config.json", config), ("preprocessor_config.json", preprocessor)]:
        with open(os.path.join(out, name), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    metrics = {
        "train_scenes": meta["train"], "test_scenes": meta["test"], "two_object_share": meta["twoObjectShare"],
        "steps": args.steps, "batch": args.batch, "lr": args.lr, "weight_decay": args.weight_decay, "warmup": args.warmup,
        "label_smoothing": args.smoothing, "token_label_weight": args.token_weight, "seed": args.seed, "threads": args.threads, "train_seconds": round(train_seconds, 1),
        "torch": torch.__version__, "heldout_accuracy": acc, "heldout_per_class": per_class, "heldout_count": int(len(test_y)),
        "onnx_bytes": os.path.getsize(onnx_path), "softmax_nodes": softmax, "log": log,
    }
    with open(os.path.join(out, "training_metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
        f.write("\n")
    print(f"wrote {out} ({os.path.getsize(onnx_path) / 1e6:.2f} MB onnx), trained in {train_seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
