"""TensorFlow probes: eager ops and `tf.function` graphs, on the CPU or the first GPU."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from probes.frameworks.base import (
    Capability,
    Prepared,
    adding_chain,
    all_reduce_in_processes,
    onnx_capability,
    try_capability,
)
from probes.reference import ConvBlock, Lstm, Mlp

DTYPES = {"float32": tf.float32, "float16": tf.float16, "bfloat16": tf.bfloat16}


def _numpy(t: Any) -> np.ndarray:
    return np.asarray(tf.cast(t, tf.float32).numpy())


class TensorFlowBackend:
    name = "tensorflow"

    def __init__(self, device: str, threads: int) -> None:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        if device == "cuda":
            if not tf.config.list_physical_devices("GPU"):
                raise RuntimeError("CUDA requested but TensorFlow sees no GPU")
            # the other frameworks multiply in full fp32 unless asked; TF would use TF32 on Ampere+
            tf.config.experimental.enable_tensor_float_32_execution(False)
        self.device = device
        self._where = "/GPU:0" if device == "cuda" else "/CPU:0"

    def _on_device(self, action: Callable[[], Any]) -> Callable[[], Any]:
        where = self._where

        def run() -> Any:
            with tf.device(where):
                return action()

        return run

    def _c(self, a: np.ndarray, dtype: Any = tf.float32) -> tf.Tensor:
        with tf.device(self._where):
            return tf.constant(a, dtype=dtype)

    def _v(self, a: np.ndarray) -> tf.Variable:
        with tf.device(self._where):
            return tf.Variable(np.array(a, dtype=np.float32, copy=True))

    def versions(self) -> dict[str, str]:
        info = tf.sysconfig.get_build_info()
        found = {"tensorflow": tf.__version__, "numpy": np.__version__}
        for key in ("cuda_version", "cudnn_version"):
            if info.get(key):
                found[key.replace("_version", "")] = str(info[key])
        onednn = _onednn_enabled()
        if onednn is not None:
            found["onednn"] = "enabled" if onednn else "disabled"
        return found

    def sync(self, result: Any) -> None:
        if self.device == "cuda":
            tf.test.experimental.sync_devices()

    def matmul(self, a: np.ndarray, b: np.ndarray, dtype: str) -> Prepared:
        ta, tb = self._c(a, DTYPES[dtype]), self._c(b, DTYPES[dtype])
        return Prepared(run=self._on_device(lambda: tf.linalg.matmul(ta, tb)), fetch=_numpy)

    def _mlp_variables(self, m: Mlp) -> list[tf.Variable]:
        return [self._v(m.w1.T), self._v(m.b1), self._v(m.w2.T), self._v(m.b2)]

    @staticmethod
    def _mlp(variables: list[tf.Variable], x: tf.Tensor) -> tf.Tensor:
        w1, b1, w2, b2 = variables
        return tf.nn.relu(x @ w1 + b1) @ w2 + b2

    def _sgd_step(
        self, variables: list[tf.Variable], loss_of: Callable[[], tf.Tensor], lr: float
    ) -> Callable[[], tf.Tensor]:
        def step() -> tf.Tensor:
            with tf.GradientTape() as tape:
                loss = loss_of()
            for variable, grad in zip(variables, tape.gradient(loss, variables), strict=True):
                variable.assign_sub(lr * grad)
            return loss

        return step

    def mlp_train(self, m: Mlp, x: np.ndarray, y: np.ndarray, lr: float, mode: str) -> Prepared:
        variables = self._mlp_variables(m)
        tx, ty = self._c(x), self._c(y)
        step = self._sgd_step(
            variables, lambda: tf.reduce_mean((self._mlp(variables, tx) - ty) ** 2), lr
        )
        details = {"execution": "eager (GradientTape)"}
        if mode == "compiled":
            step = tf.function(step)
            details = {"execution": "tf.function graph"}
        return Prepared(run=self._on_device(step), fetch=_numpy, details=details)

    def mlp_forward(self, m: Mlp, x: np.ndarray) -> Prepared:
        variables = self._mlp_variables(m)
        tx = self._c(x)
        return Prepared(run=self._on_device(lambda: self._mlp(variables, tx)), fetch=_numpy)

    def conv_train(self, b: ConvBlock, x: np.ndarray, y: np.ndarray, lr: float) -> Prepared:
        # TensorFlow's CPU convolutions want NHWC images and (kh, kw, in, out) kernels
        k1, c1, k2, c2, dense, bias = variables = [
            self._v(b.k1.transpose(2, 3, 1, 0)),
            self._v(b.c1),
            self._v(b.k2.transpose(2, 3, 1, 0)),
            self._v(b.c2),
            self._v(b.dense.T),
            self._v(b.bias),
        ]
        tx, ty = self._c(x.transpose(0, 2, 3, 1)), self._c(y)

        def loss() -> tf.Tensor:
            hidden = tf.nn.relu(tf.nn.conv2d(tx, k1, 1, "SAME") + c1)
            out = tf.nn.relu(tf.nn.conv2d(hidden, k2, 1, "SAME") + c2 + tx)
            return tf.reduce_mean((tf.reduce_mean(out, axis=(1, 2)) @ dense + bias - ty) ** 2)

        return Prepared(
            run=self._on_device(self._sgd_step(variables, loss, lr)),
            fetch=_numpy,
            details={"execution": "eager (GradientTape)"},
        )

    def lstm_forward(self, m: Lstm, x: np.ndarray) -> Prepared:
        hidden = m.w_hh.shape[1]
        layer = tf.keras.layers.LSTM(hidden)  # gates i, f, c, o as in the reference
        tx = self._c(x)
        with tf.device(self._where):
            layer(tx)  # builds the weights
        layer.set_weights([m.w_ih.T, m.w_hh.T, m.bias])
        # eagerly, Keras steps through time in Python (20x slower here); fit and predict trace
        # the layer into a graph, and so does this probe, for a like-for-like figure
        forward = tf.function(lambda: layer(tx))
        return Prepared(
            run=self._on_device(forward),
            fetch=_numpy,
            details={"execution": "tf.function graph (as Keras fit/predict run it)"},
        )

    def add_chain(self, x: np.ndarray, ops: int) -> Prepared:
        return Prepared(run=self._on_device(adding_chain(self._c(x), ops)), fetch=_numpy)

    def gpu_peak_bytes(self, reset: bool) -> int | None:
        if self.device != "cuda":
            return None
        if reset:
            tf.config.experimental.reset_memory_stats("GPU:0")
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])

    def capabilities(self) -> dict[str, Capability]:
        gpus = tf.config.list_physical_devices("GPU")
        return {
            "gpu": Capability(bool(gpus), f"{len(gpus)} GPU(s) visible to TensorFlow"),
            "distributed": try_capability(
                lambda: all_reduce_in_processes(_ALL_REDUCE),
                "tf.distribute.MultiWorkerMirroredStrategy all_reduce over 2 processes",
            ),
            "mixed_precision": try_capability(
                _bf16_matmul, "a bfloat16 matmul (Keras mixed_bfloat16)"
            ),
            "onnx_export": onnx_capability(
                _tf2onnx, "tf2onnx conversion of a dense layer", needs=("tf2onnx", "onnx")
            ),
            "compile": try_capability(_graph, "tf.function graph (with XLA jit_compile)"),
        }


# Each process adds its rank + 1 with a cross-worker all_reduce (base.all_reduce_in_processes).
_ALL_REDUCE = """
import json, os, sys
addresses, count, rank = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
os.environ["TF_CONFIG"] = json.dumps(
    {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": rank}}
)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
def step():
    context = tf.distribute.get_replica_context()
    return context.all_reduce("sum", tf.fill([4], float(rank + 1)))
total = strategy.experimental_local_results(strategy.run(tf.function(step)))[0]
print("SUM", float(tf.reduce_sum(total)))
"""


def _onednn_enabled() -> bool | None:
    """Whether TensorFlow's CPU kernels use oneDNN (None where this build cannot say)."""
    try:
        from tensorflow.python.util import _pywrap_util_port  # internal, hence guarded
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def _bf16_matmul() -> None:
    ones = tf.ones((4, 4), tf.bfloat16)
    if float(tf.reduce_sum(tf.cast(ones @ ones, tf.float32))) != 64.0:
        raise RuntimeError("wrong bfloat16 result")


def _tf2onnx() -> tuple[bytes, np.ndarray, np.ndarray]:
    import tf2onnx

    # the weights live in a variable of a module (a captured eager constant would become a
    # graph input tf2onnx leaves unfed), and the signature is the function's own
    module = tf.Module()
    module.weights = tf.Variable(np.linspace(-1.0, 1.0, 8, dtype=np.float32).reshape(4, 2))
    spec = tf.TensorSpec((1, 4), tf.float32, name="x")
    dense = tf.function(lambda v: tf.nn.relu(v @ module.weights + 0.5), input_signature=[spec])
    x = np.arange(4, dtype=np.float32).reshape(1, 4)
    model, _ = tf2onnx.convert.from_function(dense, input_signature=[spec])
    return model.SerializeToString(), x, np.asarray(dense(tf.constant(x)))


def _graph() -> None:
    double = tf.function(lambda v: v * 2.0, jit_compile=True)
    if float(double(tf.constant(2.0))) != 4.0:
        raise RuntimeError("wrong result from a compiled function")


def make_backend(device: str, threads: int) -> TensorFlowBackend:
    return TensorFlowBackend(device, threads)
