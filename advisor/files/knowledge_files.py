"""Read the knowledge directory (TOML files) into a validated `Knowledge`.

The one place that touches the knowledge files: it maps each file to its kind, reports TOML syntax
errors with file and line, and hands the parsed tables to the pure `build_knowledge`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pydantic
import tomllib

from advisor.core.knowledge import Knowledge, KnowledgeError, build_knowledge
from advisor.files import knowledge_cache
from probes.paths import cache_dir, owned_privately, private_dir

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "knowledge"

# kind -> files relative to the knowledge directory (a trailing "/" means every *.toml inside)
LAYOUT: dict[str, str] = {
    "seeds": "seeds.toml",
    "references": "references/",
    "claims": "claims/",
    "frameworks": "frameworks/",
    "rules": "rules/",
    "next_steps": "next_steps/",
    "scoring": "scoring.toml",
    "calibration": "calibration.toml",
    "uncertainty": "uncertainty.toml",
    "deployment": "deployment.toml",
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


CODE = Path(__file__).resolve().parents[1] / "core"
"""the pure core: its sources are part of the cache key, so a model change rebuilds"""

CACHE_PREFIX = "knowledge-"
CACHE_SUFFIX = ".json"
CACHES_KEPT = 8
"""compiled knowledge files kept: one per checkout and version in use, not one per edit ever made"""


def _sources(root: Path, paths: dict[str, list[Path]]) -> dict[str, str] | None:
    """What a compiled knowledge base depends on: the sha256 of every knowledge file and core
    source, the Python and pydantic versions and the knowledge folder (None: a file is gone)."""
    sources = {
        "@python": sys.version,
        "@pydantic": pydantic.VERSION,
        "@knowledge": str(root.resolve()),
    }
    files = [(f"knowledge/{p.relative_to(root).as_posix()}", p) for f in paths.values() for p in f]
    files += [(f"core/{p.relative_to(CODE).as_posix()}", p) for p in sorted(CODE.rglob("*.py"))]
    try:
        for name, path in files:
            sources[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return sources


def _cache_file(sources: dict[str, str]) -> Path | None:
    """Where the compiled knowledge of exactly these sources is cached (None: no cache)."""
    if os.environ.get("ADVISOR_NO_CACHE"):
        return None
    folder = private_dir(cache_dir())
    if folder is None:  # someone else's folder, or one others may write to: not trusted
        return None
    key = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:24]
    return folder / f"{CACHE_PREFIX}{key}{CACHE_SUFFIX}"


def _read_cache(path: Path, sources: dict[str, str]) -> Knowledge | None:
    """The cached knowledge, or None for an absent, foreign, corrupt or stale file (never an
    error: the caller rebuilds)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        try:
            if not owned_privately(os.fstat(fd)):
                return None
            blob = handle.read(knowledge_cache.MAX_BYTES + 1)
        except OSError:
            return None
    try:
        loaded = knowledge_cache.decode(blob, sources)
    except knowledge_cache.Invalid:
        return None
    return loaded if isinstance(loaded, Knowledge) else None


def _write_cache(path: Path, knowledge: Knowledge, sources: dict[str, str]) -> None:
    try:
        blob = knowledge_cache.encode(knowledge, sources)
    except knowledge_cache.Unsupported:
        return  # a knowledge object this format cannot hold: go without a cache
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
        os.replace(partial, path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()
        return
    _prune(path.parent)


def load_knowledge(root: Path | None = None) -> Knowledge:
    """Load and validate a knowledge directory (`default_knowledge` keeps one per process).

    Parsing and validating ~500 items is most of a cold CLI start, so the compiled result is
    kept in the user's cache folder (mode 0700) as checksummed JSON (`knowledge_cache`: data
    only, never a pickle), keyed by the sha256 of every knowledge file and of the advisor's core
    sources: any edit rebuilds it, and so does a cache file that is corrupt, foreign, not this
    user's or writable by others. Only what passed validation is cached; an unreadable or
    unwritable cache is skipped ($ADVISOR_NO_CACHE=1 turns it off).
    """
    root = root or knowledge_dir()
    if not root.is_dir():
        raise KnowledgeError(f"{root}: knowledge directory not found")
    paths = _knowledge_paths(root)
    sources = _sources(root, paths)
    cached = _cache_file(sources) if sources is not None else None
    if cached is not None and sources is not None:
        loaded = _read_cache(cached, sources)
        if loaded is not None:
            return loaded
    knowledge = build_knowledge(_parse_all(root, paths))
    if cached is not None and sources is not None:
        _write_cache(cached, knowledge, sources)
    return knowledge


def _prune(folder: Path) -> None:
    """Drop all but the newest compiled knowledge caches, and any pickle an older advisor left
    (another process may be reading one: a removed file only costs that process a rebuild)."""
    try:
        for old in folder.glob(f"{CACHE_PREFIX}*.pickle"):
            old.unlink(missing_ok=True)
        caches = sorted(
            folder.glob(f"{CACHE_PREFIX}*{CACHE_SUFFIX}"),
            key=lambda p: p.stat().st_mtime_ns,
            reverse=True,
        )
        for stale in caches[CACHES_KEPT:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass


@functools.cache
def default_knowledge() -> Knowledge:
    """The shipped knowledge base, loaded once per process."""
    return load_knowledge()
