"""The knowledge in force: what the core uses where a caller passes none.

The package points this hook at the shipped knowledge files (`advisor/__init__.py`), so the core
itself never reads a file; a program with knowledge of its own passes it, or installs its own
provider. Kept free of imports so that wiring it costs nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from advisor.core.knowledge import Knowledge

_provider: list[Callable[[], Knowledge]] = []


def set_default_knowledge(provider: Callable[[], Knowledge]) -> None:
    """Install where the default knowledge (and so the framework registry in force) comes from."""
    _provider[:] = [provider]


def knowledge_in_force(knowledge: Knowledge | None = None) -> Knowledge:
    """The knowledge given, else the installed default."""
    if knowledge is not None:
        return knowledge
    if not _provider:
        raise RuntimeError("no knowledge base in force: import advisor, or pass one")
    return _provider[0]()
