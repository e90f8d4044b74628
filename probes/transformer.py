"""The transformer encoder block every framework computes, its float64 numpy reference and FLOPs.

A pre-LN block, the shape teams train most: `x1 = x + Attn(LN1(x)) Wo + bo`,
`y = x1 + GELU_tanh(LN2(x1) W1 + b1) W2 + b2`, with a fused QKV projection, softmax attention
scaled by 1/sqrt(head size) and layer-norm epsilon 1e-5; the loss is `mean((y - t)^2)` and the
training step is one AdamW update (PyTorch's form: decoupled decay, bias-corrected moments).
Weights are `x @ W` matrices (inputs, outputs), drawn once here and copied into every framework,
so a framework that computes anything else fails the probe instead of being timed.

Adam's epsilon: Keras and MXNet add it before the bias correction, PyTorch and optax after; at
1e-8 the two forms differ by up to ~0.7 lr on small gradients, at 1e-12 they agree, so the probe
uses 1e-12 everywhere (the same function in every framework, whatever its optimiser's form).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from probes.reference import Array, normal, rng

LN_EPS = 1e-5
LEARNING_RATE = 1e-3
BETAS = (0.9, 0.999)
ADAM_EPS = 1e-12
WEIGHT_DECAY = 0.01
GELU_C = math.sqrt(2.0 / math.pi)

PARAMS = (
    "ln1_g",
    "ln1_b",
    "w_qkv",
    "b_qkv",
    "w_o",
    "b_o",
    "ln2_g",
    "ln2_b",
    "w1",
    "b1",
    "w2",
    "b2",
)
"""The block's parameters, in the order every framework keeps them."""

FORWARD_TOLERANCE = 1e-5
"""max |y - reference| / max |reference| for the block's output and the losses: float32 reaches
3-7e-7 in every framework and mode here, and the exact (erf) GELU in place of the tanh form
already differs by 5e-5, so a block with another formula fails"""
LOSS_TOLERANCE = 3e-6
"""relative error allowed on the training step's losses (before and after the update): float32
gives 1-4e-7 here; the erf GELU moves the loss by 9e-6"""
UPDATE_TOLERANCE = 1e-3
"""an updated weight matches when it differs from the reference's by at most this share of the
learning rate (1e-6: Adam's first step is about lr * sign(gradient), float32 rounds a weight of
1 to 6e-8, and a skipped weight decay, lr * 0.01 * w, shows on every weight above 0.1)"""
UPDATE_MISMATCH_SHARE = 1e-3
"""the share of weights allowed to miss UPDATE_TOLERANCE: a wrong block moves far more than one
weight in a thousand"""
SIGN_FLOOR = 1e-5
"""a weight whose reference gradient is below this share of its tensor's largest is not checked:
float32 rounding decides its sign (the key bias's gradient is exactly zero, since softmax ignores
a constant added to every score of a row, and float32 leaves it at +-1e-10)"""


@dataclass(frozen=True)
class BlockShape:
    batch: int
    seq: int
    d_model: int
    heads: int
    d_ff: int

    @property
    def head_size(self) -> int:
        return self.d_model // self.heads

    def params(self) -> dict[str, int | str]:
        return {
            "batch": self.batch,
            "seq": self.seq,
            "d_model": self.d_model,
            "heads": self.heads,
            "d_ff": self.d_ff,
            "dtype": "float32",
        }


def forward_flops(s: BlockShape) -> float:
    """Matmul FLOPs of one forward pass (2 per multiply-add): the QKV, output and two MLP
    projections, 2BS(4d^2 + 2df), plus attention's scores and weighted sum, 4BS^2 d. Norms,
    softmax and GELU are left out, as MLPerf and the usual 6N-per-token counts do."""
    b, n, d, f = s.batch, s.seq, s.d_model, s.d_ff
    return 2.0 * b * n * (4 * d * d + 2 * d * f) + 4.0 * b * n * n * d


def train_flops(s: BlockShape) -> float:
    """Forward plus backward: the backward pass costs two forwards (one matmul for the input's
    gradient, one for the weight's)."""
    return 3.0 * forward_flops(s)


