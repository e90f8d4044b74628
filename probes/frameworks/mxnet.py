"""MXNet 1.9.1 probes: NDArray ops and Gluon blocks, `hybridize` for the compiled mode.

MXNet queues every operation on its dependency engine and returns at once, so `sync` waits for
the engine (`mx.nd.waitall`) before the clock stops. Its last release has CPU wheels and CUDA
builds up to 11.7 only; this module runs on the CPU.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mxnet as mx
import numpy as np

from probes.frameworks.base import (
    Capability,
    Prepared,
    adding_chain,
    all_reduce_in_processes,
    onnx_capability,
    try_capability,
)
from probes.reference import ConvBlock, Lstm, Mlp

DTYPES = {"float32": np.float32, "float16": np.float16}


def _numpy(t: Any) -> np.ndarray:
    return np.asarray(t.astype("float32").asnumpy())


class MXNetBackend:
    name = "mxnet"

    def __init__(self, device: str, threads: int) -> None:
        if device == "cuda":
            if mx.context.num_gpus() == 0:
                raise RuntimeError("CUDA requested but this MXNet build sees no GPU")
            self._ctx = mx.gpu(0)
        else:
            self._ctx = mx.cpu()
        self.device = device
        self.threads = threads  # the runner sets OMP_NUM_THREADS / MXNET_* before start-up

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

    def gpu_peak_bytes(self, reset: bool) -> int | None:
        return None  # MXNet exposes no allocator peak; on GPU the RSS figure is not meaningful

    def capabilities(self) -> dict[str, Capability]:
        gpus = mx.context.num_gpus()
        return {
            "gpu": Capability(gpus > 0, f"{gpus} GPU(s) visible to this MXNet build"),
            "distributed": try_capability(
                lambda: all_reduce_in_processes(_ALL_REDUCE, helpers=2),
                "kvstore dist_sync push/pull over 2 workers (with a scheduler and a server)",
            ),
            "mixed_precision": try_capability(_amp, "mxnet.contrib.amp"),
            "onnx_export": onnx_capability(
                _onnx, "mx.onnx.export_model of a Dense layer", needs=("onnx",)
            ),
            "compile": Capability(
                hasattr(mx.gluon.HybridBlock, "hybridize"),
                "Gluon hybridize is there (not exercised: mlp_train did not run)",
            ),
        }


# Each worker pushes its rank + 1 and pulls the aggregate; ranks 2 and 3 are the parameter
# server's scheduler and server (base.all_reduce_in_processes).
_ALL_REDUCE = """
import os, sys
addresses, count, rank = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
host, port = addresses[count].rsplit(":", 1)
role = "worker" if rank < count else "scheduler" if rank == count else "server"
os.environ.update(DMLC_ROLE=role, DMLC_PS_ROOT_URI=host, DMLC_PS_ROOT_PORT=port,
                  DMLC_NUM_SERVER="1", DMLC_NUM_WORKER=str(count))
import mxnet as mx
if role == "worker":
    kv = mx.kv.create("dist_sync")
    kv.init(3, mx.nd.zeros(4))
    kv.push(3, mx.nd.full(4, kv.rank + 1.0))
    out = mx.nd.zeros(4)
    kv.pull(3, out=out)
    print("SUM", float(out.sum().asscalar()))
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
