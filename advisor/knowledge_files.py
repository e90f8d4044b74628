"""Read the knowledge directory (TOML files) into a validated `Knowledge`.

The one place that touches the knowledge files: it maps each file to its kind, reports TOML syntax
errors with file and line, and hands the parsed tables to the pure `build_knowledge`.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import tomllib

from advisor.knowledge import Knowledge, KnowledgeError, build_knowledge

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "knowledge"

# kind -> files relative to the knowledge directory (a trailing "/" means every *.toml inside)
LAYOUT: dict[str, str] = {
    "seeds": "seeds.toml",
    "references": "references/",
    "claims": "claims/",
    "frameworks": "frameworks.toml",
    "rules": "rules/",
    "next_steps": "next_steps/",
    "scoring": "scoring.toml",
}


def knowledge_dir() -> Path:
    """The knowledge directory: $ADVISOR_KNOWLEDGE if set, else the one shipped beside the code."""
    override = os.environ.get("ADVISOR_KNOWLEDGE")
    return Path(override) if override else DEFAULT_DIR


def _read_toml(path: Path, root: Path) -> dict[str, Any]:
    name = path.relative_to(root.parent).as_posix() if root.parent in path.parents else str(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise KnowledgeError(f"{name}: invalid TOML: {error}") from None
    except OSError as error:
        raise KnowledgeError(f"{name}: cannot read: {error.strerror}") from None


def read_tables(root: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Parse every knowledge file under root, keyed by kind and then by display name."""
    if not root.is_dir():
        raise KnowledgeError(f"{root}: knowledge directory not found")
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, spec in LAYOUT.items():
        if spec.endswith("/"):
            paths = sorted((root / spec).glob("*.toml"))
        else:
            paths = [root / spec] if (root / spec).exists() else []
        tables[kind] = {
            f"{root.name}/{p.relative_to(root).as_posix()}": _read_toml(p, root) for p in paths
        }
    return tables


def load_knowledge(root: Path | None = None) -> Knowledge:
    """Load and validate a knowledge directory (uncached; see `default_knowledge`)."""
    return build_knowledge(read_tables(root or knowledge_dir()))


@functools.cache
def default_knowledge() -> Knowledge:
    """The shipped knowledge base, loaded once per process."""
    return load_knowledge()
