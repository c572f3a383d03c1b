"""The DPT of the depth trainer and the DPT cross-check (Ranftl et al. 2021, "Vision Transformers for Dense
Prediction"), with the module structure and names of Hugging Face's DPTForDepthEstimation: ViT backbone
`dpt.embeddings` / `dpt.encoder.layer.N`, neck `neck.reassemble_stage.layers.N` with readout "project",
`neck.convs`, `neck.fusion_stage.layers.N` with pre-activation residual units, head `head.head`. ViT Lens
finds the neck levels by their node names (`/neck/reassemble_stage/layers.{i}/...`), as in real DPT exports.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import vit


@dataclass(frozen=True)
class DPTSize:
    backbone: vit.ViTSize
    out_indices: tuple  # backbone_out_indices: the layers the neck reads
    neck: tuple  # neck_hidden_sizes, one per level
    factors: tuple  # reassemble_factors: 4, 2, 1, 0.5 -> ConvTranspose x4, ConvTranspose x2, identity, Conv stride 2
    fusion: int  # fusion_hidden_size


class DPTReassembleLayer(nn.Module):
    def __init__(self, hidden, channels, factor):
        super().__init__()
        self.projection = nn.Conv2d(hidden, channels, kernel_size=1)
        if factor > 1:
            self.resize = nn.ConvTranspose2d(channels, channels, kernel_size=factor, stride=factor, padding=0)
        elif factor == 1:
            self.resize = nn.Identity()
        else:
            self.resize = nn.Conv2d(channels, channels, kernel_size=3, stride=int(1 / factor), padding=1)

    def forward(self, x):
        return self.resize(self.projection(x))


class DPTReassembleStage(nn.Module):
    def __init__(self, size):
        super().__init__()
        hidden = size.backbone.hidden
        self.layers = nn.ModuleList([DPTReassembleLayer(hidden, c, f) for c, f in zip(size.neck, size.factors)])
        self.readout_projects = nn.ModuleList([nn.Sequential(nn.Linear(2 * hidden, hidden), nn.GELU()) for _ in size.neck])

    def forward(self, hidden_states, grid_h, grid_w):
        out = []
        for i, h in enumerate(hidden_states):
            cls, tokens = h[:, 0], h[:, 1:]  # [B,D], [B,P,D]
            b, p, c = tokens.shape
            feature_shape = (b, c, grid_h, grid_w)
            readout = cls.unsqueeze(1).expand_as(tokens)
            x = self.readout_projects[i](torch.cat((tokens, readout), -1))  # readout "project"
            x = x.permute(0, 2, 1).reshape(feature_shape)
            out.append(self.layers[i](x))
        return out


class DPTPreActResidualLayer(nn.Module):
    def __init__(self, fusion):
        super().__init__()
        self.activation1 = nn.ReLU()
        self.convolution1 = nn.Conv2d(fusion, fusion, kernel_size=3, padding=1)
        self.activation2 = nn.ReLU()
        self.convolution2 = nn.Conv2d(fusion, fusion, kernel_size=3, padding=1)

    def forward(self, x):
        return self.convolution2(self.activation2(self.convolution1(self.activation1(x)))) + x


class DPTFeatureFusionLayer(nn.Module):
    def __init__(self, fusion):
        super().__init__()
        self.projection = nn.Conv2d(fusion, fusion, kernel_size=1)
        self.residual_layer1 = DPTPreActResidualLayer(fusion)
        self.residual_layer2 = DPTPreActResidualLayer(fusion)

    def forward(self, hidden_state, residual=None):
        if residual is not None:
            hidden_state = hidden_state + self.residual_layer1(residual)
        hidden_state = self.residual_layer2(hidden_state)
        hidden_state = F.interpolate(hidden_state, scale_factor=2, mode="bilinear", align_corners=True)
        return self.projection(hidden_state)


class DPTFeatureFusionStage(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.layers = nn.ModuleList([DPTFeatureFusionLayer(size.fusion) for _ in size.neck])

    def forward(self, features):
        fused = None
        for feature, layer in zip(features[::-1], self.layers):  # from the coarsest level
            fused = layer(feature) if fused is None else layer(fused, feature)
        return fused


class DPTNeck(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.reassemble_stage = DPTReassembleStage(size)
        self.convs = nn.ModuleList([nn.Conv2d(c, size.fusion, kernel_size=3, padding=1, bias=False) for c in size.neck])
        self.fusion_stage = DPTFeatureFusionStage(size)

    def forward(self, hidden_states, grid_h, grid_w):
        """Returns the fused map and the reassembled levels (the inputs of `convs`), finest first."""
        levels = self.reassemble_stage(hidden_states, grid_h, grid_w)
        return self.fusion_stage([conv(l) for conv, l in zip(self.convs, levels)]), levels


class DPTDepthEstimationHead(nn.Module):
    def __init__(self, fusion):
        super().__init__()
        self.head = nn.Sequential(
            nn.Conv2d(fusion, fusion // 2, kernel_size=3, stride=1, padding=1),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
            nn.Conv2d(fusion // 2, 32, kernel_size=3, stride=1, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 1, kernel_size=1, stride=1, padding=0),
            nn.ReLU(),
        )

    def forward(self, fused):
        return self.head(fused).squeeze(dim=1)


class DPTModel(nn.Module):
    def __init__(self, size, embeddings):
        super().__init__()
        self.embeddings = embeddings
        self.encoder = vit.ViTEncoder(size.backbone)

    def forward(self, pixel_values):
        return self.encoder(self.embeddings(pixel_values))


class DPTForDepthEstimation(nn.Module):
    """`embeddings`: a vit.ViTEmbeddings whose position table fixes the patch grid, then `grid` = (rows, cols)
    (the export keeps static spatial sizes); or embeddings that resize their table to the input, then grid None
    and the grid is read from the input's size."""

    def __init__(self, size, embeddings, grid=None):
        super().__init__()
        self.size = size
        self.grid = grid
        self.dpt = DPTModel(size, embeddings)
        self.neck = DPTNeck(size)
        self.head = DPTDepthEstimationHead(size.fusion)

    def forward_all(self, pixel_values):
        """predicted_depth [B, H, W], every layer's attention [B, heads, N, N], the neck levels [B, C, h, w]."""
        if self.grid is None:
            _, _, h, w = pixel_values.shape
            grid = (h // self.size.backbone.patch, w // self.size.backbone.patch)
        else:
            grid = self.grid
        hidden, attentions = self.dpt(pixel_values)
        fused, levels = self.neck([hidden[i] for i in self.size.out_indices], *grid)
        return self.head(fused), attentions, levels

    def forward(self, pixel_values):
        return self.forward_all(pixel_values)[0]


def neck_config(size):
    """The DPT keys of config.json, after the backbone's."""
    return {
        "backbone_out_indices": size.out_indices,
        "neck_hidden_sizes": size.neck,
        "reassemble_factors": size.factors,
        "fusion_hidden_size": size.fusion,
        "readout_type": "project",
        "is_hybrid": False,
        "head_in_index": -1,
    }