@dataclass(frozen=True)
class Block:
    shape: BlockShape
    weights: dict[str, Array]
    """float32, named as PARAMS"""


def problem(seed: int, s: BlockShape) -> tuple[Block, Array, Array]:
    """Seeded weights (scaled like a fresh initialisation, with non-trivial norm gains), an input
    and a target, all float32."""
    if s.d_model % s.heads:
        raise ValueError(f"d_model {s.d_model} is not a multiple of heads {s.heads}")
    g = rng(seed, f"transformer{s}")
    d, f = s.d_model, s.d_ff
    weights = {
        "ln1_g": (1.0 + normal(g, (d,), 0.1)).astype(np.float32),
        "ln1_b": normal(g, (d,), 0.1),
        "w_qkv": normal(g, (d, 3 * d), 1.0 / math.sqrt(d)),
        "b_qkv": normal(g, (3 * d,), 0.02),
        "w_o": normal(g, (d, d), 1.0 / math.sqrt(d)),
        "b_o": normal(g, (d,), 0.02),
        "ln2_g": (1.0 + normal(g, (d,), 0.1)).astype(np.float32),
        "ln2_b": normal(g, (d,), 0.1),
        "w1": normal(g, (d, f), 1.0 / math.sqrt(d)),
        "b1": normal(g, (f,), 0.02),
        "w2": normal(g, (f, d), 1.0 / math.sqrt(f)),
        "b2": normal(g, (d,), 0.02),
    }
    x = normal(g, (s.batch, s.seq, d), 1.0)
    target = normal(g, (s.batch, s.seq, d), 1.0)
    return Block(s, weights), x, target


# -- float64 reference ----------------------------------------------------------------------------
def _layer_norm(x: Array, gain: Array, bias: Array) -> tuple[Array, Array, Array]:
    mean = x.mean(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + LN_EPS)
    normed = (x - mean) * inv
    return normed * gain + bias, normed, inv


def _layer_norm_back(d_out: Array, normed: Array, inv: Array, gain: Array) -> Array:
    d_normed = d_out * gain
    centred = d_normed - d_normed.mean(axis=-1, keepdims=True)
    result: Array = inv * (centred - normed * (d_normed * normed).mean(axis=-1, keepdims=True))
    return result


def _gelu(u: Array) -> tuple[Array, Array]:
    """tanh-approximated GELU and its derivative"""
    t = np.tanh(GELU_C * (u + 0.044715 * u * u * u))  # u * u * u: float64 u**3 is 10x slower
    slope = 0.5 * (1.0 + t) + 0.5 * u * (1.0 - t * t) * GELU_C * (1.0 + 3 * 0.044715 * u * u)
    return 0.5 * u * (1.0 + t), slope


def _heads(x: Array, heads: int) -> Array:
    b, n, d = x.shape
    return x.reshape(b, n, heads, d // heads).transpose(0, 2, 1, 3)


def _merge(x: Array) -> Array:
    b, h, n, k = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, n, h * k)


