"""What each framework module provides to the worker: prepared calls on the same numpy data.

A framework converts the reference's inputs and weights once, up front; the `run` it returns is
what gets timed, and `fetch` turns its result back into numpy for the correctness check (outside
the clock).
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from probes.processes import kill_group, popen_options
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


def _free_addresses(count: int) -> list[str]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for each in sockets:
            each.bind(("127.0.0.1", 0))
        return [f"127.0.0.1:{each.getsockname()[1]}" for each in sockets]
    finally:
        for each in sockets:
            each.close()


ALL_REDUCE_TIMEOUT_S = 60.0
"""for the whole collective (both processes import the framework first)"""


def all_reduce_in_processes(
    script: str, count: int = 2, timeout_s: float = ALL_REDUCE_TIMEOUT_S, helpers: int = 0
) -> None:
    """Run `script` in `count` fresh interpreters as ranks of one job on 127.0.0.1 and check the
    all-reduce each reports: the script gets `addresses count rank` as arguments (a free
    127.0.0.1 port per rank, comma-separated; rank 0's serves as the coordinator), reduces a
    4-element tensor filled with rank + 1 and prints `SUM <sum of the result>`. Raises with the
    failing process's error otherwise. `helpers` more processes (ranks count and up: MXNet's
    scheduler and server) run the same script and need only exit cleanly. The processes are
    killed (with what they started) on a timeout, and die with this process."""
    addresses = ",".join(_free_addresses(count + helpers))
    processes = [
        subprocess.Popen(  # type: ignore[call-overload]
            [sys.executable, "-c", script, addresses, str(count), str(rank)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **popen_options(),
        )
        for rank in range(count + helpers)
    ]
    outputs: list[tuple[int | None, str, str]] = []
    deadline = time.monotonic() + timeout_s
    try:
        for process in processes:
            try:
                out, err = process.communicate(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"no result within {timeout_s:g} s") from None
            outputs.append((process.returncode, out, err))
    finally:
        for process in processes:
            kill_group(process)
    expected = 4.0 * count * (count + 1) / 2
    for rank, (code, out, err) in enumerate(outputs):
        sums = [line.split()[1] for line in out.splitlines() if line.startswith("SUM ")]
        if code != 0 or (rank < count and not sums):
            tail = " ".join(err.split())[-200:]
            raise RuntimeError(f"a process exited with code {code}: {tail}")
        if rank < count and float(sums[0]) != expected:
            raise RuntimeError(f"all-reduce gave {sums[0]}, expected {expected:g}")


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
