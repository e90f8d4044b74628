"""Keras 3 probes: the suite's MLP and conv training steps as Keras models, each timed against
the native implementation of the same step on the same backend, in one process.

The worker runs this module once per backend, in that backend's interpreter, with
`ADVISOR_PROBE_BACKEND` naming the backend by its registry id (jax, tensorflow, pytorch); it sets
`KERAS_BACKEND` from it before Keras is imported. The native framework is set up first by its own
probe module (`probes.frameworks.<backend>`: threads, JAX's CPU affinity, TF's thread pools),
then Keras is imported on top of it, so both run under the same settings.

What is compared, per backend, is what each does by default on a CPU:
- Keras: `model.train_on_batch` after `compile(SGD, "mean_squared_error")` with
  `jit_compile="auto"`, i.e. an XLA-jitted step on JAX, a `tf.function` graph (no XLA) on
  TensorFlow, eager on PyTorch; images are NHWC (Keras's default `channels_last`, which the
  PyTorch backend transposes internally).
- native: the same step from the native module in the matching mode: `jax.jit` on JAX,
  `tf.function` on TensorFlow, eager autograd on PyTorch (`NATIVE_MODE`).

Both start from the reference's seeded weights; both must reproduce the reference's loss before
and after one SGD step (Keras's SGD with momentum 0 is plain `w -= lr * g`, and its mean squared
error, the mean over outputs then over the batch, equals the reference's mean) before either is
timed. A backend that is not installed fails at set-up, which the runner records as `missing`.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Any

import numpy as np

from probes import transformer as tr
from probes.frameworks.base import Capability, Prepared
from probes.reference import ConvBlock, Lstm, Mlp

BACKEND_VARIABLE = "ADVISOR_PROBE_BACKEND"
KERAS_BACKENDS = {"jax": "jax", "tensorflow": "tensorflow", "pytorch": "torch"}
"""registry id -> the KERAS_BACKEND value"""
NATIVE_MODE = {"jax": "compiled", "tensorflow": "compiled", "pytorch": "eager"}
"""the native mlp_train mode that matches what Keras's train_on_batch does on that backend"""
TRANSFORMER_NATIVE_MODE = {"jax": "compiled", "tensorflow": "graph", "pytorch": "eager"}
"""the native transformer mode that matches train_on_batch: jax.jit, a tf.function graph without
XLA, eager PyTorch"""
KERAS_EXECUTION = {
    "jax": "train_on_batch, jit_compile=auto (jax.jit of the train step)",
    "tensorflow": "train_on_batch, jit_compile=auto (tf.function, no XLA on CPU)",
    "pytorch": "train_on_batch, jit_compile=auto (eager on torch)",
}

_SET_LATER = {"kernel_initializer": "zeros", "bias_initializer": "zeros"}
"""The weights are set from the reference right after building; Keras's default random
initializers would compile an RNG kernel per shape on JAX first (about 2 s each on one thread)."""

keras: Any = None
"""Bound in `make_backend`, after KERAS_BACKEND is set and the native framework is set up."""


def _loss(result: Any) -> np.ndarray:
    """train_on_batch returns the loss (a float, or a one-item list with metrics off)."""
    value = result[0] if isinstance(result, list | tuple) else result
    return np.asarray(float(value), dtype=np.float64)


