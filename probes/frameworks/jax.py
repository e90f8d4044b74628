"""JAX probes: `jax.jit`-compiled functions (how JAX code runs) and un-jitted ops for eager.

JAX lives in its own interpreter (`.venv-jax`: JAX 0.11+ needs Python >= 3.12). Two things must
happen before `jax` is imported, so this module imports it only in `make_backend`:

- threads: XLA's CPU runtime ignores `OMP_NUM_THREADS` and, measured here, also keeps using every
  core with `XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`; only
  CPU affinity holds it to N cores. So the worker's main thread is pinned to the first N usable
  CPUs (XLA's threads, created later, inherit that), and for one thread the flags are set too.
- the persistent compilation cache is switched off, so every first call compiles cold, as
  `torch.compile` and `tf.function` do on a fresh process here.

What was done is in every record's details (`threading`, `compilation_cache`).

JAX dispatches asynchronously: `sync` blocks on the whole result (`jax.block_until_ready`), and
the training steps return their updated parameters with the loss so the update is waited for too.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from probes.frameworks.base import (
    Capability,
    Prepared,
    adding_chain,
    all_reduce_in_processes,
    try_capability,
)
from probes.reference import ConvBlock, Lstm, Mlp

jax: Any = None
jnp: Any = None
lax: Any = None
"""Bound by `_import_jax`, after the CPUs are restricted."""

ONE_THREAD_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
DISTRIBUTED_TIMEOUT_S = 60.0


def restrict_cpus(threads: int) -> str:
    """Pin this thread (and so every thread JAX starts) to the first `threads` usable CPUs;
    returns what was done, for the records."""
    done: list[str] = []
    if threads == 1:
        current = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{current} {ONE_THREAD_XLA_FLAGS}".strip()
        done.append(f"XLA_FLAGS={ONE_THREAD_XLA_FLAGS}")
    try:
        usable = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux: XLA may use more cores than asked
        return "; ".join([*done, "CPU affinity unavailable on this OS: not restricted"])
    chosen = usable[:threads]
    if len(chosen) < len(usable):
        os.sched_setaffinity(0, chosen)
        done.append(f"CPU affinity {_cpu_list(chosen)} ({threads} of {len(usable)} usable CPUs)")
    else:
        done.append(f"CPU affinity left at all {len(usable)} usable CPUs ({_cpu_list(usable)})")
    return "; ".join(done)


def _cpu_list(cpus: list[int]) -> str:
    return ",".join(str(c) for c in cpus)


def _import_jax() -> None:
    global jax, jnp, lax  # imported late on purpose (see module docstring)
    import jax as jax_module
    import jax.numpy as jnp_module

    jax, jnp, lax = jax_module, jnp_module, jax_module.lax


def _numpy(t: Any) -> np.ndarray:
    return np.asarray(jnp.asarray(t, dtype=jnp.float32))


def _loss_of(result: Any) -> np.ndarray:
    """The training steps return (loss, parameters): the check looks at the loss only."""
    return _numpy(result[0])


def _sgd(params: list[Any], grads: list[Any], lr: float) -> list[Any]:
    return [p - lr * g for p, g in zip(params, grads, strict=True)]


def _stateful(step: Callable[[list[Any]], tuple[Any, list[Any]]], start: list[Any]) -> Any:
    """A `run` that applies `step` to the parameters it holds and keeps the updated ones."""
    state = [start]

    def run() -> tuple[Any, list[Any]]:
        loss, state[0] = step(state[0])
        return loss, state[0]

    return run


class JaxBackend:
    name = "jax"

    def __init__(self, device: str, threads: int, threading: str) -> None:
        jax.config.update("jax_enable_compilation_cache", False)
        if device == "cuda":
            gpus = _gpus()
            if not gpus:
                raise RuntimeError(
                    "CUDA requested but JAX sees no GPU (the CPU jaxlib is installed; "
                    "GPUs need `pip install jax[cuda13]`)"
                )
            self._dev = gpus[0]
            # the other frameworks multiply in full fp32 unless asked; XLA would use TF32 on GPUs
            jax.config.update("jax_default_matmul_precision", "highest")
        else:
            self._dev = jax.devices("cpu")[0]
        jax.config.update("jax_default_device", self._dev)
        self.device = device
        self.threads = threads
        self.record_details = {
            "threading": threading,
            "compilation_cache": "persistent cache disabled (every first call compiles)",
        }

    def _a(self, a: np.ndarray, dtype: Any = None) -> Any:
        return jax.device_put(jnp.asarray(a, dtype=dtype or jnp.float32), self._dev)

    def versions(self) -> dict[str, str]:
        import jaxlib

        return {
            "jax": jax.__version__,
            "jaxlib": getattr(jaxlib, "__version__", "") or jax.lib.__version__,
            "numpy": np.__version__,
            "xla_backend": f"{self._dev.platform} ({self._dev.device_kind})",
        }

    def sync(self, result: Any) -> None:
        jax.block_until_ready(result)

    def matmul(self, a: np.ndarray, b: np.ndarray, dtype: str) -> Prepared:
        kind = {"float32": jnp.float32, "float16": jnp.float16, "bfloat16": jnp.bfloat16}[dtype]
        ta, tb = self._a(a, kind), self._a(b, kind)
        product = jax.jit(jnp.matmul)
        return Prepared(run=lambda: product(ta, tb), fetch=_numpy, details={"execution": "jax.jit"})

    @staticmethod
    def _mlp(params: list[Any], x: Any) -> Any:
        w1, b1, w2, b2 = params
        return jnp.maximum(x @ w1 + b1, 0.0) @ w2 + b2

    def _mlp_params(self, m: Mlp) -> list[Any]:
        return [self._a(m.w1.T), self._a(m.b1), self._a(m.w2.T), self._a(m.b2)]

    def mlp_train(self, m: Mlp, x: np.ndarray, y: np.ndarray, lr: float, mode: str) -> Prepared:
        tx, ty = self._a(x), self._a(y)
        mlp = self._mlp

        def loss(params: list[Any]) -> Any:
            return jnp.mean((mlp(params, tx) - ty) ** 2)

        value_and_grad = jax.value_and_grad(loss)

        def step(params: list[Any]) -> tuple[Any, list[Any]]:
            value, grads = value_and_grad(params)
            return value, _sgd(params, grads, lr)

        details = {"execution": "eager: un-jitted jax ops, dispatched one by one"}
        if mode == "compiled":
            step = jax.jit(step)
            details = {"execution": "jax.jit (whole training step)"}
        return Prepared(run=_stateful(step, self._mlp_params(m)), fetch=_loss_of, details=details)

    def mlp_forward(self, m: Mlp, x: np.ndarray) -> Prepared:
        params, tx = self._mlp_params(m), self._a(x)
        forward = jax.jit(self._mlp)
        return Prepared(
            run=lambda: forward(params, tx),
            fetch=_numpy,
            details={
                "execution": "jax.jit (as JAX code serves; un-jitted ops dispatch one by one)"
            },
        )

    def conv_train(self, b: ConvBlock, x: np.ndarray, y: np.ndarray, lr: float) -> Prepared:
        # XLA's CPU convolutions prefer NHWC images and (kh, kw, in, out) kernels, as TF's do
        params = [
            self._a(b.k1.transpose(2, 3, 1, 0)),
            self._a(b.c1),
            self._a(b.k2.transpose(2, 3, 1, 0)),
            self._a(b.c2),
            self._a(b.dense.T),
            self._a(b.bias),
        ]
        tx, ty = self._a(x.transpose(0, 2, 3, 1)), self._a(y)
        layout = ("NHWC", "HWIO", "NHWC")

        def conv(data: Any, kernel: Any, shift: Any) -> Any:
            out = lax.conv_general_dilated(data, kernel, (1, 1), "SAME", dimension_numbers=layout)
            return out + shift

        def loss(p: list[Any]) -> Any:
            k1, c1, k2, c2, dense, bias = p
            hidden = jnp.maximum(conv(tx, k1, c1), 0.0)
            out = jnp.maximum(conv(hidden, k2, c2) + tx, 0.0)
            return jnp.mean((out.mean(axis=(1, 2)) @ dense + bias - ty) ** 2)

        value_and_grad = jax.value_and_grad(loss)

        def step(p: list[Any]) -> tuple[Any, list[Any]]:
            value, grads = value_and_grad(p)
            return value, _sgd(p, grads, lr)

        return Prepared(
            run=_stateful(jax.jit(step), params),
            fetch=_loss_of,
            details={
                "execution": "jax.jit (whole training step; how JAX trains)",
                "layout": "NHWC",
            },
        )

    def lstm_forward(self, m: Lstm, x: np.ndarray) -> Prepared:
        w_ih, w_hh, bias, tx = self._a(m.w_ih.T), self._a(m.w_hh.T), self._a(m.bias), self._a(x)
        batch, hidden = x.shape[0], m.w_hh.shape[1]

        def cell(carry: tuple[Any, Any], x_gates: Any) -> tuple[tuple[Any, Any], None]:
            h, c = carry
            i, f, g, o = jnp.split(x_gates + h @ w_hh, 4, axis=1)  # gates i, f, g, o
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            return (jax.nn.sigmoid(o) * jnp.tanh(c), c), None

        def forward(inputs: Any) -> Any:
            # the input projection of every step in one matmul, then the recurrence
            x_gates = jnp.swapaxes(inputs @ w_ih + bias, 0, 1)  # (steps, batch, 4H)
            zeros = jnp.zeros((batch, hidden), jnp.float32)
            (h, _), _ = lax.scan(cell, (zeros, zeros), x_gates)
            return h

        compiled = jax.jit(forward)
        return Prepared(
            run=lambda: compiled(tx),
            fetch=_numpy,
            details={"execution": "jax.jit of lax.scan over the LSTM cell (JAX has no LSTM layer)"},
        )

    def add_chain(self, x: np.ndarray, ops: int) -> Prepared:
        return Prepared(
            run=adding_chain(self._a(x), ops),
            fetch=_numpy,
            details={"execution": "eager: un-jitted jax ops"},
        )

    def gpu_peak_bytes(self, reset: bool) -> int | None:
        if self.device != "cuda":
            return None
        # XLA's allocator keeps a process-long peak and cannot reset it: the figure includes
        # what ran before (the memory probe runs second, after import_time only)
        stats = self._dev.memory_stats() or {}
        return int(stats.get("peak_bytes_in_use", 0))

    def capabilities(self) -> dict[str, Capability]:
        gpus = _gpus()
        return {
            "gpu": Capability(
                bool(gpus),
                f"{len(gpus)} GPU(s) visible to JAX"
                + ("" if gpus else f" (default backend: {jax.default_backend()})"),
            ),
            "distributed": _distributed(),
            "mixed_precision": try_capability(self._bf16_matmul, "a bfloat16 matmul"),
            "onnx_export": _onnx_export(),
            "compile": try_capability(_jit, "jax.jit (not exercised by mlp_train)"),
        }

    def _bf16_matmul(self) -> None:
        ones = self._a(np.ones((4, 4)), jnp.bfloat16)
        if float(jnp.sum((ones @ ones).astype(jnp.float32))) != 64.0:
            raise RuntimeError("wrong bfloat16 result")


def _gpus() -> list[Any]:
    try:
        return list(jax.devices("gpu"))
    except RuntimeError:  # this jaxlib has no GPU backend, or it found no GPU
        return []


def _jit() -> None:
    if float(jax.jit(lambda v: v * 2.0)(2.0)) != 4.0:
        raise RuntimeError("wrong result from a compiled function")


def _onnx_export() -> Capability:
    """JAX has no official ONNX exporter: reported as unknown (0), not as a failure of JAX."""
    community = importlib.util.find_spec("jax2onnx") is not None
    official = try_capability(_stablehlo_export, "jax.export to StableHLO")
    return Capability(
        False,
        "unknown: JAX has no official ONNX export path (only the community package jax2onnx, "
        + ("installed here" if community else "not installed here")
        + "); its own serialization: "
        + official.detail,
        unknown=True,
    )


def _stablehlo_export() -> None:
    exported = jax.export.export(jax.jit(lambda v: v * 2.0))(
        jax.ShapeDtypeStruct((4,), jnp.float32)
    )
    # (`exported.serialize()` needs the flatbuffers package, which jax does not install)
    if "stablehlo" not in exported.mlir_module():
        raise RuntimeError("no StableHLO module")


# Each process adds its rank + 1 over a 2-process mesh with psum, over Gloo on 127.0.0.1.
_ALL_REDUCE = """
import sys
import jax, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
addresses, count, rank = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
jax.distributed.initialize(addresses.split(",")[0], num_processes=count, process_id=rank,
                           initialization_timeout=30)
