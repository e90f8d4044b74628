"""MXNet's deployment path: a hybridised Gluon model exported, converted by `mx.onnx` and run
in ONNX Runtime in the advisor's interpreter (MXNet's own needs numpy < 1.24; the artifact and
.npy files cross between the two, which is the hand-off every path uses).

`mx.onnx` needs the `onnx` package in MXNet's environment (requirements/mxnet.txt pins one that
works with numpy 1.23).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import mxnet as mx
import numpy as np

from probes.deployment import models
from probes.deployment.export import Exported, Exporter, check_eager


def _block(model: str, seed: int) -> tuple[Any, np.ndarray]:
    nn = mx.gluon.nn
    block = nn.HybridSequential()
    if model == "conv":
        net, x = models.conv_net(seed)
        block.add(
            nn.Conv2D(16, 3, padding=1, in_channels=3, activation="relu"),
            nn.MaxPool2D(2),
            nn.Conv2D(32, 3, padding=1, in_channels=16, activation="relu"),
            nn.GlobalAvgPool2D(),
            nn.Flatten(),
            nn.Dense(10, in_units=32),
        )
        arrays = [net.k1, net.c1, net.k2, net.c2, net.dense, net.bias]
    else:
        mlp, x = models.dense_net(seed)
        block.add(
            nn.Dense(256, in_units=models.MLP_INPUTS, activation="relu"), nn.Dense(10, in_units=256)
        )
        arrays = [mlp.w1, mlp.b1, mlp.w2, mlp.b2]
    block.initialize()
    for parameter, value in zip(block.collect_params().values(), arrays, strict=True):
        parameter.set_data(mx.nd.array(value))
    block.hybridize()
    return block, x


def onnx(model: str, seed: int, folder: Path) -> Exported:
    importlib.import_module("onnx")
    if not hasattr(mx, "onnx"):
        raise ModuleNotFoundError("this MXNet build has no mx.onnx")
    block, x = _block(model, seed)
    eager = block(mx.nd.array(x)).asnumpy()
    check_eager(model, seed, eager)
    prefix = str(folder / model)
    block.export(prefix)
    path = mx.onnx.export_model(
        f"{prefix}-symbol.json", f"{prefix}-0000.params", [x.shape], np.float32,
        str(folder / f"{model}.onnx"),
    )  # fmt: skip
    return Exported(Path(path), "onnxruntime", x, eager, {"exporter": "mx.onnx.export_model"})


PATHS: dict[str, Exporter] = {"onnx": onnx}
