#!/usr/bin/env python3
"""Trains the demo DPT depth model on generated 3D scenes and exports it in Hugging Face layout.

The scenes come from ViT Lens's TypeScript ray caster (src/scenes/depthScenes.ts), exported as raw
binary files by `node dist/exportDataset.js --out <dir>` (scripts/scenes/exportDataset.ts): 96 x 128
RGB images and the exact inverse depth 1/z of every pixel. Nothing here is needed at run time.

    /usr/bin/python3 scripts/train/train_scenes_depth.py --data <dir> [--out models/demo/scenes-depth]

Model: HF DPTForDepthEstimation's structure and module names (dpt.embeddings / dpt.encoder.layer.N,
neck.reassemble_stage.layers.N with readout "project", neck.convs, neck.fusion_stage.layers.N with
pre-activation residual units, head.head), so ViT Lens finds the four neck levels by their node names
(`/neck/reassemble_stage/layers.{i}/...`), as for the real DPT exports. A small ViT backbone (hidden 64,
4 layers, 4 heads, patch 16) on a 6 x 8 patch grid; eager attention (one Softmax per layer).

Output `predicted_depth` [batch, 96, 128]: relative inverse depth (larger is nearer), the DPT contract.
Loss: scale-and-shift-invariant L1 (MiDaS: per image, the least-squares scale and shift of the
prediction to the target, then the mean absolute residual), half of MiDaS's multi-scale gradient
matching on that residual (4 scales), and a quarter of plain L1 to the target (4 / z) that anchors the
scale so that the final ReLU never clips; horizontal flips as augmentation.
Inputs are exactly preprocessor_config.json's: (x / 255 - 0.5) / 0.5, no resize.
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
OPSET = 14
MEAN = STD = 0.5
TARGET_SCALE = 4.0  # the model predicts 4 / z (z in metres): values ~0.3 ... 3.5


class DPTViTEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, HIDDEN))
        self.patch_embeddings = nn.Module()
        self.patch_embeddings.projection = nn.Conv2d(3, HIDDEN, kernel_size=PATCH, stride=PATCH)
        self.position_embeddings = nn.Parameter(torch.zeros(1, GRID[0] * GRID[1] + 1, HIDDEN))

    def forward(self, x):
        x = self.patch_embeddings.projection(x).flatten(2).transpose(1, 2)
        return torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.position_embeddings


class DPTSelfAttention(nn.Module):
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


class DPTViTAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = DPTSelfAttention()
        self.output = nn.Module()
        self.output.dense = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, x):
        return self.output.dense(self.attention(x))


class DPTViTLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = DPTViTAttention()
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(HIDDEN, MLP)
        self.output = nn.Module()
        self.output.dense = nn.Linear(MLP, HIDDEN)
        self.layernorm_before = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.layernorm_after = nn.LayerNorm(HIDDEN, eps=LN_EPS)

    def forward(self, x):
        x = self.attention(self.layernorm_before(x)) + x
        return self.output.dense(F.gelu(self.intermediate.dense(self.layernorm_after(x)))) + x


class DPTViTEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.ModuleList([DPTViTLayer() for _ in range(LAYERS)])

    def forward(self, x):
        hidden = []
        for layer in self.layer:
            x = layer(x)
            hidden.append(x)
        return hidden


class DPTModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = DPTViTEmbeddings()
        self.encoder = DPTViTEncoder()

    def forward(self, pixel_values):
        return self.encoder(self.embeddings(pixel_values))


class DPTReassembleLayer(nn.Module):
    def __init__(self, channels, factor):
        super().__init__()
        self.projection = nn.Conv2d(HIDDEN, channels, kernel_size=1)
        if factor > 1:
            self.resize = nn.ConvTranspose2d(channels, channels, kernel_size=factor, stride=factor, padding=0)
        elif factor == 1:
            self.resize = nn.Identity()
        else:
            self.resize = nn.Conv2d(channels, channels, kernel_size=3, stride=int(1 / factor), padding=1)

    def forward(self, x):
        return self.resize(self.projection(x))


class DPTReassembleStage(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([DPTReassembleLayer(c, f) for c, f in zip(NECK, FACTORS)])
        self.readout_projects = nn.ModuleList([nn.Sequential(nn.Linear(2 * HIDDEN, HIDDEN), nn.GELU()) for _ in NECK])

    def forward(self, hidden_states):
        out = []
        for i, h in enumerate(hidden_states):
            cls, tokens = h[:, :1], h[:, 1:]
            x = self.readout_projects[i](torch.cat((tokens, cls.expand_as(tokens)), -1))  # readout "project"
            x = x.transpose(1, 2).reshape(h.shape[0], HIDDEN, GRID[0], GRID[1])
            out.append(self.layers[i](x))
        return out


class DPTPreActResidualLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.activation1 = nn.ReLU()
        self.convolution1 = nn.Conv2d(FUSION, FUSION, kernel_size=3, padding=1)
        self.activation2 = nn.ReLU()
        self.convolution2 = nn.Conv2d(FUSION, FUSION, kernel_size=3, padding=1)

    def forward(self, x):
        return self.convolution2(self.activation2(self.convolution1(self.activation1(x)))) + x


class DPTFeatureFusionLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.projection = nn.Conv2d(FUSION, FUSION, kernel_size=1)
        self.residual_layer1 = DPTPreActResidualLayer()
        self.residual_layer2 = DPTPreActResidualLayer()

    def forward(self, hidden_state, residual=None):
        if residual is not None:
            hidden_state = hidden_state + self.residual_layer1(residual)
        hidden_state = self.residual_layer2(hidden_state)
        hidden_state = F.interpolate(hidden_state, scale_factor=2, mode="bilinear", align_corners=True)
        return self.projection(hidden_state)


class DPTFeatureFusionStage(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([DPTFeatureFusionLayer() for _ in NECK])

    def forward(self, features):
        fused = None
        for feature, layer in zip(features[::-1], self.layers):
            fused = layer(feature) if fused is None else layer(fused, feature)
        return fused


class DPTNeck(nn.Module):
    def __init__(self):
        super().__init__()
        self.reassemble_stage = DPTReassembleStage()
        self.convs = nn.ModuleList([nn.Conv2d(c, FUSION, kernel_size=3, padding=1, bias=False) for c in NECK])
        self.fusion_stage = DPTFeatureFusionStage()

    def forward(self, hidden_states):
        levels = self.reassemble_stage(hidden_states)
        return self.fusion_stage([conv(l) for conv, l in zip(self.convs, levels)])


class DPTDepthEstimationHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Sequential(
            nn.Conv2d(FUSION, FUSION // 2, kernel_size=3, stride=1, padding=1),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
            nn.Conv2d(FUSION // 2, 32, kernel_size=3, stride=1, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 1, kernel_size=1, stride=1, padding=0),
            nn.ReLU(),
        )

    def forward(self, fused):
        return self.head(fused).squeeze(dim=1)


class DPTForDepthEstimation(nn.Module):
    def __init__(self):
        super().__init__()
        self.dpt = DPTModel()
        self.neck = DPTNeck()
        self.head = DPTDepthEstimationHead()

    def forward(self, pixel_values):
        hidden = self.dpt(pixel_values)
        return self.head(self.neck([hidden[i] for i in OUT_INDICES]))


def init_weights(model):
    for name, p in model.named_parameters():
        if name.endswith("cls_token") or name.endswith("position_embeddings"):
            nn.init.trunc_normal_(p, std=0.02)
        elif name.startswith("dpt.") and p.dim() >= 2:
            nn.init.trunc_normal_(p, std=0.02)
    with torch.no_grad():
        model.head.head[4].bias.fill_(1.0)  # start inside the final ReLU's positive range


def to_pixels(batch_u8):
    x = torch.from_numpy(batch_u8).permute(0, 3, 1, 2).float() * (1 / 255)
    return (x - MEAN) / STD


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
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "models", "demo", "scenes-depth"))
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    meta = json.load(open(os.path.join(args.data, "depth_meta.json")))
    train_x, train_y = load_split(args.data, "train")
    test_x, test_y = load_split(args.data, "test")
    print(f"train {train_x.shape}, test {test_x.shape}")

    model = DPTForDepthEstimation()
    init_weights(model)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / args.warmup if s < args.warmup else 0.5 * (1 + math.cos(math.pi * (s - args.warmup) / max(1, args.steps - args.warmup))))
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    log = []
    running = None
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
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 100 == 0 or step == args.steps:
            entry = {"step": step, "loss": round(running, 4), "seconds": round(time.time() - t0, 1)}
            if step % 500 == 0 or step == args.steps:
                rhos, _ = evaluate(model, test_x[:50], test_y[:50])
                entry["spearman_mean_50"] = float(rhos.mean())
            log.append(entry)
            print(json.dumps(entry), flush=True)
    train_seconds = time.time() - t0

    rhos, preds = evaluate(model, test_x, test_y)
    positive = float((preds > 0).mean())
    print(f"held-out Spearman mean {rhos.mean():.4f}, median {np.median(rhos):.4f}, min {rhos.min():.4f} over {len(rhos)} scenes; {positive:.1%} of outputs > 0")

    out = os.path.abspath(args.out)
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    onnx_path = os.path.join(out, "onnx", "model.onnx")
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, (to_pixels(test_x[:1]),), onnx_path, input_names=["pixel_values"], output_names=["predicted_depth"],
                          dynamic_axes={"pixel_values": {0: "batch"}, "predicted_depth": {0: "batch"}},
                          opset_version=OPSET, do_constant_folding=True, export_params=True)
    graph = onnx.load(onnx_path)
    onnx.checker.check_model(graph, full_check=True)
    nodes = graph.graph.node
    softmax = [n.name for n in nodes if n.op_type == "Softmax"]
    assert len(softmax) == LAYERS, softmax
    for i in range(4):
        assert any(f"reassemble_stage/layers.{i}/" in n.name for n in nodes), f"no node named like reassemble_stage/layers.{i}/"

    config = {
        "architectures": ["DPTForDepthEstimation"], "model_type": "dpt", "image_size": [HEIGHT, WIDTH], "patch_size": PATCH,
        "num_channels": 3, "hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "intermediate_size": MLP,
        "hidden_act": "gelu", "layer_norm_eps": LN_EPS, "qkv_bias": True, "backbone_out_indices": OUT_INDICES, "neck_hidden_sizes": NECK,
        "reassemble_factors": FACTORS, "fusion_hidden_size": FUSION, "readout_type": "project", "is_hybrid": False, "head_in_index": -1,
        "attn_implementation": "eager",
        "vit_lens_description": "Trained on procedurally generated 3D scenes (ray-cast spheres and boxes on a textured ground before a back wall), 96x128; predicts relative inverse depth.",
    }
    preprocessor = {
        "image_processor_type": "DPTImageProcessor", "do_resize": True, "size": {"height": HEIGHT, "width": WIDTH},
        "keep_aspect_ratio": False, "ensure_multiple_of": 32, "resample": 3, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": [MEAN] * 3, "image_std": [STD] * 3,
    }
    for name, obj in [("config.json", config), ("preprocessor_config.json", preprocessor)]:
        with open(os.path.join(out, name), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    metrics = {
        "train_scenes": meta["train"], "test_scenes": meta["test"], "steps": args.steps, "batch": args.batch, "lr": args.lr,
        "weight_decay": args.weight_decay, "warmup": args.warmup, "seed": args.seed, "threads": args.threads,
        "target": f"{TARGET_SCALE} / z", "train_seconds": round(train_seconds, 1), "torch": torch.__version__,
        "heldout_spearman_mean": float(rhos.mean()), "heldout_spearman_median": float(np.median(rhos)),
        "heldout_spearman_min": float(rhos.min()), "heldout_count": int(len(rhos)), "positive_share": positive,
        "onnx_bytes": os.path.getsize(onnx_path), "softmax_nodes": softmax, "log": log,
    }
    with open(os.path.join(out, "training_metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
        f.write("\n")
    print(f"wrote {out} ({os.path.getsize(onnx_path) / 1e6:.2f} MB onnx), trained in {train_seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
