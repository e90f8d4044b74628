"""One module per framework, each implementing `probes.frameworks.base.Backend`.

A framework's backend is the module named after its registry id (`probes/frameworks/<id>.py`, as
its knowledge file's `probe.backend` says), so adding a framework adds a module and edits no list
here. The worker imports only the module of the framework it was started for, so a missing or
broken framework never affects the others.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # listing the backends must not import numpy (the probe CLI reads it)
    from probes.frameworks.base import Backend

_NOT_BACKENDS = {"__init__", "base"}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def available_backends() -> tuple[str, ...]:
    """The framework ids that have a backend module here."""
    folder = Path(__file__).resolve().parent
    return tuple(
        sorted(
            p.stem for p in folder.glob("*.py") if p.stem not in _NOT_BACKENDS and _ID.match(p.stem)
        )
    )


def load_backend(framework: str, device: str, threads: int) -> Backend:
    """Import the framework (this is what `import_time` measures) and set it up."""
    known = available_backends()
    if framework not in known:
        raise ValueError(f"unknown framework {framework!r}: one of {', '.join(known)}")
    module = importlib.import_module(f"probes.frameworks.{framework}")
    backend: Backend = module.make_backend(device, threads)
    return backend
