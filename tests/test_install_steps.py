"""No next step proposes an install that would break the environment it is typed into.

Every `pip install` a next step proposes (a front-end's steps once per backend) goes through pip's
own resolver in dry-run mode, in this environment, which has current TensorFlow, PyTorch and Keras
installed as a user's would: none may downgrade an installed package (the TensorFlow.js converter
did: `pip install tensorflowjs` resolved TensorFlow 2.21 back to 2.19). An install into its own
virtual environment (`python -m venv D && D/bin/pip install ...`) is resolved as into an empty
one, which shows that it can be installed at all. Needs the package index; skipped, saying so,
where pip cannot reach it.
"""

from __future__ import annotations

import importlib.metadata
import json
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest

from advisor.core.currency import version_key
from advisor.core.knowledge import Knowledge

UNREACHABLE = (
    "Could not fetch URL",
    "NewConnectionError",
    "Network is unreachable",
    "Temporary failure in name resolution",
    "Max retries exceeded",
)


class Install(NamedTuple):
    step: str
    command: str
    arguments: tuple[str, ...]
    own_venv: bool


def _filled(knowledge: Knowledge, framework: str, command: str) -> list[str]:
    """A step's command as the user would see it: a front-end's once per backend."""
    profile = knowledge.frameworks[framework]
    if "{backend" not in command:
        return [command]
    return [
        command.replace("{backend}", knowledge.frameworks[b].pypi).replace(
            "{backend_name}", knowledge.frameworks[b].name
        )
        for b in profile.backends
    ]


def installs(knowledge: Knowledge) -> list[Install]:
    found: list[Install] = []
    for compiled in knowledge.next_steps:
        step = compiled.step
        if not step.command:
            continue
        for command in _filled(knowledge, step.framework, step.command):
            venvs: set[str] = set()
            for segment in command.split("&&"):
                words = shlex.split(segment, comments=True)
                if words[:3] == ["python", "-m", "venv"] and len(words) == 4:
                    venvs.add(words[3].rstrip("/"))
                    continue
                if len(words) < 3 or words[1] != "install":
                    continue
                if words[0] == "pip":
                    found.append(Install(step.id, command, tuple(words[2:]), own_venv=False))
                elif words[0].endswith("/bin/pip"):
                    folder = words[0].removesuffix("/bin/pip")
                    assert folder in venvs, (
                        f"step {step.id}: {words[0]} installs into {folder}, which the command "
                        "does not create first (python -m venv {folder})"
                    )
                    found.append(Install(step.id, command, tuple(words[2:]), own_venv=True))
    return found


def _installed(knowledge: Knowledge) -> dict[str, str]:
    """This environment's packages by normalised name; a framework installed under a variant
    name (tensorflow-cpu) also counts under the framework's own."""
    here = {
        (dist.metadata["Name"] or "").lower().replace("_", "-"): dist.version
        for dist in importlib.metadata.distributions()
    }
    for profile in knowledge.frameworks.values():
        for variant in profile.pypi_variants:
            if variant in here and profile.pypi not in here:
                here[profile.pypi] = here[variant]
    return here


def _dry_run(install: Install) -> tuple[Install, int, str, list[tuple[str, str]]]:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        flags = ["--ignore-installed"] if install.own_venv else []
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--quiet",
                "--disable-pip-version-check",
                "--report",
                str(report),
                *flags,
                *install.arguments,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        chosen = (
            [
                (i["metadata"]["name"].lower().replace("_", "-"), i["metadata"]["version"])
                for i in json.loads(report.read_text())["install"]
            ]
            if done.returncode == 0 and report.exists()
            else []
        )
    return install, done.returncode, done.stderr, chosen


@pytest.fixture(scope="module")
def resolved(knowledge: Knowledge) -> list[tuple[Install, int, str, list[tuple[str, str]]]]:
    unique = {(i.arguments, i.own_venv): i for i in installs(knowledge)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_dry_run, unique.values()))
    if all(code != 0 and any(u in err for u in UNREACHABLE) for _, code, err, _ in results):
        pytest.skip("pip cannot reach the package index here; the install steps were not resolved")
    return results


def test_the_steps_propose_installs_of_both_kinds(knowledge: Knowledge) -> None:
    found = installs(knowledge)
    assert any(not i.own_venv for i in found) and any(i.own_venv for i in found)
    # a front-end's install is proposed once per backend
    keras = [i for i in found if i.step.startswith("keras") and "keras" in i.arguments]
    assert len({i.arguments for i in keras}) >= len(knowledge.frameworks["keras"].backends)


def test_every_proposed_install_resolves(
    resolved: list[tuple[Install, int, str, list[tuple[str, str]]]],
) -> None:
    failed = [
        f"{i.step}: `{i.command}` -> {err.strip().splitlines()[-1] if err.strip() else code}"
        for i, code, err, _ in resolved
        if code != 0
    ]
    assert failed == []


def test_no_proposed_install_downgrades_an_installed_package(
    knowledge: Knowledge, resolved: list[tuple[Install, int, str, list[tuple[str, str]]]]
) -> None:
    here = _installed(knowledge)
    downgrades = [
        f"{i.step}: `{i.command}` would take {name} from {here[name]} to {version}"
        for i, code, _, chosen in resolved
        if code == 0 and not i.own_venv
        for name, version in chosen
        if name in here and version_key(version) < version_key(here[name])
    ]
    assert downgrades == []
