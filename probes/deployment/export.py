"""What an exporter hands to the runtime step, and the checks every exporter shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from probes.deployment import models


@dataclass
class Exported:
    """An artifact on disk and what the runtime step needs to judge it."""

    artifact: Path
    runtime: str
    """the key of `probes.deployment.runtime.RUNTIMES` that loads it"""
    x: np.ndarray
    """the input, in the layout the artifact takes"""
    eager: np.ndarray
    """the framework's own output for `x`, before export"""
    details: dict[str, Any] = field(default_factory=dict)
    """what the figure depends on: exporter, opset, delegate..."""


Exporter = Callable[[str, int, Path], Exported]
"""(model name, seed, folder to write into) -> Exported"""


class ReferenceMismatch(RuntimeError):
    """The framework's own model does not compute the reference: a fault of the probe's model
    building, not of the deployment path."""


def reference_output(model: str, seed: int) -> np.ndarray:
    """The float64 numpy output every framework's eager model must reproduce."""
    if model == "conv":
        net, x = models.conv_net(seed)
        return models.conv_output(net, x)
    if model == "mlp":
        dense, row = models.dense_net(seed)
        return models.dense_output(dense, row)
    raise ValueError(f"unknown model {model!r}: one of {', '.join(models.MODELS)}")


EAGER_TOLERANCE = 1e-4


def check_eager(model: str, seed: int, eager: np.ndarray) -> None:
    """Refuse a framework model that strays from the numpy reference (ReferenceMismatch)."""
    expected = reference_output(model, seed)
    actual = np.asarray(eager, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ReferenceMismatch(f"eager output shape {actual.shape}, reference {expected.shape}")
    diff = float(np.max(np.abs(actual - expected)))
    if not diff <= EAGER_TOLERANCE:
        raise ReferenceMismatch(
            f"the framework's eager {model} differs from the numpy reference by {diff:.3g}"
        )


def artifact_bytes(path: Path) -> int:
    """Size of a file, or of every file under a folder (a SavedModel is a folder)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
