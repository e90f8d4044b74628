"""MXNet 1.9.1 probes: NDArray ops and Gluon blocks, `hybridize` for the compiled mode.

MXNet queues every operation on its dependency engine and returns at once, so `sync` waits for
the engine (`mx.nd.waitall`) before the clock stops. Its last release has CPU wheels and CUDA
builds up to 11.7 only; this module runs on the CPU.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, ClassVar

import mxnet as mx
import numpy as np

from probes.frameworks.base import (
    Capability,
    Collective,
    Prepared,
    adding_chain,
    onnx_capability,
    try_capability,
)
from probes.reference import ConvBlock, Lstm, Mlp
from probes.transformer import (
    ADAM_EPS,
    BETAS,
    GELU_C,
    LEARNING_RATE,
    LN_EPS,
    PARAMS,
    WEIGHT_DECAY,
    Block,
)

DTYPES = {"float32": np.float32, "float16": np.float16}


def _numpy(t: Any) -> np.ndarray:
    return np.asarray(t.astype("float32").asnumpy())


class MXNetBackend:
    name = "mxnet"
    transformer_modes: ClassVar[dict[str, tuple[str, ...]]] = {
        "tiny": ("compiled",),
        "quick": ("compiled",),
        "full": ("eager", "compiled"),
    }
    """imperative Gluon and `hybridize` (a static graph, how Gluon models are trained for
    speed): the quick suite times the hybridized block, the full suite both"""

    def __init__(self, device: str, threads: int) -> None:
        if device == "cuda":
            if mx.context.num_gpus() == 0:
                raise RuntimeError("CUDA requested but this MXNet build sees no GPU")
            self._ctx = mx.gpu(0)
        else:
            self._ctx = mx.cpu()
        self.device = device
        self.threads = threads  # the runner sets OMP_NUM_THREADS / MXNET_* before start-up
        self.collective = Collective(
            _ALL_REDUCE,
            "kvstore dist_sync pushpull (a parameter server: scheduler, server and workers)",
            helpers=2,
        )

    def _a(self, a: np.ndarray, dtype: Any = np.float32) -> Any:
        return mx.nd.array(np.array(a, copy=True), ctx=self._ctx, dtype=dtype)

    def versions(self) -> dict[str, str]:
        found = {"mxnet": mx.__version__, "numpy": np.__version__}
        features = mx.runtime.Features()
        enabled = [
            name
            for name in ("MKLDNN", "BLAS_OPEN", "BLAS_MKL", "BLAS_APPLE", "BLAS_ATLAS", "CUDA")
            if features.is_enabled(name)
        ]
        found["build"] = ", ".join(enabled)
        return found

    def sync(self, result: Any) -> None:
        mx.nd.waitall()

    def matmul(self, a: np.ndarray, b: np.ndarray, dtype: str) -> Prepared:
        ta, tb = self._a(a, DTYPES[dtype]), self._a(b, DTYPES[dtype])
        return Prepared(run=lambda: mx.nd.dot(ta, tb), fetch=_numpy)

    def _mlp_net(self, m: Mlp) -> Any:
        net = mx.gluon.nn.HybridSequential()
        net.add(mx.gluon.nn.Dense(m.w1.shape[0], in_units=m.w1.shape[1], activation="relu"))
        net.add(mx.gluon.nn.Dense(m.w2.shape[0], in_units=m.w2.shape[1]))
        net.initialize(ctx=self._ctx)
        for layer, w, b in ((net[0], m.w1, m.b1), (net[1], m.w2, m.b2)):
            layer.weight.set_data(self._a(w))  # Dense keeps (out, in) weights, like the reference
            layer.bias.set_data(self._a(b))
        return net

    def mlp_train(self, m: Mlp, x: np.ndarray, y: np.ndarray, lr: float, mode: str) -> Prepared:
        net = self._mlp_net(m)
        details = {"execution": "eager (imperative Gluon)"}
        if mode == "compiled":
            net.hybridize(static_alloc=True, static_shape=True)
            details = {"execution": "Gluon hybridize (static graph)"}
        trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
        tx, ty = self._a(x), self._a(y)

        def step() -> Any:
            with mx.autograd.record():
                loss = ((net(tx) - ty) ** 2).mean()
            loss.backward()
            trainer.step(1)  # the loss is already a mean: no further scaling
            return loss

        return Prepared(run=step, fetch=_numpy, details=details)

    def mlp_forward(self, m: Mlp, x: np.ndarray) -> Prepared:
        net = self._mlp_net(m)
        tx = self._a(x)
        return Prepared(run=lambda: net(tx), fetch=_numpy)

    def conv_train(self, b: ConvBlock, x: np.ndarray, y: np.ndarray, lr: float) -> Prepared:
        params = [self._a(v) for v in (b.k1, b.c1, b.k2, b.c2, b.dense, b.bias)]
        for p in params:
            p.attach_grad()
        k1, c1, k2, c2, dense, bias = params
        tx, ty = self._a(x), self._a(y)
        channels = b.k1.shape[0]

        def conv(data: Any, kernel: Any, shift: Any) -> Any:
            return mx.nd.Convolution(
                data, kernel, shift, kernel=(3, 3), pad=(1, 1), num_filter=channels
            )

        def step() -> Any:
            with mx.autograd.record():
                hidden = mx.nd.relu(conv(tx, k1, c1))
                out = mx.nd.relu(conv(hidden, k2, c2) + tx)
                logits = mx.nd.dot(out.mean(axis=(2, 3)), dense, transpose_b=True) + bias
                loss = ((logits - ty) ** 2).mean()
            loss.backward()
            for p in params:
                mx.nd.sgd_update(p, p.grad, lr=lr, out=p)
            return loss

        return Prepared(run=step, fetch=_numpy, details={"execution": "eager autograd (NDArray)"})

    def lstm_forward(self, m: Lstm, x: np.ndarray) -> Prepared:
        hidden = m.w_hh.shape[1]
        lstm = mx.gluon.rnn.LSTM(hidden, layout="NTC", input_size=m.w_ih.shape[1])
        lstm.initialize(ctx=self._ctx)
        values = {  # gate order i, f, c, o as in the reference; one bias, the other zero
            "l0_i2h_weight": m.w_ih,
            "l0_h2h_weight": m.w_hh,
            "l0_i2h_bias": m.bias,
            "l0_h2h_bias": np.zeros_like(m.bias),
        }
        for name, parameter in lstm.collect_params().items():
            suffix = next(key for key in values if name.endswith(key))
            parameter.set_data(self._a(values[suffix]))
        tx = self._a(x)
        return Prepared(
            run=lambda: lstm(tx)[:, -1, :],
            fetch=_numpy,
            details={"execution": "eager gluon.rnn.LSTM"},
        )

    def add_chain(self, x: np.ndarray, ops: int) -> Prepared:
        return Prepared(run=adding_chain(self._a(x), ops), fetch=_numpy)

    def transformer(
        self, block: Block, x: np.ndarray, target: np.ndarray | None, mode: str
    ) -> Prepared:
        net = _EncoderBlock(block.shape.heads, {n: block.weights[n].shape for n in PARAMS})
        net.initialize(ctx=self._ctx)
        params = {name.split("_", 1)[1]: p for name, p in net.collect_params().items()}
        for name in PARAMS:
            params[name].set_data(self._a(block.weights[name]))
        details = {"execution": "eager (imperative Gluon)"}
        if mode == "compiled":
            net.hybridize(static_alloc=True, static_shape=True)
            details = {"execution": "Gluon hybridize (static graph)"}
        tx = self._a(x)
        if target is None:
            return Prepared(run=lambda: net(tx), fetch=_numpy, details=details)
        tt = self._a(target)
        moments = {
            n: (mx.nd.zeros_like(params[n].data()), mx.nd.zeros_like(params[n].data()))
            for n in PARAMS
        }
        count = [0]
        beta1, beta2 = BETAS

        def step() -> Any:
            with mx.autograd.record():
                loss = ((net(tx) - tt) ** 2).mean()
            loss.backward()
            count[0] += 1
            c1, c2 = 1 - beta1 ** count[0], 1 - beta2 ** count[0]
            for name in PARAMS:
                weight, grad = params[name].data(), params[name].grad()
                m, v = moments[name]
                m[:] = beta1 * m + (1 - beta1) * grad
                v[:] = beta2 * v + (1 - beta2) * grad * grad
                weight[:] = weight * (1 - LEARNING_RATE * WEIGHT_DECAY) - LEARNING_RATE * (
                    m / c1
                ) / ((v / c2).sqrt() + ADAM_EPS)
            return loss

        return Prepared(
            run=step,
            fetch=_numpy,
            details={**details, "optimiser": "AdamW written in NDArray ops (PyTorch's form)"},
            state=lambda: {n: _numpy(params[n].data()) for n in PARAMS},
        )

    def gpu_peak_bytes(self, reset: bool) -> int | None:
        return None  # MXNet exposes no allocator peak; on GPU the RSS figure is not meaningful

    def capabilities(self) -> dict[str, Capability]:
        gpus = mx.context.num_gpus()
        return {
            "gpu": Capability(gpus > 0, f"{gpus} GPU(s) visible to this MXNet build"),
            "mixed_precision": try_capability(_amp, "mxnet.contrib.amp"),
            "onnx_export": onnx_capability(
                _onnx, "mx.onnx.export_model of a Dense layer", needs=("onnx",)
            ),
            "compile": Capability(
                hasattr(mx.gluon.HybridBlock, "hybridize"),
                "Gluon hybridize is there (not exercised: mlp_train did not run)",
            ),
        }


# One rank of the all-reduce job (probes.collectives runs it after its harness); ranks `count`
# and `count + 1` are the parameter server's scheduler and server.
_ALL_REDUCE = """
import os
host, port = ADDRESSES[COUNT].rsplit(":", 1)
role = "worker" if RANK < COUNT else "scheduler" if RANK == COUNT else "server"
os.environ.update(DMLC_ROLE=role, DMLC_PS_ROOT_URI=host, DMLC_PS_ROOT_PORT=port,
                  DMLC_NUM_SERVER="1", DMLC_NUM_WORKER=str(COUNT), OMP_NUM_THREADS="1")
