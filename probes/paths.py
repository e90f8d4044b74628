"""Where the advisor keeps its own files: the user's cache folder, per platform.

Standard library only, so the probe store and the knowledge loader share it without pulling in
anything else (no platformdirs needed for three cases).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$ADVISOR_CACHE_DIR, else the platform's per-user cache folder + advisor."""
    env = os.environ if environ is None else environ
    if env.get("ADVISOR_CACHE_DIR"):
        return Path(env["ADVISOR_CACHE_DIR"]).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        return Path(env.get("LOCALAPPDATA") or home / "AppData" / "Local") / "advisor" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "advisor"
    return Path(env.get("XDG_CACHE_HOME") or home / ".cache") / "advisor"


def gpu_cache_file() -> Path:
    """Where the machine's GPU list is kept for the rest of a boot (see probes.fingerprint)."""
    return cache_dir() / "gpus.json"


def private_dir(path: Path, *, narrow: bool = True) -> Path | None:
    """`path` as a folder only this user can use, or None where it cannot be one.

    An absent folder is created with mode 0700 (its missing parents with the default mode). An
    existing one must belong to this user; if others may write to it, it is narrowed to 0700
    when `narrow` (the advisor's own folder) and refused otherwise (a folder the user named).
    On systems without POSIX owners the folder is only created.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.name != "posix":
            return path
        info = path.stat()
        if info.st_uid != os.geteuid():
            return None
        if info.st_mode & 0o077:
            if not narrow:
                return None if info.st_mode & 0o022 else path
            os.chmod(path, 0o700)
    except OSError:
        return None
    return path


def owned_privately(info: os.stat_result) -> bool:
    """Whether a file's stat says it is this user's and no one else may write to it."""
    if os.name != "posix":
        return True
    return info.st_uid == os.geteuid() and not info.st_mode & 0o022
