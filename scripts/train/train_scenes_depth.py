#!/usr/bin/env python3
"""Trains the demo DPT depth model on generated 3D scenes and exports it in Hugging Face layout.

The scenes come from ViT Lens's TypeScript ray caster (src/scenes/depthScenes.ts), exported as raw
binary files by `node dist/exportDataset.js --out <dir>` (scripts/scenes/exportDataset.ts): 96 x 128
RGB images and the exact inverse depth 1/z of every pixel. Nothing here is needed at run time.

    /usr/bin/python3 scripts/train/train_scenes_depth.py --data <dir> [--out models/demo/scenes-depth]

Model (scripts/torchlib/dpt.py, as in the DPT cross-check): HF DPTForDepthEstimation's structure and module
names (dpt.embeddings / dpt.encoder.layer.N, neck.reassemble_stage.layers.N with readout "project",
neck.convs, neck.fusion_stage.layers.N with pre-activation residual units, head.head), so ViT Lens finds the
four neck levels by their node names (`/neck/reassemble_stage/layers.{i}/...`), as for the real DPT exports.
A small ViT backbone (hidden 64, 4 layers, 4 heads, patch 16) on a 6 x 8 patch grid; eager attention (one
Softmax per layer).

Output `predicted_depth` [batch, 96, 128]: relative inverse depth (larger is nearer), the DPT contract.
Loss: scale-and-shift-invariant L1 (MiDaS: per image, the least-squares scale and shift of the
prediction to the target, then the mean absolute residual), half of MiDaS's multi-scale gradient
matching on that residual (4 scales), and a quarter of plain L1 to the target (4 / z) that anchors the
scale so that the final ReLU never clips; horizontal flips as augmentation.
Inputs are exactly preprocessor_config.json's: (x / 255 - 0.5) / 0.5, no resize.
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torchlib import dpt, hf, train, vit  # noqa: E402
from torchlib.hf import to_pixels  # noqa: E402

HEIGHT, WIDTH = 96, 128
PATCH = 16
GRID = (HEIGHT // PATCH, WIDTH // PATCH)  # (6, 8)
HIDDEN = 64
HEADS = 4
LAYERS = 4
MLP = 2 * HIDDEN
OUT_INDICES = [0, 1, 2, 3]
NECK = [32, 48, 64, 96]
FACTORS = [4, 2, 1, 0.5]
FUSION = 32
LN_EPS = 1e-12
TARGET_SCALE = 4.0  # the model predicts 4 / z (z in metres): values ~0.3 ... 3.5
SIZE = dpt.DPTSize(vit.ViTSize(hidden=HIDDEN, heads=HEADS, layers=LAYERS, mlp=MLP, patch=PATCH, ln_eps=LN_EPS), OUT_INDICES, NECK, FACTORS, FUSION)


def build_model():
    return dpt.DPTForDepthEstimation(SIZE, vit.ViTEmbeddings(SIZE.backbone, GRID[0] * GRID[1]), grid=GRID)


def init_weights(model):
    for name, p in model.named_parameters():
        if name.endswith("cls_token") or name.endswith("position_embeddings"):
            nn.init.trunc_normal_(p, std=0.02)
        elif name.startswith("dpt.") and p.dim() >= 2:
            nn.init.trunc_normal_(p, std=0.02)
    with torch.no_grad():
        model.head.head[4].bias.fill_(1.0)  # start inside the final ReLU's positive range


def ssi_losses(pred, target, scales=4):
    """MiDaS: per image, the least-squares (s, t) with s * pred + t ~ target; the mean absolute residual
    (scale-and-shift-invariant L1) and the multi-scale gradient-matching term on the residual (sharp edges)."""
    b = pred.shape[0]
    p, t = pred.reshape(b, -1), target.reshape(b, -1)
    pm, tm = p.mean(1, keepdim=True), t.mean(1, keepdim=True)
    pc, tc = p - pm, t - tm
    s = (pc * tc).sum(1, keepdim=True) / (pc.pow(2).sum(1, keepdim=True) + 1e-6)
    residual = (s * pc - tc).reshape(pred.shape)
    grad = 0.0
    for k in range(scales):
        r = residual[:, ::2 ** k, ::2 ** k]
        grad = grad + (r[:, :, 1:] - r[:, :, :-1]).abs().mean() + (r[:, 1:, :] - r[:, :-1, :]).abs().mean()
    return residual.abs().mean(), grad / scales


def spearman(a, b):
    ra = np.argsort(np.argsort(a)).astype(np.float64)
    rb = np.argsort(np.argsort(b)).astype(np.float64)
    ra -= ra.mean()
    rb -= rb.mean()
    return float((ra * rb).sum() / math.sqrt((ra * ra).sum() * (rb * rb).sum()))


def load_split(data, split):
    inv = np.fromfile(os.path.join(data, f"depth_{split}_inverse.f32"), dtype="<f4")
    n = inv.size // (HEIGHT * WIDTH)
    images = np.fromfile(os.path.join(data, f"depth_{split}_images.u8"), dtype=np.uint8).reshape(n, HEIGHT, WIDTH, 3)
    return images, inv.reshape(n, HEIGHT, WIDTH)


@torch.no_grad()
def evaluate(model, images, inverse, batch=50):
    model.eval()
    preds = np.concatenate([model(to_pixels(images[i:i + batch])).numpy() for i in range(0, len(images), batch)])
    model.train()
    rhos = np.array([spearman(preds[i].ravel(), inverse[i].ravel()) for i in range(len(images))])
    return rhos, preds


def main():
    args = train.arguments("scenes-depth", steps=2500, batch=16, lr=1e-3, weight_decay=0.01, warmup=100)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    meta = json.load(open(os.path.join(args.data, "depth_meta.json")))
    train_x, train_y = load_split(args.data, "train")
    test_x, test_y = load_split(args.data, "test")
    print(f"train {train_x.shape}, test {test_x.shape}")

    model = build_model()
    init_weights(model)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, train.warmup_cosine(args.warmup, args.steps))
    rng = np.random.default_rng(args.seed)
    log = train.TrainLog(args.steps)
    for step in range(1, args.steps + 1):
        idx = np.sort(rng.choice(len(train_x), args.batch, replace=False))
        x = to_pixels(train_x[idx])
        y = torch.from_numpy(train_y[idx]) * TARGET_SCALE
        if rng.random() < 0.5:
            x, y = x.flip(3), y.flip(2)
        pred = model(x)
        ssi, grad = ssi_losses(pred, y)
        loss = ssi + 0.5 * grad + 0.25 * (pred - y).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        log.step(step, loss.item(), lambda: {"spearman_mean_50": float(evaluate(model, test_x[:50], test_y[:50])[0].mean())})
    train_seconds = log.seconds()

    rhos, preds = evaluate(model, test_x, test_y)
    positive = float((preds > 0).mean())
    print(f"held-out Spearman mean {rhos.mean():.4f}, median {np.median(rhos):.4f}, min {rhos.min():.4f} over {len(rhos)} scenes; {positive:.1%} of outputs > 0")

    out = os.path.abspath(args.out)
    onnx_path, graph, softmax = train.export_trained(model, to_pixels(test_x[:1]), out, "predicted_depth", LAYERS)
    nodes = graph.graph.node
    for i in range(4):
        assert any(f"reassemble_stage/layers.{i}/" in n.name for n in nodes), f"no node named like reassemble_stage/layers.{i}/"

    config = hf.vit_config(
        "DPTForDepthEstimation", "dpt", [HEIGHT, WIDTH], SIZE.backbone, qkv_bias=True, **dpt.neck_config(SIZE), attn_implementation="eager",
        vit_lens_description="Trained on procedurally generated 3D scenes (ray-cast spheres and boxes on a textured ground before a back wall), 96x128; predicts relative inverse depth.",
    )
    preprocessor = hf.preprocessor_config(HEIGHT, WIDTH, "DPTImageProcessor", resample=3, keep_aspect_ratio=False, ensure_multiple_of=32)
    metrics = {
        "train_scenes": meta["train"], "test_scenes": meta["test"], "steps": args.steps, "batch": args.batch, "lr": args.lr,
        "weight_decay": args.weight_decay, "warmup": args.warmup, "seed": args.seed, "threads": args.threads,
        "target": f"{TARGET_SCALE} / z", "train_seconds": round(train_seconds, 1), "torch": torch.__version__,
        "heldout_spearman_mean": float(rhos.mean()), "heldout_spearman_median": float(np.median(rhos)),
        "heldout_spearman_min": float(rhos.min()), "heldout_count": int(len(rhos)), "positive_share": positive,
        "onnx_bytes": os.path.getsize(onnx_path), "softmax_nodes": softmax, "log": log.entries,
    }
    train.write_model_folder(out, config, preprocessor, metrics, train_seconds)


if __name__ == "__main__":
    main()