import mxnet as mx
if role == "worker":
    kv = mx.kv.create("dist_sync")
    RANK = kv.rank  # the scheduler numbers the workers
    keys = iter(range(len(SIZES)))

    def make(a):
        key = next(keys)
        kv.init(key, mx.nd.zeros(a.shape))
        return key, mx.nd.array(a), mx.nd.zeros(a.shape)

    def reduce(held):
        key, value, out = held
        kv.pushpull(key, value, out=out)  # no optimizer on the server: it returns the sum
        return out

    harness(make, reduce, lambda t: t.asnumpy(), lambda t: t.wait_to_read())
"""


def _amp() -> None:
    from mxnet.contrib import amp  # noqa: F401


def _onnx() -> tuple[bytes, np.ndarray, np.ndarray]:
    if not hasattr(mx, "onnx"):
        raise RuntimeError("this build has no mx.onnx")
    dense = mx.gluon.nn.Dense(2, in_units=4)
    dense.initialize(mx.init.Constant(0.25))
    dense.hybridize()
    x = np.arange(4, dtype=np.float32).reshape(1, 4)
    expected = dense(mx.nd.array(x)).asnumpy()
    with tempfile.TemporaryDirectory() as folder:
        prefix = str(Path(folder) / "dense")
        dense.export(prefix)
        path = mx.onnx.export_model(
            f"{prefix}-symbol.json",
            f"{prefix}-0000.params",
            [(1, 4)],
            np.float32,
            str(Path(folder) / "dense.onnx"),
        )
        return Path(path).read_bytes(), x, expected


def make_backend(device: str, threads: int) -> MXNetBackend:
    return MXNetBackend(device, threads)


class _EncoderBlock(mx.gluon.HybridBlock):  # type: ignore[misc]
    """probes.transformer's block as a Gluon HybridBlock (explicit softmax attention), so the
    same code runs imperatively and, hybridized, as a static graph."""

    def __init__(self, heads: int, shapes: dict[str, tuple[int, ...]]) -> None:
        super().__init__(prefix="block_")
        self.heads = heads
        self.scale = 1.0 / float(np.sqrt(shapes["w_o"][0] // heads))
        with self.name_scope():
            for name, shape in shapes.items():
                setattr(self, name, self.params.get(name, shape=shape))

    def hybrid_forward(self, F: Any, x: Any, **w: Any) -> Any:
        heads = self.heads

        def split(t: Any) -> Any:  # (B, S, d) -> (B * H, S, d / H)
            return t.reshape((0, 0, heads, -1)).transpose((0, 2, 1, 3)).reshape((-3, 0, 0))

        def gelu(u: Any) -> Any:
            return 0.5 * u * (1 + F.tanh(GELU_C * (u + 0.044715 * u**3)))

        h = F.LayerNorm(x, w["ln1_g"], w["ln1_b"], axis=-1, eps=LN_EPS)
        q, k, v = F.split(F.broadcast_add(F.dot(h, w["w_qkv"]), w["b_qkv"]), num_outputs=3, axis=-1)
        scores = F.batch_dot(split(q), split(k), transpose_b=True) * self.scale
        attended = F.batch_dot(F.softmax(scores, axis=-1), split(v))
        merged = attended.reshape((-4, -1, heads, 0, 0)).transpose((0, 2, 1, 3)).reshape((0, 0, -3))
        x1 = x + F.broadcast_add(F.dot(merged, w["w_o"]), w["b_o"])
        h2 = F.LayerNorm(x1, w["ln2_g"], w["ln2_b"], axis=-1, eps=LN_EPS)
        hidden = gelu(F.broadcast_add(F.dot(h2, w["w1"]), w["b1"]))
        return x1 + F.broadcast_add(F.dot(hidden, w["w2"]), w["b2"])
