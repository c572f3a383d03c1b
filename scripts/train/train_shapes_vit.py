#!/usr/bin/env python3
"""Trains the demo ViT classifier on generated shape scenes and exports it in Hugging Face layout.

The scenes come from ViT Lens's own TypeScript generator (src/scenes/shapes.ts), exported as raw
binary files by `node dist/exportDataset.js --out <dir>` (see scripts/scenes/exportDataset.ts), so
training and the TypeScript tests see byte-identical images. Nothing here is needed at run time.

    /usr/bin/python3 scripts/train/train_shapes_vit.py --data <dir> [--out models/demo/shapes-vit]

Needs Debian's python3-torch (1.13), python3-onnx and numpy (libopenblas0-pthread for speed).

Model (its blocks in scripts/torchlib/vit.py): the module and parameter names of HF ViTForImageClassification
(vit.embeddings.patch_embeddings.projection, vit.encoder.layer.N.attention.attention.query, ...), pre-LN, CLS
token, learned position embeddings, Conv patch embedding (patch 16), exact GELU, LayerNorm eps 1e-12, and
attention written out (q k^T / sqrt(d) -> softmax -> v), so each layer's attention probabilities are one ONNX
Softmax node.

Training: AdamW, linear warm-up then cosine decay, soft-target cross-entropy with label smoothing
(two-object scenes carry 0.5 / 0.5 targets), plus token labelling: an auxiliary head (not exported)
classifies each patch token by the class shares of its pixels; random horizontal flips. Inputs are exactly the preprocessing in preprocessor_config.json:
(x / 255 - 0.5) / 0.5 of the uint8 images, no resize (the scenes are 128 x 128).
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torchlib import hf, train, vit  # noqa: E402
from torchlib.hf import to_pixels  # noqa: E402

IMAGE = 128
PATCH = 16
GRID = IMAGE // PATCH
HIDDEN = 96
HEADS = 4
LAYERS = 4
MLP = 2 * HIDDEN
LN_EPS = 1e-12
SIZE = vit.ViTSize(hidden=HIDDEN, heads=HEADS, layers=LAYERS, mlp=MLP, patch=PATCH, ln_eps=LN_EPS)


class ViTModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = vit.ViTEmbeddings(SIZE, GRID * GRID)
        self.encoder = vit.ViTEncoder(SIZE)
        self.layernorm = nn.LayerNorm(HIDDEN, eps=LN_EPS)

    def forward(self, x):
        hidden, _ = self.encoder(self.embeddings(x))
        return self.layernorm(hidden[-1])


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
    args = train.arguments("shapes-vit", steps=5000, batch=32, lr=1.5e-3, weight_decay=0.05, warmup=200,
                           options=[("--smoothing", float, 0.05), ("--token-weight", float, 1.0)])

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
    sched = torch.optim.lr_scheduler.LambdaLR(opt, train.warmup_cosine(args.warmup, args.steps))

    rng = np.random.default_rng(args.seed)
    log = train.TrainLog(args.steps)
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
        log.step(step, loss.item(), lambda: {"test_accuracy": float((evaluate(model, test_x[:600], test_y[:600]) == test_y[:600]).mean())})
    train_seconds = log.seconds()

    model.eval()
    preds = evaluate(model, test_x, test_y)
    acc = float((preds == test_y).mean())
    per_class = {classes[c]: float((preds[test_y == c] == c).mean()) for c in range(nc)}
    print(f"held-out accuracy {acc:.4f} on {len(test_y)} scenes; per class {per_class}")

    out = os.path.abspath(args.out)
    onnx_path, _, softmax = train.export_trained(model, to_pixels(test_x[:1]), out, "logits", LAYERS)

    config = hf.vit_config(
        "ViTForImageClassification", "vit", IMAGE, SIZE, qkv_bias=True, attn_implementation="eager", **hf.labels(classes),
        vit_lens_description="Trained on procedurally generated shapes among clutter, 128x128; classes: " + ", ".join(classes) + ".",
    )
    preprocessor = hf.preprocessor_config(IMAGE, IMAGE, "ViTImageProcessor")
    metrics = {
        "train_scenes": meta["train"], "test_scenes": meta["test"], "two_object_share": meta["twoObjectShare"],
        "steps": args.steps, "batch": args.batch, "lr": args.lr, "weight_decay": args.weight_decay, "warmup": args.warmup,
        "label_smoothing": args.smoothing, "token_label_weight": args.token_weight, "seed": args.seed, "threads": args.threads, "train_seconds": round(train_seconds, 1),
        "torch": torch.__version__, "heldout_accuracy": acc, "heldout_per_class": per_class, "heldout_count": int(len(test_y)),
        "onnx_bytes": os.path.getsize(onnx_path), "softmax_nodes": softmax, "log": log.entries,
    }
    train.write_model_folder(out, config, preprocessor, metrics, train_seconds)


if __name__ == "__main__":
    main()
