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
from typing import Any, ClassVar

import numpy as np

from probes.frameworks.base import (
    Capability,
    Collective,
    Prepared,
    adding_chain,
    try_capability,
)
from probes.reference import ConvBlock, Lstm, Mlp
from probes.transformer import ADAM_EPS, BETAS, LEARNING_RATE, LN_EPS, PARAMS, WEIGHT_DECAY, Block

jax: Any = None
jnp: Any = None
lax: Any = None
"""Bound by `_import_jax`, after the CPUs are restricted."""

ONE_THREAD_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


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
    transformer_modes: ClassVar[dict[str, tuple[str, ...]]] = {
        "tiny": ("compiled",),
        "quick": ("compiled",),
        "full": ("eager", "compiled"),
    }
    """jax.jit as JAX code runs; op-by-op dispatch only in the full suite (its first training step
    compiles every primitive: 4.9 s here)"""

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
        self.collective = Collective(
            _ALL_REDUCE,
            "jax.distributed + psum in a jitted shard_map (Gloo CPU collectives); "
            "fresh processes, as initialize refuses once this one has computed",
        )
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

    def transformer(
        self, block: Block, x: np.ndarray, target: np.ndarray | None, mode: str
    ) -> Prepared:
        weights = {name: self._a(block.weights[name]) for name in PARAMS}
        heads, tx = block.shape.heads, self._a(x)
        jit = mode == "compiled"
        details = {
            "execution": "jax.jit" if jit else "eager: un-jitted jax ops, dispatched one by one"
        }
        if target is None:
            forward = jax.jit(_block, static_argnums=2) if jit else _block
            return Prepared(run=lambda: forward(weights, tx, heads), fetch=_numpy, details=details)
        tt = self._a(target)

        def loss(w: dict[str, Any]) -> Any:
            return jnp.mean((_block(w, tx, heads) - tt) ** 2)

        value_and_grad = jax.value_and_grad(loss)

        def step(state: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
            w, m, v, count = state
            value, grads = value_and_grad(w)
            return value, _adamw(w, grads, m, v, count + 1.0)

        # numpy zeros put on the device: jnp.zeros_like would compile one XLA kernel per shape
        zeros = {n: self._a(np.zeros_like(block.weights[n])) for n in PARAMS}
        held = [(weights, zeros, zeros, jnp.asarray(0.0))]
        update = jax.jit(step) if jit else step

        def run() -> tuple[Any, Any]:
            value, held[0] = update(held[0])
            return value, held[0]

        return Prepared(
            run=run,
            fetch=_loss_of,
            details={**details, "optimiser": "AdamW written in jax.numpy (as optax's)"},
            state=lambda: {n: _numpy(a) for n, a in held[0][0].items()},
        )

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
import os
os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[RANK % len(os.sched_getaffinity(0)):][:1])
import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(ADDRESSES[0], num_processes=COUNT, process_id=RANK,
                           initialization_timeout=30)
mesh = Mesh(np.array(jax.devices()), ("p",))
psum = jax.jit(jax.shard_map(lambda v: jax.lax.psum(v, "p"), mesh=mesh,
                             in_specs=P("p"), out_specs=P()))

def make(a):
    local = jax.device_put(a.reshape(1, -1), jax.local_devices()[0])
    return jax.make_array_from_single_device_arrays(
        (COUNT, a.size), NamedSharding(mesh, P("p")), [local])

harness(make, psum, lambda t: np.asarray(t.addressable_data(0)), jax.block_until_ready)
jax.distributed.shutdown()
"""


def make_backend(device: str, threads: int) -> JaxBackend:
    threading = restrict_cpus(threads)  # before jax is imported: its thread pools start then
    _import_jax()
    return JaxBackend(device, threads, threading)


def _layer_norm(x: Any, gain: Any, bias: Any) -> Any:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) * lax.rsqrt(variance + LN_EPS) * gain + bias


def _block(w: dict[str, Any], x: Any, heads: int) -> Any:
    """probes.transformer's block in jax.numpy (explicit softmax attention)."""
    batch, seq, d = x.shape
    size = d // heads

    def split(t: Any) -> Any:
        return t.reshape(batch, seq, heads, size).transpose(0, 2, 1, 3)

    h = _layer_norm(x, w["ln1_g"], w["ln1_b"])
    q, k, v = jnp.split(h @ w["w_qkv"] + w["b_qkv"], 3, axis=-1)
    scores = split(q) @ split(k).transpose(0, 1, 3, 2) / np.sqrt(size)
    attended = jax.nn.softmax(scores, axis=-1) @ split(v)
    x1 = x + attended.transpose(0, 2, 1, 3).reshape(batch, seq, d) @ w["w_o"] + w["b_o"]
    hidden = jax.nn.gelu(
        _layer_norm(x1, w["ln2_g"], w["ln2_b"]) @ w["w1"] + w["b1"], approximate=True
    )
    return x1 + hidden @ w["w2"] + w["b2"]


def _adamw(
    w: dict[str, Any], grads: dict[str, Any], m: dict[str, Any], v: dict[str, Any], count: Any
) -> tuple[Any, ...]:
    """One AdamW step in PyTorch's (and optax's) form: returns (weights, m, v, count)."""
    beta1, beta2 = BETAS
    m = {n: beta1 * m[n] + (1 - beta1) * g for n, g in grads.items()}
    v = {n: beta2 * v[n] + (1 - beta2) * g * g for n, g in grads.items()}
    m_scale, v_scale = 1.0 / (1 - beta1**count), 1.0 / (1 - beta2**count)
    new = {
        n: w[n] * (1 - LEARNING_RATE * WEIGHT_DECAY)
        - LEARNING_RATE * (m[n] * m_scale) / (jnp.sqrt(v[n] * v_scale) + ADAM_EPS)
        for n in w
    }
    return new, m, v, count