mesh = Mesh(np.array(jax.devices()), ("p",))
local = jax.device_put(np.full((1, 4), rank + 1.0, np.float32), jax.local_devices()[0])
whole = jax.make_array_from_single_device_arrays((count, 4), NamedSharding(mesh, P("p")), [local])
total = jax.jit(jax.shard_map(lambda v: jax.lax.psum(v, "p"), mesh=mesh,
                              in_specs=P("p"), out_specs=P()))(whole)
print("SUM", float(np.asarray(total.addressable_data(0)).sum()))
jax.distributed.shutdown()
"""


def _distributed() -> Capability:
    """A real multi-process all-reduce: 2 processes, `jax.distributed.initialize` + `psum`.

    It must run in fresh processes: `initialize` refuses once this process has computed anything.
    """
    if not hasattr(jax, "distributed"):
        return Capability(False, "jax.distributed is missing")
    return try_capability(_all_reduce, "jax.distributed.initialize + psum over 2 processes (Gloo)")


def _all_reduce(count: int = 2) -> None:
    all_reduce_in_processes(_ALL_REDUCE, count, timeout_s=DISTRIBUTED_TIMEOUT_S)


def make_backend(device: str, threads: int) -> JaxBackend:
    threading = restrict_cpus(threads)  # before jax is imported: its thread pools start then
    _import_jax()
    return JaxBackend(device, threads, threading)
