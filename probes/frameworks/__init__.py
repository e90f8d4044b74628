"""One module per framework, each implementing `probes.frameworks.base.Backend`.

The worker imports only the module of the framework it was started for, so a missing or broken
framework never affects the others.
"""

from __future__ import annotations

import importlib

from probes.frameworks.base import Backend

MODULES = {"pytorch": "pytorch", "tensorflow": "tensorflow", "mxnet": "mxnet", "jax": "jax"}


def load_backend(framework: str, device: str, threads: int) -> Backend:
    """Import the framework (this is what `import_time` measures) and set it up."""
    if framework not in MODULES:
        raise ValueError(f"unknown framework {framework!r}: one of {', '.join(MODULES)}")
    module = importlib.import_module(f"probes.frameworks.{MODULES[framework]}")
    backend: Backend = module.make_backend(device, threads)
    return backend
