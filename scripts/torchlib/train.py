"""What the two demo-model trainers (scripts/train) share: options, schedule, log, export and model folder."""

import argparse
import json
import math
import os
import time

import torch

from . import hf
from .export import export_onnx, softmax_nodes

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def arguments(model, steps, batch, lr, weight_decay, warmup, options=()):
    """The trainers' common options (defaults per model) and a trainer's own `options`, (flag, type, default)
    each, listed before --seed and --threads; --out defaults to models/demo/<model>."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "models", "demo", model))
    ap.add_argument("--steps", type=int, default=steps)
    ap.add_argument("--batch", type=int, default=batch)
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--weight-decay", type=float, default=weight_decay)
    ap.add_argument("--warmup", type=int, default=warmup)
    for flag, kind, default in options:
        ap.add_argument(flag, type=kind, default=default)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    return ap.parse_args()


def warmup_cosine(warmup, steps):
    """LambdaLR factor of step s: linear warm-up over `warmup` steps, then cosine decay to 0 at `steps`."""
    return lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, steps - warmup)))


class TrainLog:
    """The running loss (EMA 0.98) printed and kept every 100 steps and at the last step, with `evaluate()`'s
    held-out numbers every 500; `entries` go into training_metrics.json."""

    def __init__(self, steps):
        self.steps = steps
        self.t0 = time.time()
        self.entries = []
        self.running = None

    def seconds(self):
        return time.time() - self.t0

    def step(self, step, loss, evaluate):
        self.running = loss if self.running is None else 0.98 * self.running + 0.02 * loss
        last = step == self.steps
        if step % 100 == 0 or last:
            entry = {"step": step, "loss": round(self.running, 4), "seconds": round(self.seconds(), 1)}
            if step % 500 == 0 or last:
                entry.update(evaluate())
            self.entries.append(entry)
            print(json.dumps(entry), flush=True)


def export_trained(model, example, out, output_name, layers):
    """out/onnx/model.onnx with the batch dynamic; returns its path, the loaded graph and its Softmax nodes (one per layer)."""
    model.eval()
    path = os.path.join(out, "onnx", "model.onnx")
    with torch.no_grad():
        graph = export_onnx(model, example, path, [output_name], dynamic_batch=True)
    return path, graph, softmax_nodes(graph, layers)


def write_model_folder(out, config, preprocessor, metrics, train_seconds):
    """config.json, preprocessor_config.json and training_metrics.json beside onnx/model.onnx."""
    hf.write_model_configs(out, config, preprocessor)
    hf.write_json(os.path.join(out, "training_metrics.json"), metrics, indent=1)
    onnx_bytes = os.path.getsize(os.path.join(out, "onnx", "model.onnx"))
    print(f"wrote {out} ({onnx_bytes / 1e6:.2f} MB onnx), trained in {train_seconds / 60:.1f} min")
