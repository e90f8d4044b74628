"""Read the knowledge directory (TOML files) into a validated `Knowledge`.

The one place that touches the knowledge files: it maps each file to its kind, reports TOML syntax
errors with file and line, and hands the parsed tables to the pure `build_knowledge`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import tomllib

from advisor.knowledge import Knowledge, KnowledgeError, build_knowledge
from advisor.paths import cache_dir

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


def _knowledge_paths(root: Path) -> dict[str, list[Path]]:
    paths: dict[str, list[Path]] = {}
    for kind, spec in LAYOUT.items():
        if spec.endswith("/"):
            paths[kind] = sorted((root / spec).glob("*.toml"))
        else:
            paths[kind] = [root / spec] if (root / spec).exists() else []
    return paths


def _parse_all(root: Path, paths: dict[str, list[Path]]) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        kind: {f"{root.name}/{p.relative_to(root).as_posix()}": _read_toml(p, root) for p in found}
        for kind, found in paths.items()
    }


def _cache_file(root: Path, paths: dict[str, list[Path]]) -> Path | None:
    """Where the parsed tables of exactly these files (paths, sizes, mtimes) are cached."""
    if os.environ.get("ADVISOR_NO_CACHE"):
        return None
    try:
        stamps = [
            (str(p.resolve()), p.stat().st_mtime_ns, p.stat().st_size)
            for found in paths.values()
            for p in found
        ]
    except OSError:
        return None
    key = hashlib.sha256(json.dumps([str(root.resolve()), stamps]).encode()).hexdigest()[:20]
    return cache_dir() / f"knowledge-{key}.json"


def read_tables(root: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Parse every knowledge file under root, keyed by kind and then by display name.

    TOML parsing is most of a cold CLI start, so the parsed tables are kept as JSON in the user's
    cache, keyed by every file's path, size and modification time: any edit re-parses. A cache that
    cannot be read or written is simply skipped ($ADVISOR_NO_CACHE=1 turns it off).
    """
    if not root.is_dir():
        raise KnowledgeError(f"{root}: knowledge directory not found")
    paths = _knowledge_paths(root)
    cached = _cache_file(root, paths)
    if cached is not None:
        try:
            tables: dict[str, dict[str, dict[str, Any]]] = json.loads(
                cached.read_text(encoding="utf-8")
            )
            return tables
        except (OSError, ValueError):
            pass
    tables = _parse_all(root, paths)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(tables), encoding="utf-8")
            os.replace(partial, cached)
        except (OSError, TypeError, ValueError):
            pass
    return tables


def load_knowledge(root: Path | None = None) -> Knowledge:
    """Load and validate a knowledge directory (uncached; see `default_knowledge`)."""
    return build_knowledge(read_tables(root or knowledge_dir()))


@functools.cache
def default_knowledge() -> Knowledge:
    """The shipped knowledge base, loaded once per process."""
    return load_knowledge()
