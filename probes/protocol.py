"""The worker's side of the JSON-lines protocol that `probes.runner` reads.

Frameworks print to stdout whenever they like (TensorFlow's banners, MXNet's warnings, compiler
chatter from torch.compile). So the worker keeps a private copy of the original stdout for protocol
lines and points file descriptor 1 at stderr: nothing a framework prints can corrupt a message.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import IO, Any

PROTOCOL_VERSION = 1


def _plain(value: Any) -> Any:
    """JSON-safe: numpy scalars become Python numbers, non-finite floats become null."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Channel:
    """Where protocol messages go: a duplicate of the stdout the runner is reading."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self._out: IO[str] = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def send(self, kind: str, **fields: Any) -> None:
        line = json.dumps({"protocol": PROTOCOL_VERSION, "type": kind, **_plain(fields)})
        self._out.write(line + "\n")
        self._out.flush()
