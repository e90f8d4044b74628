"""Keras 3's own exports (`model.export`) on whichever backend this worker runs: LiteRT, ONNX and
a TensorFlow SavedModel.

Imported by the Keras worker after `KERAS_BACKEND` is set (probes/frameworks/keras.py). What works
depends on the backend: LiteRT export needs TensorFlow or PyTorch (with litert-torch), ONNX on
JAX needs jax2onnx, and a SavedModel needs TensorFlow; `knowledge/deployment.toml` lists which
combinations are planned and which are declared impossible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from probes.deployment import models
from probes.deployment.export import Exported, Exporter, check_eager


def _model(model: str, seed: int) -> tuple[Any, np.ndarray]:
    """The reference model as a Keras Sequential (channels-last), and its input."""
    layers = keras.layers
    if model == "conv":
        net, x = models.conv_net(seed)
        image = models.nhwc(x)
        built = keras.Sequential(
            [
                keras.Input(shape=image.shape[1:], batch_size=1),
                layers.Conv2D(16, 3, padding="same", activation="relu"),
                layers.MaxPooling2D(2),
                layers.Conv2D(32, 3, padding="same", activation="relu"),
                layers.GlobalAveragePooling2D(),
                layers.Dense(10),
            ]
        )
        weights = [
            models.hwio(net.k1), net.c1, models.hwio(net.k2), net.c2,
            np.ascontiguousarray(net.dense.T), net.bias,
        ]  # fmt: skip
        built.set_weights(weights)
        return built, image
    mlp, row = models.dense_net(seed)
    built = keras.Sequential(
        [
            keras.Input(shape=(models.MLP_INPUTS,), batch_size=1),
            layers.Dense(256, activation="relu"),
            layers.Dense(10),
        ]
    )
    built.set_weights(
        [np.ascontiguousarray(mlp.w1.T), mlp.b1, np.ascontiguousarray(mlp.w2.T), mlp.b2]
    )
    return built, row


def _eager(model: str, seed: int) -> tuple[Any, np.ndarray, np.ndarray]:
    built, x = _model(model, seed)
    eager = np.asarray(keras.ops.convert_to_numpy(built(x, training=False)))
    check_eager(model, seed, eager)
    return built, x, eager


def _details(exporter: str) -> dict[str, Any]:
    return {
        "exporter": exporter,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
    }


def litert(model: str, seed: int, folder: Path) -> Exported:
    built, x, eager = _eager(model, seed)
    path = folder / f"{model}.tflite"
    built.export(str(path), format="litert", verbose=False)
    return Exported(path, "litert", x, eager, _details('model.export(format="litert")'))


def onnx(model: str, seed: int, folder: Path) -> Exported:
    built, x, eager = _eager(model, seed)
    path = folder / f"{model}.onnx"
    built.export(str(path), format="onnx", verbose=False)
    return Exported(path, "onnxruntime", x, eager, _details('model.export(format="onnx")'))


def saved_model(model: str, seed: int, folder: Path) -> Exported:
    built, x, eager = _eager(model, seed)
    path = folder / f"{model}_saved_model"
    built.export(str(path), format="tf_saved_model", verbose=False)
    return Exported(
        path, "tf_saved_model", x, eager, _details('model.export(format="tf_saved_model")')
    )


PATHS: dict[str, Exporter] = {"litert": litert, "onnx": onnx, "saved_model": saved_model}