class KerasBackend:
    """A front-end backend: it prepares pairs (Keras step, native step) instead of single jobs."""

    name = "keras"
    frontend = True

    def __init__(self, backend: str, native: Any, device: str, keras_import_s: float) -> None:
        self.backend = backend
        self.native = native
        self.device = device
        self.keras_import_s = keras_import_s
        self.native_execution = {
            "jax": "jax.jit (whole training step)",
            "tensorflow": "tf.function graph",
            "pytorch": "eager autograd",
        }[backend]
        self.record_details = {
            "backend": backend,
            "keras_backend": KERAS_BACKENDS[backend],
            **(getattr(native, "record_details", None) or {}),
        }

    def versions(self) -> dict[str, str]:
        return {
            "keras": str(keras.__version__),
            "keras_backend": str(keras.backend.backend()),
            **self.native.versions(),
        }

    def sync(self, result: Any) -> None:
        self.native.sync(result)

    def _tensor(self, a: np.ndarray) -> Any:
        """Inputs converted once to the backend's tensors: the steps time training, not copying."""
        return keras.ops.convert_to_tensor(np.ascontiguousarray(a, dtype=np.float32))

    @staticmethod
    def _compile(model: Any, lr: float) -> None:
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=lr),
            loss="mean_squared_error",
            jit_compile="auto",
        )

    # -- the pairs --------------------------------------------------------------------------
    def mlp_pair(
        self, m: Mlp, x: np.ndarray, y: np.ndarray, lr: float
    ) -> tuple[Prepared, Prepared]:
        layers = keras.layers
        model = keras.Sequential(
            [
                keras.Input((m.w1.shape[1],)),
                layers.Dense(m.w1.shape[0], activation="relu", **_SET_LATER),
                layers.Dense(m.w2.shape[0], **_SET_LATER),
            ]
        )
        model.set_weights([m.w1.T, m.b1, m.w2.T, m.b2])
        self._compile(model, lr)
        kx, ky = self._tensor(x), self._tensor(y)
        ours = Prepared(
            run=lambda: model.train_on_batch(kx, ky),
            fetch=_loss,
            details={"execution": KERAS_EXECUTION[self.backend]},
        )
        native = self.native.mlp_train(m, x, y, lr, NATIVE_MODE[self.backend])
        return ours, native

    def conv_pair(
        self, b: ConvBlock, x: np.ndarray, y: np.ndarray, lr: float
    ) -> tuple[Prepared, Prepared]:
        layers = keras.layers
        channels, size = x.shape[1], x.shape[2]
        inputs = keras.Input((size, size, channels))
        first = layers.Conv2D(channels, 3, padding="same", activation="relu", **_SET_LATER)
        second = layers.Conv2D(channels, 3, padding="same", **_SET_LATER)
        dense = layers.Dense(b.dense.shape[0], **_SET_LATER)
        added = layers.Add()([second(first(inputs)), inputs])
        pooled = layers.GlobalAveragePooling2D()(layers.Activation("relu")(added))
        model = keras.Model(inputs, dense(pooled))
        first.set_weights([b.k1.transpose(2, 3, 1, 0), b.c1])
        second.set_weights([b.k2.transpose(2, 3, 1, 0), b.c2])
        dense.set_weights([b.dense.T, b.bias])
        self._compile(model, lr)
        kx, ky = self._tensor(x.transpose(0, 2, 3, 1)), self._tensor(y)
        ours = Prepared(
            run=lambda: model.train_on_batch(kx, ky),
            fetch=_loss,
            details={"execution": KERAS_EXECUTION[self.backend], "layout": "NHWC"},
        )
        native = self.native.conv_train(b, x, y, lr)
        if self.backend == "tensorflow":
            # TF's native conv step is eager; Keras runs a tf.function: compare like with like
            tf = importlib.import_module("tensorflow")
            native = Prepared(
                run=tf.function(native.run),
                fetch=native.fetch,
                details={**native.details, "execution": "tf.function graph"},
            )
        elif self.backend == "pytorch":
            native.details = {**native.details, "layout": "NCHW"}
        return ours, native

    def transformer_pair(
        self, block: tr.Block, x: np.ndarray, target: np.ndarray
    ) -> tuple[Prepared, Prepared]:
        """probes.transformer's block as a Keras layer of keras.ops (its twelve weights copied
        in), trained by `train_on_batch` with Keras's own AdamW at the reference's settings,
        and the native block's AdamW step in the matching mode."""
        layer = _block_layer(block)
        inputs = keras.Input(x.shape[1:])
        model = keras.Model(inputs, layer(inputs))
        model.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=tr.LEARNING_RATE,
                beta_1=tr.BETAS[0],
                beta_2=tr.BETAS[1],
                epsilon=tr.ADAM_EPS,
                weight_decay=tr.WEIGHT_DECAY,
            ),
            loss="mean_squared_error",
            jit_compile="auto",
        )
        kx, kt = self._tensor(x), self._tensor(target)
        ours = Prepared(
            run=lambda: model.train_on_batch(kx, kt),
            fetch=_loss,
            details={
                "execution": KERAS_EXECUTION[self.backend],
                "optimiser": "keras.optimizers.AdamW",
            },
            state=lambda: {name: keras.ops.convert_to_numpy(layer.w[name]) for name in tr.PARAMS},
        )
        native = self.native.transformer(block, x, target, TRANSFORMER_NATIVE_MODE[self.backend])
        return ours, native

    # -- the rest of the Backend protocol: not run for a front-end ---------------------------
    def _not_probed(self, *_: Any) -> Prepared:
        raise RuntimeError("the Keras probes run only the paired training steps")

    def matmul(self, a: np.ndarray, b: np.ndarray, dtype: str) -> Prepared:
        return self._not_probed()

    def mlp_train(self, m: Mlp, x: np.ndarray, y: np.ndarray, lr: float, mode: str) -> Prepared:
        return self._not_probed()

    def mlp_forward(self, m: Mlp, x: np.ndarray) -> Prepared:
        return self._not_probed()

    def conv_train(self, b: ConvBlock, x: np.ndarray, y: np.ndarray, lr: float) -> Prepared:
        return self._not_probed()

    def lstm_forward(self, m: Lstm, x: np.ndarray) -> Prepared:
        return self._not_probed()

    def add_chain(self, x: np.ndarray, ops: int) -> Prepared:
        return self._not_probed()

    def gpu_peak_bytes(self, reset: bool) -> int | None:
        return None

    def capabilities(self) -> dict[str, Capability]:
        return {}


