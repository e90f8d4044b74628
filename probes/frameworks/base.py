"""What each framework module provides to the worker: prepared calls on the same numpy data.

A framework converts the reference's inputs and weights once, up front; the `run` it returns is
what gets timed, and `fetch` turns its result back into numpy for the correctness check (outside
the clock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from probes.reference import ConvBlock, Lstm, Mlp


@dataclass
class Prepared:
    run: Callable[[], Any]
    fetch: Callable[[Any], np.ndarray]
    details: dict[str, Any] = field(default_factory=dict)
    """what this framework did that the figure depends on (e.g. which compiler)"""


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

    def capabilities(self) -> dict[str, Capability]: ...
