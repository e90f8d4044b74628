"""JAX's deployment paths: `jax.export` (serialised StableHLO, called back from the file) and
jax2tf to a TensorFlow SavedModel (only where TensorFlow is installed beside JAX).

The worker has imported JAX already (probes/frameworks/jax.py pins its CPUs first), so the
module-level import here only binds it. `jax.export` serialisation needs the flatbuffers package,
which jax does not declare: without it the path is not_installed, with that message.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from probes.deployment import models
from probes.deployment.export import Exported, Exporter, check_eager


def _function(model: str, seed: int) -> tuple[Callable[[Any], Any], np.ndarray]:
    """The reference model as a pure function of its (channels-last) input, weights closed over."""
    if model == "conv":
        net, x = models.conv_net(seed)
        k1, k2 = jnp.asarray(models.hwio(net.k1)), jnp.asarray(models.hwio(net.k2))
        c1, c2 = jnp.asarray(net.c1), jnp.asarray(net.c2)
        dense, bias = jnp.asarray(net.dense.T), jnp.asarray(net.bias)
        spec = ("NHWC", "HWIO", "NHWC")

        def conv(x: Any) -> Any:
            h = lax.conv_general_dilated(x, k1, (1, 1), "SAME", dimension_numbers=spec) + c1
            h = jnp.maximum(h, 0.0)
            h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
            h = jnp.maximum(
                lax.conv_general_dilated(h, k2, (1, 1), "SAME", dimension_numbers=spec) + c2, 0.0
            )
            return jnp.mean(h, axis=(1, 2)) @ dense + bias

        return conv, models.nhwc(x)
    mlp, row = models.dense_net(seed)
    w1, b1 = jnp.asarray(mlp.w1.T), jnp.asarray(mlp.b1)
    w2, b2 = jnp.asarray(mlp.w2.T), jnp.asarray(mlp.b2)

    def dense_net(x: Any) -> Any:
        return jnp.maximum(x @ w1 + b1, 0.0) @ w2 + b2

    return dense_net, row


def _eager(model: str, seed: int) -> tuple[Callable[[Any], Any], np.ndarray, np.ndarray]:
    function, x = _function(model, seed)
    eager = np.asarray(jax.jit(function)(x))
    check_eager(model, seed, eager)
    return function, x, eager


def jax_export(model: str, seed: int, folder: Path) -> Exported:
    importlib.import_module("flatbuffers")  # serialize() needs it; jax does not declare it
    from jax import export

    function, x, eager = _eager(model, seed)
    exported = export.export(jax.jit(function))(jax.ShapeDtypeStruct(x.shape, jnp.float32))
    path = folder / f"{model}.jax_exported"
    path.write_bytes(bytes(exported.serialize()))
    return Exported(
        path, "jax_export", x, eager,
        {"exporter": "jax.export.export + serialize", "platforms": ",".join(exported.platforms)},
    )  # fmt: skip


def jax2tf(model: str, seed: int, folder: Path) -> Exported:
    tf = importlib.import_module("tensorflow")
    from jax.experimental import jax2tf as converter

    function, x, eager = _eager(model, seed)
    module = tf.Module()
    module.serve = tf.function(
        converter.convert(function, with_gradient=False),
        input_signature=[tf.TensorSpec(x.shape, tf.float32)],
        autograph=False,
    )
    path = folder / f"{model}_saved_model"
    tf.saved_model.save(module, str(path))
    return Exported(
        path, "tf_saved_model", x, eager, {"exporter": "jax2tf.convert + tf.saved_model.save"}
    )


PATHS: dict[str, Exporter] = {"jax_export": jax_export, "jax2tf": jax2tf}
