"""The two small models every deployment path carries, with seeded weights and numpy outputs.

Each framework builds the same architecture from these arrays, so an artifact exported from
PyTorch and one from JAX hold identical weights and must give the same answer. Sizes follow the
measurements in `../shared/facts/deployment-probes.md`: batch 1, fp32, static shapes.

- conv: 3x64x64 image -> conv3x3 3->16 + ReLU -> max-pool 2 -> conv3x3 16->32 + ReLU -> global
  average pool -> dense 32->10 (5,418 parameters; "same" zero padding);
- mlp: 128 inputs -> dense 256 + ReLU -> dense 10 (35,594 parameters).

Arrays follow PyTorch's layouts (NCHW images, conv kernels (out, in, kh, kw), dense weights
(out, in)); `nhwc` gives the channels-last views TensorFlow, Keras and JAX use. Only numpy here:
the MXNet environment runs this too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from probes.reference import conv2d_same, normal, rng

Array = np.ndarray[Any, Any]
MODELS = ("conv", "mlp")
IMAGE = (1, 3, 64, 64)
"""the conv net's input, NCHW"""
MLP_INPUTS = 128


@dataclass(frozen=True)
class ConvNet:
    k1: Array
    """(16, 3, 3, 3)"""
    c1: Array
    k2: Array
    """(32, 16, 3, 3)"""
    c2: Array
    dense: Array
    """(10, 32)"""
    bias: Array

    def parameters(self) -> int:
        return sum(int(a.size) for a in (self.k1, self.c1, self.k2, self.c2, self.dense, self.bias))


@dataclass(frozen=True)
class DenseNet:
    w1: Array
    """(256, 128)"""
    b1: Array
    w2: Array
    """(10, 256)"""
    b2: Array

    def parameters(self) -> int:
        return sum(int(a.size) for a in (self.w1, self.b1, self.w2, self.b2))


def conv_net(seed: int) -> tuple[ConvNet, Array]:
    """The conv net's weights and one NCHW input image."""
    g = rng(seed, "deploy-conv")
    net = ConvNet(
        k1=normal(g, (16, 3, 3, 3), (2.0 / 27) ** 0.5),
        c1=normal(g, (16,), 0.05),
        k2=normal(g, (32, 16, 3, 3), (2.0 / 144) ** 0.5),
        c2=normal(g, (32,), 0.05),
        dense=normal(g, (10, 32), (1.0 / 32) ** 0.5),
        bias=normal(g, (10,), 0.1),
    )
    return net, normal(g, IMAGE, 1.0)


def dense_net(seed: int) -> tuple[DenseNet, Array]:
    """The MLP's weights and one input row."""
    g = rng(seed, "deploy-mlp")
    net = DenseNet(
        w1=normal(g, (256, MLP_INPUTS), (2.0 / MLP_INPUTS) ** 0.5),
        b1=normal(g, (256,), 0.1),
        w2=normal(g, (10, 256), (1.0 / 256) ** 0.5),
        b2=normal(g, (10,), 0.1),
    )
    return net, normal(g, (1, MLP_INPUTS), 1.0)


def max_pool2(x: Array) -> Array:
    """2x2 max-pool, stride 2, NCHW (even sizes)."""
    n, c, h, w = x.shape
    return np.asarray(x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5)))


def conv_output(net: ConvNet, x: Array) -> Array:
    """What every framework's conv net must compute for the NCHW input `x` (float64)."""
    hidden = max_pool2(np.maximum(conv2d_same(x, net.k1, net.c1), 0.0))
    features = np.maximum(conv2d_same(hidden, net.k2, net.c2), 0.0).mean(axis=(2, 3))
    return np.asarray(features @ net.dense.T.astype(np.float64) + net.bias)


def dense_output(net: DenseNet, x: Array) -> Array:
    hidden = np.maximum(x.astype(np.float64) @ net.w1.T + net.b1, 0.0)
    return np.asarray(hidden @ net.w2.T + net.b2)


def nhwc(x: Array) -> Array:
    """An NCHW image as channels-last."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def hwio(kernel: Array) -> Array:
    """A conv kernel (out, in, kh, kw) as (kh, kw, in, out)."""
    return np.ascontiguousarray(kernel.transpose(2, 3, 1, 0))
