"""A probe backend written in numpy, for testing the real worker (`probes.worker`) without a
framework: every compute call is the reference's own math in float32, and `error` perturbs every
result it hands back for the correctness check (`fetch`) by that relative amount, as a framework
with a wrong kernel would. It counts the calls the worker makes, so a test can tell whether a
result was timed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from probes import reference as ref
from probes import transformer as tr
from probes.frameworks.base import Capability, Collective, Prepared

# One rank of a numpy "all-reduce": what every rank's contribution sums to (probes.collectives).
HONEST_ALL_REDUCE = """
harness(lambda a: a, lambda a: a / (RANK + 1) * COUNT * (COUNT + 1) / 2, lambda t: t, lambda t: None)
"""


HONEST = Collective(HONEST_ALL_REDUCE, "numpy sums")


class NumpyBackend:
    name = "numpy"
    backend = "numpy"
    device = "cpu"
    transformer_modes: ClassVar[dict[str, tuple[str, ...]]] = {
        "quick": ("eager", "compiled"),
        "full": ("eager", "compiled", "graph"),
    }

    def __init__(
        self,
        error: float = 0.0,
        wrong: tuple[str, ...] | None = None,
        block_change: str | None = None,
        collective: Collective | None = HONEST,
    ) -> None:
        self.block_change = block_change
        """a transformer block that computes something else: "unscaled" attention scores, or
        an "update" that skips the weight decay"""
        self.collective = collective
        self.error = error
        """relative error added to what `fetch` returns"""
        self.wrong = wrong
        """the calls whose results are perturbed (None: every one)"""
        self.runs: dict[str, int] = {}
        """how many times each prepared call ran (the check's calls included)"""
        self.synced = 0

    # -- helpers ---------------------------------------------------------------------------------
    def _prepared(self, what: str, step: Callable[[], Any], **details: Any) -> Prepared:
        self.runs[what] = 0

        def run() -> Any:
            self.runs[what] += 1
            return step()

        def fetch(value: Any) -> np.ndarray:
            out = np.asarray(value, dtype=np.float64)
            if self.wrong is None or what in self.wrong:
                out = out * (1.0 + self.error)
            return out

        return Prepared(run, fetch, {"execution": f"numpy {what}", **details})

    # -- the Backend protocol --------------------------------------------------------------------
    def versions(self) -> dict[str, str]:
        return {"numpy": np.__version__}

    def sync(self, result: Any) -> None:
        self.synced += 1

    def matmul(self, a: np.ndarray, b: np.ndarray, dtype: str) -> Prepared:
        return self._prepared("matmul", lambda: a @ b)

    def mlp_train(self, m: ref.Mlp, x: np.ndarray, y: np.ndarray, lr: float, mode: str) -> Prepared:
        weights = [np.array(w, dtype=np.float64) for w in (m.w1, m.b1, m.w2, m.b2)]
        x64, y64 = x.astype(np.float64), y.astype(np.float64)

        def step() -> float:
            w1, b1, w2, b2 = weights
            pre = x64 @ w1.T + b1
            hidden = np.maximum(pre, 0.0)
            out = hidden @ w2.T + b2
            loss = float(np.mean((out - y64) ** 2))
            d_out = 2.0 * (out - y64) / out.size
            d_pre = (d_out @ w2) * (pre > 0)
            grads = (d_pre.T @ x64, d_pre.sum(0), d_out.T @ hidden, d_out.sum(0))
            weights[:] = [w - lr * g for w, g in zip(weights, grads, strict=True)]
            return loss

        return self._prepared(f"mlp_train.{mode}", step)

    def mlp_forward(self, m: ref.Mlp, x: np.ndarray) -> Prepared:
        return self._prepared("mlp_forward", lambda: ref.mlp_forward(m, x))

    def conv_train(self, b: ref.ConvBlock, x: np.ndarray, y: np.ndarray, lr: float) -> Prepared:
        block = [b]

        def step() -> float:
            loss = ref.mse(ref.conv_forward(block[0], x), y)
            block[0] = ref.conv_sgd_step(block[0], x, y, lr)
            return loss

        return self._prepared("conv_train", step)

    def lstm_forward(self, m: ref.Lstm, x: np.ndarray) -> Prepared:
        return self._prepared("lstm_forward", lambda: ref.lstm_last_hidden(m, x))

    def add_chain(self, x: np.ndarray, ops: int) -> Prepared:
        def chain() -> np.ndarray:
            y = x
            for _ in range(ops):
                y = y + np.float32(1.0)
            return y

        return self._prepared("add_chain", chain)

    def gpu_peak_bytes(self, reset: bool) -> int | None:
        return None

    def transformer(
        self, block: tr.Block, x: np.ndarray, target: np.ndarray | None, mode: str
    ) -> Prepared:
        shape = block.shape
        if self.block_change == "unscaled":  # scores not divided by sqrt(head size)
            shape = tr.BlockShape(shape.batch, shape.seq, shape.d_model, shape.heads, shape.d_ff)
            scaled = {**block.weights, "w_qkv": block.weights["w_qkv"].copy()}
            d = shape.d_model
            scaled["w_qkv"][:, :d] *= np.sqrt(shape.head_size)  # q larger: the same as no scale
            block = tr.Block(shape, scaled)
        if target is None:
            return self._prepared(f"transformer.{mode}.forward", lambda: tr.forward(block, x))
        held = [block]
        moments: list[dict[str, Any]] = [{}]
        decay = 0.0 if self.block_change == "update" else tr.WEIGHT_DECAY
        beta1, beta2 = tr.BETAS

        def step() -> float:
            current = held[0]
            loss = tr.loss(current, x, target)
            grads = tr.gradients(current, x, target)
            count = moments[0].get("count", 0) + 1
            new = {}
            for name, g in grads.items():
                m = beta1 * moments[0].get(f"m.{name}", 0.0) + (1 - beta1) * g
                v = beta2 * moments[0].get(f"v.{name}", 0.0) + (1 - beta2) * g * g
                moments[0][f"m.{name}"], moments[0][f"v.{name}"] = m, v
                w = current.weights[name] * (1 - tr.LEARNING_RATE * decay)
                new[name] = w - tr.LEARNING_RATE * (m / (1 - beta1**count)) / (
                    np.sqrt(v / (1 - beta2**count)) + tr.ADAM_EPS
                )
            moments[0]["count"] = count
            held[0] = tr.Block(current.shape, new)
            return loss

        job = self._prepared(f"transformer.{mode}.train", step)
        job.state = lambda: dict(held[0].weights)
        return job

    def capabilities(self) -> dict[str, Capability]:
        return {
            "gpu": Capability(False, "numpy runs on the CPU only"),
            "mixed_precision": Capability(True, "float16 arrays work"),
            "onnx_export": Capability(False, "no ONNX exporter in numpy", unknown=True),
        }


class NumpyFrontend(NumpyBackend):
    """A front-end over the numpy backend (as Keras is over its backend): its `keras` step is
    the numpy step plus a `delay` of seconds, its `native` step the numpy step alone."""

    frontend = True

    def __init__(self, error: float = 0.0, delay: float = 0.002) -> None:
        super().__init__(error)
        self.delay = delay

    def _pair(self, make: Callable[[], Prepared]) -> tuple[Prepared, Prepared]:
        keras, native = make(), make()
        step = keras.run

        def run() -> Any:
            out = step()
            time.sleep(self.delay)
            return out

        return Prepared(run, keras.fetch, {"execution": "numpy + delay"}, keras.state), native

    def mlp_pair(self, m: ref.Mlp, x: np.ndarray, y: np.ndarray, lr: float) -> Any:
        return self._pair(lambda: self.mlp_train(m, x, y, lr, "eager"))

    def conv_pair(self, b: ref.ConvBlock, x: np.ndarray, y: np.ndarray, lr: float) -> Any:
        return self._pair(lambda: self.conv_train(b, x, y, lr))

    def transformer_pair(self, block: tr.Block, x: np.ndarray, target: np.ndarray) -> Any:
        return self._pair(lambda: self.transformer(block, x, target, "compiled"))


def make_backend(device: str, threads: int, error: float = 0.0) -> NumpyBackend:
    return NumpyBackend(error)
