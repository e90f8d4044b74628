"""TensorFlow probes: eager ops and `tf.function` graphs, on the CPU or the first GPU."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import tensorflow as tf

from probes.frameworks.base import (
    Capability,
    Collective,
    Prepared,
    adding_chain,
    onnx_capability,
    try_capability,
)
from probes.reference import ConvBlock, Lstm, Mlp
from probes.transformer import ADAM_EPS, BETAS, LEARNING_RATE, LN_EPS, PARAMS, WEIGHT_DECAY, Block

DTYPES = {"float32": tf.float32, "float16": tf.float16, "bfloat16": tf.bfloat16}


def _numpy(t: Any) -> np.ndarray:
    return np.asarray(tf.cast(t, tf.float32).numpy())


class TensorFlowBackend:
    name = "tensorflow"
    transformer_modes: ClassVar[dict[str, tuple[str, ...]]] = {
        "tiny": ("compiled",),
        "quick": ("compiled",),
        "full": ("eager", "graph", "compiled"),
    }
    """eager ops, tf.function without XLA ("graph") and with jit_compile=True ("compiled"): the
    quick suite times the mode a TensorFlow training loop runs in, the full suite all three"""

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
        self.collective = Collective(
            _ALL_REDUCE, "tf.distribute.MultiWorkerMirroredStrategy all_reduce (gRPC, RING)"
        )

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

    def transformer(
        self, block: Block, x: np.ndarray, target: np.ndarray | None, mode: str
    ) -> Prepared:
        weights = {name: self._v(block.weights[name]) for name in PARAMS}
        heads = block.shape.heads
        tx = self._c(x)
        if target is None:
            action: Callable[[], Any] = lambda: _block(weights, tx, heads)  # noqa: E731
            state = None
        else:
            action, state = _adamw_step(weights, tx, self._c(target), heads)
        details = {"execution": "eager", "optimiser": "AdamW written in tf ops"}
        if mode == "graph":
            action = tf.function(action)
            details["execution"] = "tf.function graph"
        elif mode == "compiled":
            action = tf.function(action, jit_compile=True)
            details["execution"] = "tf.function(jit_compile=True), XLA"
        if target is None:
            details.pop("optimiser")
        return Prepared(run=self._on_device(action), fetch=_numpy, details=details, state=state)

    def capabilities(self) -> dict[str, Capability]:
        gpus = tf.config.list_physical_devices("GPU")
        return {
            "gpu": Capability(bool(gpus), f"{len(gpus)} GPU(s) visible to TensorFlow"),
            "mixed_precision": try_capability(
                _bf16_matmul, "a bfloat16 matmul (Keras mixed_bfloat16)"
            ),
            "onnx_export": onnx_capability(
                _tf2onnx, "tf2onnx conversion of a dense layer", needs=("tf2onnx", "onnx")
            ),
            "compile": try_capability(_graph, "tf.function graph (with XLA jit_compile)"),
        }


# One rank of the all-reduce job (probes.collectives runs it after its harness).
_ALL_REDUCE = """
import os
os.environ["TF_CONFIG"] = json.dumps(
    {"cluster": {"worker": ADDRESSES}, "task": {"type": "worker", "index": RANK}}
)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
strategy = tf.distribute.MultiWorkerMirroredStrategy()

def make(a):
    # the buffer is captured, not passed: a tensor argument to strategy.run carries no
    # destination devices for the cross-worker reduction
    held = tf.constant(a)
    return tf.function(
        lambda: tf.distribute.get_replica_context().all_reduce("sum", tf.identity(held)))

def reduce(replica_sum):
    return strategy.experimental_local_results(strategy.run(replica_sum))[0]

harness(make, reduce, lambda t: t.numpy(), lambda t: t.numpy())
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


def _layer_norm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + LN_EPS) * gain + bias


def _block(w: dict[str, tf.Variable], x: tf.Tensor, heads: int) -> tf.Tensor:
    """probes.transformer's block in TensorFlow ops (explicit softmax attention)."""
    batch, seq, d = x.shape
    size = d // heads

    def split(t: tf.Tensor) -> tf.Tensor:
        return tf.transpose(tf.reshape(t, (batch, seq, heads, size)), (0, 2, 1, 3))

    h = _layer_norm(x, w["ln1_g"], w["ln1_b"])
    q, k, v = tf.split(h @ w["w_qkv"] + w["b_qkv"], 3, axis=-1)
    scores = tf.matmul(split(q), split(k), transpose_b=True) / float(np.sqrt(size))
    attended = tf.matmul(tf.nn.softmax(scores, axis=-1), split(v))
    merged = tf.reshape(tf.transpose(attended, (0, 2, 1, 3)), (batch, seq, d))
    x1 = x + merged @ w["w_o"] + w["b_o"]
    hidden = tf.nn.gelu(
        _layer_norm(x1, w["ln2_g"], w["ln2_b"]) @ w["w1"] + w["b1"], approximate=True
    )
    return x1 + hidden @ w["w2"] + w["b2"]


def _adamw_step(
    w: dict[str, tf.Variable], x: tf.Tensor, target: tf.Tensor, heads: int
) -> tuple[Callable[[], tf.Tensor], Callable[[], dict[str, np.ndarray]]]:
    """One AdamW step (PyTorch's form) written in tf ops, and a view of the weights."""
    names = list(w)
    moments = {
        n: (tf.Variable(tf.zeros_like(w[n])), tf.Variable(tf.zeros_like(w[n]))) for n in names
    }
    step_count = tf.Variable(0.0)
    beta1, beta2 = BETAS

    def step() -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((_block(w, x, heads) - target) ** 2)
        grads = tape.gradient(loss, [w[n] for n in names])
        step_count.assign_add(1.0)
        correction1 = 1.0 - beta1**step_count
        correction2 = 1.0 - beta2**step_count
        for name, grad in zip(names, grads, strict=True):
            m, v = moments[name]
            m.assign(beta1 * m + (1.0 - beta1) * grad)
            v.assign(beta2 * v + (1.0 - beta2) * grad * grad)
            weight = w[name]
            weight.assign(weight * (1.0 - LEARNING_RATE * WEIGHT_DECAY))
            weight.assign_sub(
                LEARNING_RATE * (m / correction1) / (tf.sqrt(v / correction2) + ADAM_EPS)
            )
        return loss

    return step, lambda: {n: _numpy(w[n]) for n in names}
