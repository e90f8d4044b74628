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
