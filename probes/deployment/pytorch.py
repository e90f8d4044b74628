"""PyTorch's deployment paths: ONNX (dynamo and TorchScript exporters), ExecuTorch, LiteRT.

ExecuTorch and litert-torch are heavy (0.6-2 GB with what they pull) and run in environments of
their own (`knowledge/deployment.toml`); here they are imported only when their path runs, so a
missing one is `not_installed`, never a broken PyTorch.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from probes.deployment import models
from probes.deployment.export import Exported, Exporter, check_eager


def _module(model: str, seed: int) -> tuple[torch.nn.Module, np.ndarray]:
    """The reference model as an eval-mode torch module, and its input."""
    pairs: tuple[tuple[Any, np.ndarray, np.ndarray], ...]
    if model == "conv":
        net, x = models.conv_net(seed)
        conv1 = torch.nn.Conv2d(3, 16, 3, padding=1)
        conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        dense = torch.nn.Linear(32, 10)
        pairs = ((conv1, net.k1, net.c1), (conv2, net.k2, net.c2), (dense, net.dense, net.bias))
        module: torch.nn.Module = torch.nn.Sequential(
            conv1,
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            conv2,
            torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
            dense,
        )
    else:
        mlp, x = models.dense_net(seed)
        first, second = torch.nn.Linear(models.MLP_INPUTS, 256), torch.nn.Linear(256, 10)
        pairs = ((first, mlp.w1, mlp.b1), (second, mlp.w2, mlp.b2))
        module = torch.nn.Sequential(first, torch.nn.ReLU(), second)
    with torch.no_grad():
        for layer, weight, bias in pairs:
            layer.weight.copy_(torch.from_numpy(weight))
            layer.bias.copy_(torch.from_numpy(bias))
    return module.eval(), x


def _eager(model: str, seed: int) -> tuple[torch.nn.Module, np.ndarray, np.ndarray]:
    module, x = _module(model, seed)
    with torch.no_grad():
        eager = module(torch.from_numpy(x)).numpy()
    check_eager(model, seed, eager)
    return module, x, eager


def _onnx_opset(path: Path) -> dict[str, Any]:
    onnx = importlib.import_module("onnx")
    proto = onnx.load(str(path))
    return {"opset": int(max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")))}


def onnx_dynamo(model: str, seed: int, folder: Path) -> Exported:
    importlib.import_module("onnxscript")  # the dynamo exporter's dependency
    module, x, eager = _eager(model, seed)
    path = folder / f"{model}.onnx"
    program = torch.onnx.export(module, (torch.from_numpy(x),), dynamo=True)
    program.save(str(path))
    return Exported(
        path,
        "onnxruntime",
        x,
        eager,
        {"exporter": "torch.onnx.export(dynamo=True)", **_onnx_opset(path)},
    )


def onnx_legacy(model: str, seed: int, folder: Path) -> Exported:
    importlib.import_module("onnx")
    module, x, eager = _eager(model, seed)
    path = folder / f"{model}.onnx"
    torch.onnx.export(
        module, (torch.from_numpy(x),), str(path), dynamo=False, opset_version=17,
        input_names=["x"],
    )  # fmt: skip
    return Exported(
        path,
        "onnxruntime",
        x,
        eager,
        {"exporter": "torch.onnx.export(dynamo=False), TorchScript-based", **_onnx_opset(path)},
    )


def _executorch(model: str, seed: int, folder: Path, delegate: bool) -> Exported:
    exir = importlib.import_module("executorch.exir")
    module, x, eager = _eager(model, seed)
    program = torch.export.export(module, (torch.from_numpy(x),))
    if delegate:
        partitioner = importlib.import_module(
            "executorch.backends.xnnpack.partition.xnnpack_partitioner"
        ).XnnpackPartitioner
        lowered = exir.to_edge_transform_and_lower(program, partitioner=[partitioner()])
    else:
        lowered = exir.to_edge(program)
    path = folder / f"{model}.pte"
    path.write_bytes(lowered.to_executorch().buffer)
    return Exported(
        path,
        "executorch",
        x,
        eager,
        {
            "exporter": "torch.export + executorch.exir",
            "delegate": "XNNPACK" if delegate else "none (portable kernels)",
        },
    )


def executorch_xnnpack(model: str, seed: int, folder: Path) -> Exported:
    return _executorch(model, seed, folder, delegate=True)


def executorch_portable(model: str, seed: int, folder: Path) -> Exported:
    return _executorch(model, seed, folder, delegate=False)


def litert_torch(model: str, seed: int, folder: Path) -> Exported:
    converter = importlib.import_module("litert_torch")
    module, x, eager = _eager(model, seed)
    path = folder / f"{model}.tflite"
    converter.convert(module, (torch.from_numpy(x),)).export(str(path))
    return Exported(path, "litert", x, eager, {"exporter": "litert_torch.convert"})


PATHS: dict[str, Exporter] = {
    "onnx_dynamo": onnx_dynamo,
    "onnx_legacy": onnx_legacy,
    "executorch_xnnpack": executorch_xnnpack,
    "executorch_portable": executorch_portable,
    "litert_torch": litert_torch,
}