def _run(block: Block, x: Array, target: Array | None) -> tuple[Array, dict[str, Array] | None]:
    """The output, and where a target is given the loss's gradient for every parameter."""
    w = {k: v.astype(np.float64) for k, v in block.weights.items()}
    s = block.shape
    x = x.astype(np.float64)
    d = s.d_model
    h1, n1, _ = _layer_norm(x, w["ln1_g"], w["ln1_b"])
    qkv = h1 @ w["w_qkv"] + w["b_qkv"]
    q, k, v = (_heads(qkv[..., i * d : (i + 1) * d], s.heads) for i in range(3))
    scale = 1.0 / math.sqrt(s.head_size)
    scores = q @ k.transpose(0, 1, 3, 2) * scale
    scores -= scores.max(axis=-1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=-1, keepdims=True)
    attended = _merge(p @ v)
    x1 = x + attended @ w["w_o"] + w["b_o"]
    h2, n2, inv2 = _layer_norm(x1, w["ln2_g"], w["ln2_b"])
    u = h2 @ w["w1"] + w["b1"]
    g, slope = _gelu(u)
    y = x1 + g @ w["w2"] + w["b2"]
    if target is None:
        return y, None

    def flat(a: Array) -> Array:
        return a.reshape(-1, a.shape[-1])

    grads: dict[str, Array] = {}
    dy = 2.0 * (y - target.astype(np.float64)) / y.size
    grads["w2"], grads["b2"] = flat(g).T @ flat(dy), dy.sum(axis=(0, 1))
    du = (dy @ w["w2"].T) * slope
    grads["w1"], grads["b1"] = flat(h2).T @ flat(du), du.sum(axis=(0, 1))
    dh2 = du @ w["w1"].T
    grads["ln2_g"], grads["ln2_b"] = (dh2 * n2).sum(axis=(0, 1)), dh2.sum(axis=(0, 1))
    dx1 = dy + _layer_norm_back(dh2, n2, inv2, w["ln2_g"])
    grads["w_o"], grads["b_o"] = flat(attended).T @ flat(dx1), dx1.sum(axis=(0, 1))
    d_att = _heads(dx1 @ w["w_o"].T, s.heads)
    dp = d_att @ v.transpose(0, 1, 3, 2)
    dv = p.transpose(0, 1, 3, 2) @ d_att
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True)) * scale
    dq, dk = ds @ k, ds.transpose(0, 1, 3, 2) @ q
    d_qkv = np.concatenate([_merge(dq), _merge(dk), _merge(dv)], axis=-1)
    grads["w_qkv"], grads["b_qkv"] = flat(h1).T @ flat(d_qkv), d_qkv.sum(axis=(0, 1))
    dh1 = d_qkv @ w["w_qkv"].T
    grads["ln1_g"], grads["ln1_b"] = (dh1 * n1).sum(axis=(0, 1)), dh1.sum(axis=(0, 1))
    return y, grads


def forward(block: Block, x: Array) -> Array:
    """The block's output in float64."""
    return _run(block, x, None)[0]


def _mse(y: Array, target: Array) -> float:
    return float(np.mean((y - target.astype(np.float64)) ** 2))


def loss(block: Block, x: Array, target: Array) -> float:
    return _mse(forward(block, x), target)


def gradients(block: Block, x: Array, target: Array) -> dict[str, Array]:
    return loss_and_gradients(block, x, target)[1]


def loss_and_gradients(block: Block, x: Array, target: Array) -> tuple[float, dict[str, Array]]:
    """The loss and its gradients from one forward and backward pass."""
    y, grads = _run(block, x, target)
    assert grads is not None
    return _mse(y, target), grads


def adamw_step(block: Block, grads: dict[str, Array]) -> Block:
    """The weights after one AdamW step from zero moments (step 1) with these gradients, in
    float64."""
    b1, b2 = BETAS
    new: dict[str, Array] = {}
    for name, g in grads.items():
        w = block.weights[name].astype(np.float64)
        m_hat = (1 - b1) * g / (1 - b1)
        v_hat = (1 - b2) * g * g / (1 - b2)
        new[name] = w * (1 - LEARNING_RATE * WEIGHT_DECAY) - LEARNING_RATE * m_hat / (
            np.sqrt(v_hat) + ADAM_EPS
        )
    return replace(block, weights=new)


def update_mismatch(expected: Block, grads: dict[str, Array], actual: dict[str, Any]) -> float:
    """The share of the checked weights (SIGN_FLOOR) whose updated value misses the reference's
    by more than UPDATE_TOLERANCE x the learning rate."""
    missed = total = 0
    for name in PARAMS:
        got = np.asarray(actual[name], dtype=np.float64)
        want = expected.weights[name]
        if got.shape != want.shape:
            raise ValueError(f"{name}: shape {got.shape}, the reference's is {want.shape}")
        magnitude = np.abs(grads[name])
        checked = magnitude >= SIGN_FLOOR * float(magnitude.max())
        off = ~(np.abs(got - want) <= UPDATE_TOLERANCE * LEARNING_RATE)
        missed += int(np.count_nonzero(off & checked))
        total += int(np.count_nonzero(checked))
    return missed / max(total, 1)
