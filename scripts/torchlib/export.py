"""ONNX export as every model file here is made, and the cross-check fixtures' deterministic weights."""

import os

import onnx
import torch

OPSET = 14


def export_onnx(module, example, path, output_names, dynamic_batch=False):
    """torch.onnx.export with input `pixel_values`, opset 14 and constant folding (batch dynamic if asked),
    checked by onnx.checker (full_check); returns the loaded model."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    names = ["pixel_values"] + list(output_names)
    torch.onnx.export(
        module,
        (example,),
        path,
        input_names=["pixel_values"],
        output_names=output_names,
        dynamic_axes={n: {0: "batch"} for n in names} if dynamic_batch else None,
        opset_version=OPSET,
        do_constant_folding=True,
        export_params=True,
    )
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    return model


def softmax_nodes(model, layers):
    """The names of the graph's Softmax nodes: one per layer (eager attention), which ViT Lens taps."""
    names = [n.name for n in model.graph.node if n.op_type == "Softmax"]
    assert len(names) == layers, f"expected {layers} Softmax nodes, found {names}"
    return names


def init_in_order(model, seed, init):
    """Deterministic weights: after torch.manual_seed(seed), init(name, p) for every parameter in registration
    order, so a fixture's weights follow from the seed and the module structure alone."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            init(name, p)


class FirstOutput(torch.nn.Module):
    """Exports a model's first output only (its logits): what else it returns for the references (attention,
    residual stream) ViT Lens must find and tap in the graph. `scope` is the wrapped model's module name, the
    first part of every node name (/<scope>/...)."""

    def __init__(self, model, scope):
        super().__init__()
        self.scope = scope
        self.add_module(scope, model)

    def forward(self, pixel_values):
        return getattr(self, self.scope)(pixel_values)[0]
