"""Hugging Face model folder files: config.json, preprocessor_config.json, and the preprocessing they state."""

import json
import os

import torch

MEAN = STD = 0.5  # every model here normalises (x / 255 - 0.5) / 0.5


def to_pixels(batch_u8):
    """preprocessor_config.json exactly: rescale 1/255, normalise mean = std = 0.5, [B, H, W, 3] uint8 -> [B, 3, H, W]."""
    x = torch.from_numpy(batch_u8).permute(0, 3, 1, 2).float() * (1 / 255)
    return (x - MEAN) / STD


def vit_config(architecture, model_type, image_size, size, **fields):
    """config.json of a model with a ViT backbone of vit.ViTSize `size`: the backbone's keys, then `fields` in order."""
    return {
        "architectures": [architecture],
        "model_type": model_type,
        "image_size": image_size,
        "patch_size": size.patch,
        "num_channels": 3,
        "hidden_size": size.hidden,
        "num_hidden_layers": size.layers,
        "num_attention_heads": size.heads,
        "intermediate_size": size.mlp,
        "hidden_act": "gelu",
        "layer_norm_eps": size.ln_eps,
        **fields,
    }


def labels(names):
    """id2label and label2id of a classifier."""
    return {"id2label": {str(i): c for i, c in enumerate(names)}, "label2id": {c: i for i, c in enumerate(names)}}


def preprocessor_config(height, width, processor=None, resample=2, **resize):
    """preprocessor_config.json: resize to height x width (`resize`: the processor's further resize keys),
    rescale 1/255, normalise with MEAN and STD."""
    head = {} if processor is None else {"image_processor_type": processor}
    return {
        **head,
        "do_resize": True,
        "size": {"height": height, "width": width},
        **resize,
        "resample": resample,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [MEAN] * 3,
        "image_std": [STD] * 3,
    }


def write_json(path, obj, indent=2):
    with open(path, "w") as f:
        json.dump(obj, f, indent=indent)
        f.write("\n")


def write_model_configs(folder, config, preprocessor):
    write_json(os.path.join(folder, "config.json"), config)
    write_json(os.path.join(folder, "preprocessor_config.json"), preprocessor)
