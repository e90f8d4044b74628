"""What the package index and the installed environments say about the releases the knowledge
names, for `advisor claims --check-versions`.

The network is used only here and only when asked: one GET of the index's JSON per package
(`$ADVISOR_PACKAGE_INDEX`, default https://pypi.org/pypi, i.e. <index>/<package>/json), read as
JSON and nothing else, at most 8 MB, with a short timeout. Installed versions come from each
environment's own interpreter reading package metadata (`importlib.metadata`), which imports no
framework.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEFAULT_INDEX = "https://pypi.org/pypi"
MAX_BYTES = 8 * 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]

_METADATA = """
import importlib.metadata as m, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
print(json.dumps(found))
"""


class IndexUnreachable(OSError):
    """The package index did not answer at all (offline, refused, timed out)."""


def index_url() -> str:
    return os.environ.get("ADVISOR_PACKAGE_INDEX", DEFAULT_INDEX).rstrip("/")


def _newest(package: str, base: str, timeout: float) -> str | None:
    """The index's current version of `package` (`info.version`), None if it has no such
    package or answers with something else; IndexUnreachable when it cannot be reached."""
    url = f"{base}/{package}/json"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise IndexUnreachable(f"{base}: {reason}") from None
    if len(body) > MAX_BYTES:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    info = data.get("info") if isinstance(data, dict) else None
    version = info.get("version") if isinstance(info, dict) else None
    return version if isinstance(version, str) and 0 < len(version) < 64 else None


def index_versions(packages: Sequence[str], timeout: float = 5.0) -> dict[str, str]:
    """The index's newest version of each package it knows (a few requests at a time)."""
    base = index_url()
    if not base.startswith(("http://", "https://")):
        raise IndexUnreachable(f"{base}: ADVISOR_PACKAGE_INDEX must be an http(s) address")
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda p: _newest(p, base, timeout), packages))
    return {p: v for p, v in zip(packages, answers, strict=True) if v is not None}


def environments(venvs: Iterable[str]) -> dict[str, Path]:
    """The advisor's own interpreter and each framework environment that exists here."""
    found = {"this environment": Path(sys.executable)}
    for venv in venvs:
        python = ROOT / venv / "bin" / "python"
        if python.exists():
            found[venv] = python
    return found


def installed_versions(
    pythons: dict[str, Path], packages: Sequence[str], timeout: float = 30.0
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Per environment, the installed versions of `packages`; and the environments that could
    not be asked, with why."""
    found: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for label, python in pythons.items():
        try:
            done = subprocess.run(
                [str(python), "-I", "-c", _METADATA, *packages],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            versions = json.loads(done.stdout) if done.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, ValueError) as error:
            problems.append(f"{label}: {type(error).__name__}")
            continue
        if not isinstance(versions, dict):
            problems.append(f"{label}: exit status {done.returncode}")
            continue
        found[label] = {str(k): str(v) for k, v in versions.items()}
    return found, problems
