"""Seeded inputs and numpy references: what every framework must compute before it is timed.

Weights are generated here and handed to each framework, so all three start from identical
parameters; a framework whose output strays from the reference beyond tolerance is reported as
failed instead of being timed on different work. Layouts follow PyTorch (NCHW images, weights
as (out, in)); the framework modules transpose where theirs differ.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

FP32_TOLERANCE = 2e-3
FP16_TOLERANCE = 3e-2

Array = np.ndarray[Any, Any]


def rng(seed: int, salt: str) -> np.random.Generator:
    """A generator per (seed, probe) so adding a probe does not shift another's data."""
    digest = hashlib.sha256(f"{seed}:{salt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def normal(generator: np.random.Generator, shape: tuple[int, ...], scale: float) -> Array:
    return (generator.standard_normal(shape) * scale).astype(np.float32)


def max_rel_error(actual: Array, expected: Array) -> float:
    """Largest error relative to the expected values' magnitude (robust to zeros)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"shape {actual.shape} differs from the reference's {expected.shape}")
    scale = max(float(np.max(np.abs(expected))), 1e-12)
    return float(np.max(np.abs(actual - expected)) / scale)


def checksum(values: Array) -> float:
    return float(np.asarray(values, dtype=np.float64).sum())


# -- matmul -------------------------------------------------------------------------------------
def matmul_inputs(seed: int, n: int) -> tuple[Array, Array]:
    g = rng(seed, f"matmul{n}")
    return normal(g, (n, n), 1.0), normal(g, (n, n), 1.0)


# -- MLP: x -> relu(x W1^T + b1) W2^T + b2, mean squared error -----------------------------------
@dataclass(frozen=True)
class Mlp:
    w1: Array
    b1: Array
    w2: Array
    b2: Array


def mlp_problem(
    seed: int, batch: int, d_in: int, hidden: int, d_out: int
) -> tuple[Mlp, Array, Array]:
    g = rng(seed, "mlp")
    weights = Mlp(
        w1=normal(g, (hidden, d_in), (2.0 / d_in) ** 0.5),
        b1=normal(g, (hidden,), 0.1),
        w2=normal(g, (d_out, hidden), (1.0 / hidden) ** 0.5),
        b2=normal(g, (d_out,), 0.1),
    )
    return weights, normal(g, (batch, d_in), 1.0), normal(g, (batch, d_out), 1.0)


def mlp_forward(m: Mlp, x: Array) -> Array:
    return np.asarray(np.maximum(x @ m.w1.T + m.b1, 0.0) @ m.w2.T + m.b2)


def mse(output: Array, target: Array) -> float:
    return float(np.mean((output.astype(np.float64) - target) ** 2))


def mlp_losses_over_two_steps(m: Mlp, x: Array, y: Array, lr: float) -> tuple[float, float]:
    """The loss before and after one plain SGD step (hand-written backward pass)."""
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    w1, b1, w2, b2 = (a.astype(np.float64) for a in (m.w1, m.b1, m.w2, m.b2))
    pre = x64 @ w1.T + b1
    hidden = np.maximum(pre, 0.0)
    out = hidden @ w2.T + b2
    before = float(np.mean((out - y64) ** 2))
    d_out = 2.0 * (out - y64) / out.size
    d_w2, d_b2 = d_out.T @ hidden, d_out.sum(0)
    d_pre = (d_out @ w2) * (pre > 0)
    d_w1, d_b1 = d_pre.T @ x64, d_pre.sum(0)
    w1, b1, w2, b2 = w1 - lr * d_w1, b1 - lr * d_b1, w2 - lr * d_w2, b2 - lr * d_b2
    out = np.maximum(x64 @ w1.T + b1, 0.0) @ w2.T + b2
    return before, float(np.mean((out - y64) ** 2))


# -- conv block: relu(conv(relu(conv(x))) + x) -> global average pool -> dense -> MSE ---------------
@dataclass(frozen=True)
class ConvBlock:
    k1: Array
    """(C, C, 3, 3)"""
    c1: Array
    k2: Array
    c2: Array
    dense: Array
    """(outputs, C)"""
    bias: Array


CONV_OUTPUTS = 10


def conv_problem(seed: int, batch: int, channels: int, size: int) -> tuple[ConvBlock, Array, Array]:
    g = rng(seed, "conv")
    scale = (2.0 / (9 * channels)) ** 0.5
    block = ConvBlock(
        k1=normal(g, (channels, channels, 3, 3), scale),
        c1=normal(g, (channels,), 0.05),
        k2=normal(g, (channels, channels, 3, 3), scale),
        c2=normal(g, (channels,), 0.05),
        dense=normal(g, (CONV_OUTPUTS, channels), (1.0 / channels) ** 0.5),
        bias=normal(g, (CONV_OUTPUTS,), 0.1),
    )
    return (
        block,
        normal(g, (batch, channels, size, size), 1.0),
        normal(g, (batch, CONV_OUTPUTS), 1.0),
    )


def _patches(x: Array) -> Array:
    """(n, c, 9, h, w): the 3x3 neighbourhood of every pixel, zero-padded at the edges."""
    _n, _c, h, w = x.shape
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    return np.stack(
        [padded[:, :, i : i + h, j : j + w] for i in range(3) for j in range(3)], axis=2
    )


def conv2d_same(x: Array, kernel: Array, bias: Array) -> Array:
    """3x3, stride 1, zero padding 1 (cross-correlation, as every framework computes it)."""
    flat_kernel = kernel.astype(np.float64).reshape(kernel.shape[0], kernel.shape[1], 9)
    return np.asarray(
        np.einsum("nckhw,ock->nohw", _patches(x), flat_kernel) + bias[None, :, None, None]
    )


def _conv_backward(x: Array, kernel: Array, d_out: Array) -> tuple[Array, Array, Array]:
    """Gradients of `conv2d_same` for input, kernel and bias, given the output's gradient."""
    d_kernel = np.einsum("nckhw,nohw->ock", _patches(x), d_out).reshape(kernel.shape)
    # the input's gradient correlates d_out with the kernel turned 180 degrees, in and out swapped
    turned = kernel.astype(np.float64)[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    d_x = conv2d_same(d_out, turned, np.zeros(turned.shape[0]))
    return d_x, d_kernel, d_out.sum(axis=(0, 2, 3))


def conv_forward(b: ConvBlock, x: Array) -> Array:
    hidden = np.maximum(conv2d_same(x, b.k1, b.c1), 0.0)
    out = np.maximum(conv2d_same(hidden, b.k2, b.c2) + x, 0.0)
    return np.asarray(out.mean(axis=(2, 3)) @ b.dense.T.astype(np.float64) + b.bias)


def conv_sgd_step(b: ConvBlock, x: Array, y: Array, lr: float) -> ConvBlock:
    """The block after one plain SGD step on mean squared error (hand-written backward pass)."""
    x64 = x.astype(np.float64)
    pre1 = conv2d_same(x64, b.k1, b.c1)
    hidden = np.maximum(pre1, 0.0)
    pre2 = conv2d_same(hidden, b.k2, b.c2) + x64
    pooled = np.maximum(pre2, 0.0).mean(axis=(2, 3))
    logits = pooled @ b.dense.T.astype(np.float64) + b.bias
    d_logits = 2.0 * (logits - y) / logits.size
    d_pooled = d_logits @ b.dense.astype(np.float64)
    size = x.shape[2] * x.shape[3]
    d_pre2 = np.broadcast_to(d_pooled[:, :, None, None] / size, pre2.shape) * (pre2 > 0)
    d_hidden, d_k2, d_c2 = _conv_backward(hidden, b.k2, d_pre2)
    _, d_k1, d_c1 = _conv_backward(x64, b.k1, d_hidden * (pre1 > 0))
    grads = (d_k1, d_c1, d_k2, d_c2, d_logits.T @ pooled, d_logits.sum(axis=0))
    values = (b.k1, b.c1, b.k2, b.c2, b.dense, b.bias)
    return ConvBlock(*(np.asarray(v - lr * g) for v, g in zip(values, grads, strict=True)))


# -- LSTM (gates i, f, g, o; one bias), final hidden state ------------------------------------------
@dataclass(frozen=True)
class Lstm:
    w_ih: Array
    """(4H, I)"""
    w_hh: Array
    """(4H, H)"""
    bias: Array
    """(4H,)"""


def lstm_problem(seed: int, batch: int, steps: int, inputs: int, hidden: int) -> tuple[Lstm, Array]:
    g = rng(seed, "lstm")
    scale = 1.0 / hidden**0.5
    weights = Lstm(
        w_ih=normal(g, (4 * hidden, inputs), scale),
        w_hh=normal(g, (4 * hidden, hidden), scale),
        bias=normal(g, (4 * hidden,), 0.1),
    )
    return weights, normal(g, (batch, steps, inputs), 1.0)


def lstm_last_hidden(m: Lstm, x: Array) -> Array:
    def sigmoid(v: Array) -> Array:
        return 1.0 / (1.0 + np.exp(-v))

    batch, steps, _ = x.shape
    hidden = m.w_hh.shape[1]
    h = np.zeros((batch, hidden))
    c = np.zeros((batch, hidden))
    w_ih, w_hh = m.w_ih.astype(np.float64), m.w_hh.astype(np.float64)
    for t in range(steps):
        gates = x[:, t].astype(np.float64) @ w_ih.T + h @ w_hh.T + m.bias
        i, f, g, o = np.split(gates, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
    return h
