"""TensorFlow's deployment paths: LiteRT, a SavedModel, and tf2onnx to ONNX Runtime.

The model is a plain `tf.Module` with one `tf.function` (`serve`, a fixed input signature): the
TensorFlow way without Keras, so these paths say what TensorFlow itself can reach; Keras 3's own
exports are `probes.deployment.keras`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from probes.deployment import models
from probes.deployment.export import Exported, Exporter, check_eager


class _Net(tf.Module):  # type: ignore[misc]  # tf is untyped
    def __init__(self, model: str, seed: int) -> None:
        super().__init__()
        self.model = model
        if model == "conv":
            net, x = models.conv_net(seed)
            self.k1 = tf.Variable(models.hwio(net.k1))
            self.c1 = tf.Variable(net.c1)
            self.k2 = tf.Variable(models.hwio(net.k2))
            self.c2 = tf.Variable(net.c2)
            self.dense = tf.Variable(np.ascontiguousarray(net.dense.T))
            self.bias = tf.Variable(net.bias)
            self.x = models.nhwc(x)
        else:
            mlp, self.x = models.dense_net(seed)
            self.w1 = tf.Variable(np.ascontiguousarray(mlp.w1.T))
            self.b1 = tf.Variable(mlp.b1)
            self.w2 = tf.Variable(np.ascontiguousarray(mlp.w2.T))
            self.b2 = tf.Variable(mlp.b2)
        self.spec = tf.TensorSpec(self.x.shape, tf.float32, name="x")
        self.serve = tf.function(self._forward, input_signature=[self.spec])

    def _forward(self, x: Any) -> Any:
        if self.model == "conv":
            h = tf.nn.relu(tf.nn.conv2d(x, self.k1, 1, "SAME") + self.c1)
            h = tf.nn.max_pool2d(h, 2, 2, "VALID")
            h = tf.nn.relu(tf.nn.conv2d(h, self.k2, 1, "SAME") + self.c2)
            return tf.reduce_mean(h, axis=[1, 2]) @ self.dense + self.bias
        return tf.nn.relu(x @ self.w1 + self.b1) @ self.w2 + self.b2


def _eager(model: str, seed: int) -> tuple[_Net, np.ndarray]:
    net = _Net(model, seed)
    eager = np.asarray(net._forward(tf.constant(net.x)).numpy())
    check_eager(model, seed, eager)
    return net, eager


def litert(model: str, seed: int, folder: Path) -> Exported:
    net, eager = _eager(model, seed)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [net.serve.get_concrete_function()], net
    )
    path = folder / f"{model}.tflite"
    path.write_bytes(converter.convert())
    return Exported(path, "litert", net.x, eager, {"exporter": "tf.lite.TFLiteConverter"})


def saved_model(model: str, seed: int, folder: Path) -> Exported:
    net, eager = _eager(model, seed)
    path = folder / f"{model}_saved_model"
    tf.saved_model.save(net, str(path))
    return Exported(path, "tf_saved_model", net.x, eager, {"exporter": "tf.saved_model.save"})


def tf2onnx(model: str, seed: int, folder: Path) -> Exported:
    converter = importlib.import_module("tf2onnx")
    net, eager = _eager(model, seed)
    path = folder / f"{model}.onnx"
    converter.convert.from_function(
        net.serve,
        input_signature=[net.spec],
        opset=17,
        output_path=str(path),
    )
    return Exported(
        path, "onnxruntime", net.x, eager,
        {"exporter": "tf2onnx.convert.from_function", "opset": 17,
         "tf2onnx": getattr(converter, "__version__", "unknown")},
    )  # fmt: skip


PATHS: dict[str, Exporter] = {"litert": litert, "saved_model": saved_model, "tf2onnx": tf2onnx}