def _block_layer(block: tr.Block) -> Any:
    """A Keras layer computing probes.transformer's pre-LN block in keras.ops, holding the
    block's weights (created as zeros, then assigned: no initializer kernels to compile)."""
    ops = keras.ops
    heads, seq, d = block.shape.heads, block.shape.seq, block.shape.d_model
    scale = 1.0 / float(np.sqrt(block.shape.head_size))

    def norm(t: Any, gain: Any, bias: Any) -> Any:
        mean = ops.mean(t, axis=-1, keepdims=True)
        variance = ops.var(t, axis=-1, keepdims=True)
        return (t - mean) * ops.rsqrt(variance + tr.LN_EPS) * gain + bias

    def split_heads(t: Any) -> Any:
        return ops.transpose(ops.reshape(t, (-1, seq, heads, d // heads)), (0, 2, 1, 3))

    class EncoderBlock(keras.layers.Layer):  # type: ignore[misc]
        def build(self, input_shape: Any) -> None:
            self.w = {
                name: self.add_weight(
                    shape=block.weights[name].shape, initializer="zeros", name=name
                )
                for name in tr.PARAMS
            }
            for name, variable in self.w.items():
                variable.assign(block.weights[name])

        def call(self, x: Any) -> Any:
            w = self.w
            qkv = ops.matmul(norm(x, w["ln1_g"], w["ln1_b"]), w["w_qkv"]) + w["b_qkv"]
            q, k, v = (split_heads(part) for part in ops.split(qkv, 3, axis=-1))
            p = ops.softmax(ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * scale, axis=-1)
            attended = ops.reshape(ops.transpose(ops.matmul(p, v), (0, 2, 1, 3)), (-1, seq, d))
            x1 = x + ops.matmul(attended, w["w_o"]) + w["b_o"]
            u = ops.matmul(norm(x1, w["ln2_g"], w["ln2_b"]), w["w1"]) + w["b1"]
            return x1 + ops.matmul(ops.gelu(u, approximate=True), w["w2"]) + w["b2"]

    return EncoderBlock()


def make_backend(device: str, threads: int) -> KerasBackend:
    global keras  # noqa: PLW0603  # imported late on purpose (see module docstring)
    backend = os.environ.get(BACKEND_VARIABLE, "")
    if backend not in KERAS_BACKENDS:
        raise RuntimeError(
            f"${BACKEND_VARIABLE} must name the Keras backend to probe: one of "
            f"{', '.join(KERAS_BACKENDS)} (got {backend!r})"
        )
    os.environ["KERAS_BACKEND"] = KERAS_BACKENDS[backend]
    if device == "cpu":
        # Keras picks a visible GPU on its own (torch: cuda if available); the native step runs
        # on the CPU, so both must
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    native_module = importlib.import_module(f"probes.frameworks.{backend}")
    native = native_module.make_backend(device, threads)
    started = time.perf_counter()
    keras = importlib.import_module("keras")
    if keras.backend.backend() != KERAS_BACKENDS[backend]:
        raise RuntimeError(
            f"Keras started on {keras.backend.backend()!r}, not {KERAS_BACKENDS[backend]!r}: "
            "was keras imported before KERAS_BACKEND was set?"
        )
    return KerasBackend(backend, native, device, time.perf_counter() - started)
