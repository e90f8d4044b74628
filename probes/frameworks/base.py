"""What each framework module provides to the worker: prepared calls on the same numpy data.

A framework converts the reference's inputs and weights once, up front; the `run` it returns is
what gets timed, and `fetch` turns its result back into numpy for the correctness check (outside
the clock).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from probes.reference import ConvBlock, Lstm, Mlp
from probes.transformer import Block


@dataclass
class Prepared:
    run: Callable[[], Any]
    fetch: Callable[[Any], np.ndarray]
    details: dict[str, Any] = field(default_factory=dict)
    """what this framework did that the figure depends on (e.g. which compiler)"""
    state: Callable[[], dict[str, np.ndarray]] | None = None
    """a training step's current weights by name, for checking one update against the reference"""


@dataclass(frozen=True)
class Capability:
    present: bool
    detail: str
    unknown: bool = False
    """the probe cannot tell (e.g. no official path to check): `present` is then False"""


def try_capability(action: Callable[[], object], what: str) -> Capability:
    """Run a small real use of a feature: present if it works, absent with the error if not."""
    started = time.perf_counter()
    try:
        action()
    except Exception as error:  # a capability check reports, never raises
        return Capability(False, f"{what} failed: {type(error).__name__}: {str(error)[:200]}")
    return Capability(True, f"{what} works ({time.perf_counter() - started:.2f} s)")


ONNX_RUNTIME = "onnxruntime"


def onnx_capability(
    export: Callable[[], tuple[bytes, np.ndarray, np.ndarray]], what: str, needs: Sequence[str]
) -> Capability:
    """Export a small model and run it in onnxruntime: present if its output matches the
    framework's own. `export` returns (the ONNX model, an input, the framework's output for it);
    `needs` are the packages the exporter imports. Where one of them or onnxruntime is not
    installed the export cannot be tested here: unknown with the reason, not absent."""
    missing = [name for name in (*needs, ONNX_RUNTIME) if importlib.util.find_spec(name) is None]
    if missing:
        return Capability(
            False,
            f"unknown: {what} cannot be tested here: {', '.join(missing)} not installed",
            unknown=True,
        )
    return try_capability(lambda: run_onnx(*export()), f"{what}, run in onnxruntime")


def run_onnx(model: bytes, x: np.ndarray, expected: np.ndarray) -> None:
    import onnxruntime

    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    (output, *_) = session.run(None, {session.get_inputs()[0].name: x})
    if not np.allclose(np.asarray(output), expected, rtol=1e-4, atol=1e-5):
        raise RuntimeError("onnxruntime's output differs from the framework's")


@dataclass(frozen=True)
class Collective:
    """A framework's all-reduce job for `probes.collectives`: the script each rank runs after
    its harness, what it uses, and how many helper processes (parameter servers) it needs."""

    script: str
    what: str
    helpers: int = 0


def adding_chain(start: Any, ops: int) -> Callable[[], Any]:
    """`ops` dependent `+ 1.0` on a framework tensor: the very same Python loop in every
    framework, so the add_chain figure differs only in what one eager op costs."""

    def chain() -> Any:
        y = start
        for _ in range(ops):
            y = y + 1.0
        return y

    return chain


class Backend(Protocol):
    """A backend may also have `record_details`, a dict added to the details of every record
    (JAX: how its threads were restricted)."""

    name: str
    device: str

    def versions(self) -> dict[str, str]:
        """Framework, numpy and (where the framework tells) BLAS / oneDNN / CUDA versions."""
        ...

    def sync(self, result: Any) -> None:
        """Block until queued work is finished (MXNet's engine, CUDA streams)."""
        ...

    def matmul(self, a: np.ndarray, b: np.ndarray, dtype: str) -> Prepared: ...

    def mlp_train(self, m: Mlp, x: np.ndarray, y: np.ndarray, lr: float, mode: str) -> Prepared:
        """One SGD step on mean squared error; `run` returns the loss before the update."""
        ...

    def mlp_forward(self, m: Mlp, x: np.ndarray) -> Prepared: ...

    def conv_train(self, b: ConvBlock, x: np.ndarray, y: np.ndarray, lr: float) -> Prepared:
        """One SGD step of the conv block; `run` returns the loss before the update."""
        ...

    def lstm_forward(self, m: Lstm, x: np.ndarray) -> Prepared:
        """`fetch` gives the final hidden state (batch, hidden)."""
        ...

    def add_chain(self, x: np.ndarray, ops: int) -> Prepared:
        """`ops` dependent additions of 1 to a tiny tensor: the cost of one eager op."""
        ...

    def gpu_peak_bytes(self, reset: bool) -> int | None:
        """The allocator's peak on the GPU (reset first when asked); None on CPU."""
        ...

    transformer_modes: dict[str, tuple[str, ...]]
    """per suite, the execution modes the transformer probes time (the first call of a
    compiled mode pays its compilation, reported as its own figure)"""

    def transformer(
        self, block: Block, x: np.ndarray, target: np.ndarray | None, mode: str
    ) -> Prepared:
        """The transformer block (`probes.transformer`): its output when `target` is None, else
        one AdamW step whose `run` returns the loss before the update and whose `state` gives
        the weights."""
        ...

    collective: Collective | None
    """its all-reduce across processes (None: the framework has no collective layer here)"""

    def capabilities(self) -> dict[str, Capability]:
        """All but `distributed`, which the worker gets from the all-reduce job."""
        ...
