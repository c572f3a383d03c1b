#!/usr/bin/env python3
"""Independent PyTorch reference for ViT Lens's exact token removal (key masking).

ViT Lens removes a set S of patch tokens by adding -1e9 to the attention scores of the keys in S before
every Softmax of the ONNX graph (src/core/onnx/keyMask.ts). The claim is that this equals dropping the
tokens from the sequence right after the patch and position embeddings. This script checks the claim
from the other side: it builds small ViTs in plain PyTorch (the layers of export_vit.py), exports them to
ONNX (logits only), and for seeded random subsets S runs the PyTorch model with the tokens of S literally
removed from the sequence (index_select after the embeddings), writing the logits for the TypeScript test
(test/unit/analyses/explain/tokenRemoval.test.ts) to compare with onnxruntime on the key-masked graph.

Variants (input [1,3,32,48], patch 8: a 4x6 grid, 24 patches, the pixels of test/fixtures/torch-vit):
  vit        CLS + patches, classifier on CLS
  registers  CLS + 4 registers + patches (DINOv2 with registers: registers after the position embedding)
  deit       CLS + distillation token + patches, logits = mean of the two heads (DeiT)
  pooled     CLS + patches, classifier on [CLS, mean of the patch outputs] (DINOv2's head): key masking
             is NOT exact here (removed tokens still reach the mean); the test checks that ViT Lens says so

Run from the repository root with Debian's python3-torch / python3-onnx (/usr/bin/python3):
    python3 scripts/torch-crosscheck/token_removal.py
Writes test/fixtures/torch-token-removal/<variant>/{model.onnx,config.json,preprocessor_config.json} and
test/fixtures/torch-token-removal/expected.json. Deterministic (fixed seeds); committed, so CI needs no torch.
"""

import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import export_vit as base  # noqa: E402  (the layers, sizes, pixels and configs of the attention cross-check)
from torchlib import hf  # noqa: E402
from torchlib.export import export_onnx  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "test", "fixtures", "torch-token-removal")
SUBSETS = 24
SUBSET_SEED = 7
REGISTERS = 4


class VariantViT(nn.Module):
    def __init__(self, variant):
        super().__init__()
        self.variant = variant
        D = base.HIDDEN
        lead = 2 if variant == "deit" else 1  # tokens with a position embedding before the patches
        self.patch_embeddings = nn.Conv2d(base.CHANNELS, D, kernel_size=base.PATCH, stride=base.PATCH)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.dist_token = nn.Parameter(torch.zeros(1, 1, D)) if variant == "deit" else None
        self.register_tokens = nn.Parameter(torch.zeros(1, REGISTERS, D)) if variant == "registers" else None
        self.position_embeddings = nn.Parameter(torch.zeros(1, lead + base.NUM_PATCHES, D))
        self.layers = nn.ModuleList([base.EncoderLayer() for _ in range(base.LAYERS)])
        self.layernorm = nn.LayerNorm(D, eps=base.LN_EPS)
        self.classifier = nn.Linear(2 * D if variant == "pooled" else D, base.NUM_LABELS)
        self.dist_classifier = nn.Linear(D, base.NUM_LABELS) if variant == "deit" else None

    def special(self):
        """Tokens before the patches in the sequence the layers see."""
        return {"vit": 1, "pooled": 1, "deit": 2, "registers": 1 + REGISTERS}[self.variant]

    def forward(self, pixel_values, drop=None):
        """drop: patch indices removed from the sequence after the embeddings (None: keep all)."""
        x = self.patch_embeddings(pixel_values).flatten(2).transpose(1, 2)  # [B,P,D]
        B = x.shape[0]
        lead = [self.cls_token.expand(B, -1, -1)]
        if self.dist_token is not None:
            lead.append(self.dist_token.expand(B, -1, -1))
        x = torch.cat(lead + [x], dim=1) + self.position_embeddings
        if self.register_tokens is not None:
            x = torch.cat([x[:, :1], self.register_tokens.expand(B, -1, -1), x[:, 1:]], dim=1)
        if drop is not None and len(drop):
            s = self.special()
            keep = [t for t in range(x.shape[1]) if t < s or (t - s) not in set(drop)]
            x = x.index_select(1, torch.tensor(keep))  # the tokens of S are gone
        for layer in self.layers:
            x, _ = layer(x)
        x = self.layernorm(x)
        if self.variant == "pooled":
            return self.classifier(torch.cat([x[:, 0], x[:, self.special():].mean(dim=1)], dim=-1))
        if self.variant == "deit":
            return 0.5 * (self.classifier(x[:, 0]) + self.dist_classifier(x[:, 1]))
        return self.classifier(x[:, 0])


def config(variant):
    c = base.hf_config()
    if variant == "deit":
        c["model_type"] = "deit"
        c["architectures"] = ["DeiTForImageClassificationWithTeacher"]
    if variant == "registers":
        c["model_type"] = "dinov2_with_registers"
        c["num_register_tokens"] = REGISTERS
    return c


def main():
    pixels = np.fromfile(os.path.join(REPO_ROOT, "test", "fixtures", "torch-vit", "pixel_values.f32"), dtype="<f4")
    pixels = torch.from_numpy(pixels.reshape(1, base.CHANNELS, base.HEIGHT, base.WIDTH).copy())
    rng = np.random.default_rng(SUBSET_SEED)
    # Subsets of every size class: a few patches, about half, all but a few.
    subsets = []
    for i in range(SUBSETS):
        k = [1, 3, 6, 12, 18, 23][i % 6]
        subsets.append(sorted(int(j) for j in rng.choice(base.NUM_PATCHES, size=k, replace=False)))
    expected = {"pixels": "../torch-vit/pixel_values.f32", "grid": list(base.GRID), "subsets": subsets, "variants": {}}
    for variant in ["vit", "registers", "deit", "pooled"]:
        model = VariantViT(variant)
        base.init_weights(model)
        model.eval()
        d = os.path.join(OUT_DIR, variant)
        os.makedirs(d, exist_ok=True)
        with torch.no_grad():
            export_onnx(model, pixels, os.path.join(d, "model.onnx"), ["logits"])
            full = model(pixels)[0].tolist()
            dropped = [model(pixels, drop=s)[0].tolist() for s in subsets]
        hf.write_model_configs(d, config(variant), base.preprocessor_config())
        expected["variants"][variant] = {"specialTokens": model.special(), "logits": full, "dropped": dropped}
        print(f"{variant}: exported; {len(subsets)} dropped-token runs")
    hf.write_json(os.path.join(OUT_DIR, "expected.json"), expected, indent=1)


if __name__ == "__main__":
    main()
