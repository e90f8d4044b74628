"""Which probes each worker of a probe run runs, deployment paths included, and the deployment
environments of the advisor's own that some paths need (created on first use).

A suite's deployment paths come from knowledge/deployment.toml: a path without an `environment`
runs in its framework's worker (after the compute probes), one with an environment (ExecuTorch,
litert-torch: 1.5-2 GB each, never installed into a framework's environment) gets a worker of
its own in `.venv-<name>/`. The worker is told which interpreter runs each light runtime (ONNX
Runtime, LiteRT: this one, the advisor's) through $ADVISOR_DEPLOY_PYTHONS.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

WORKER_SUITE = {"deploy": "quick"}
"""the compute sizes and timing budget a suite's workers use (`deploy` runs no compute probe)"""
PYTHONS_ENV = "ADVISOR_DEPLOY_PYTHONS"
STAMP = ".advisor-requirements"
"""a file in a deployment environment: the sha256 of the requirements it was made from"""
INSTALL_TIMEOUT_S = 3600.0


def worker_suite(suite: str) -> str:
    return WORKER_SUITE.get(suite, suite)


def runtime_pythons(kb: Any, python: str | None = None) -> str:
    """$ADVISOR_DEPLOY_PYTHONS for a worker: each light runtime -> the advisor's interpreter."""
    from advisor.core.deployment_paths import catalogue_of

    catalogue = catalogue_of(kb)
    if catalogue is None:
        return "{}"
    chosen = python or sys.executable
    return json.dumps({r.id: chosen for r in catalogue.runtime if r.runs_in == "advisor"})


def _wanted(names: Sequence[str], only: Sequence[str]) -> tuple[str, ...]:
    return tuple(n for n in names if not only or n in only)


def with_probes(
    planned: Sequence[Any], kb: Any, suite: str, only: Sequence[str], root: Path
) -> list[Any]:
    """The plan with each item's probe list, plus an item per deployment environment used."""
    from advisor.core.deployment_paths import catalogue_of
    from probes.catalogue import suite_probes

    catalogue = catalogue_of(kb)
    pythons = runtime_pythons(kb)
    compute_suite = suite != "deploy"
    every_suite = bool(only)  # a probe asked for by name runs whichever suite lists it
    result = []
    for item in planned:
        frontend = item.runs_on is not None
        compute = suite_probes(worker_suite(suite), frontend=frontend) if compute_suite else ()
        paths = []
        if catalogue is not None:
            paths = [
                p.probe
                for p in catalogue.paths_for(
                    item.framework, item.runs_on, None if every_suite else suite
                )
                if p.environment is None
            ]
        probes = _wanted([*compute, *dict.fromkeys(paths)], only)
        if probes:
            result.append(
                item._replace(probes=probes, environment={**item.environment, PYTHONS_ENV: pythons})
            )
    if catalogue is None:
        return result
    chosen = {item.framework for item in planned}
    for environment in catalogue.environment:
        if environment.framework not in chosen:
            continue
        paths = [
            p.probe
            for p in catalogue.path
            if p.environment == environment.id and (every_suite or suite in p.suites)
        ]
        probes = _wanted(list(dict.fromkeys(paths)), only)
        if not probes:
            continue
        template = next(i for i in planned if i.framework == environment.framework)
        result.append(
            template._replace(
                name=f"{template.name} ({environment.id} environment)",
                interpreter=str(root / environment.venv / "bin" / "python"),
                source=f"knowledge/deployment.toml, environment {environment.id}",
                params={"environment": environment.id},
                probes=probes,
                venv=environment.venv,
                environment={PYTHONS_ENV: pythons},
            )
        )
    return result


# -- deployment environments, made on first use -------------------------------------------------
def _stamp(requirements: Path) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


def environment_ready(venv: Path, requirements: Path) -> bool:
    """Made from these very requirements (the stamp is written only after pip succeeded)."""
    stamp = venv / STAMP
    try:
        return (venv / "bin" / "python").is_file() and stamp.read_text().strip() == _stamp(
            requirements
        )
    except OSError:
        return False


def ensure_environment(venv: Path, requirements: Path, size: str, stream: TextIO) -> str | None:
    """Create (or complete) a deployment environment; None when ready, else why not (one line).

    pip's own lines are shown as they come (a spinner with the elapsed time on a terminal), so a
    first `--suite deploy` that downloads a gigabyte says what it is doing.
    """
    if environment_ready(venv, requirements):
        return None
    print(
        f"setting up {venv.name} for deployment probes ({size or 'large'}; once, reused later): "
        f"pip install -r {requirements.name}",
        file=stream,
        flush=True,
    )
    steps = []
    if not (venv / "bin" / "python").is_file():
        steps.append([sys.executable, "-m", "venv", str(venv)])
    steps.append(
        [
            str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
            "--progress-bar", "off", "-r", str(requirements),
        ]
    )  # fmt: skip
    for command in steps:
        problem = _run_with_progress(command, stream)
        if problem:
            return f"{venv.name}: {problem}"
    (venv / STAMP).write_text(_stamp(requirements) + "\n", encoding="utf-8")
    return None


def _run_with_progress(command: Sequence[str], stream: TextIO) -> str | None:
    from probes.processes import kill_group, popen_options

    started = time.monotonic()
    status: Any = None
    if stream.isatty():
        from rich.console import Console

        status = Console(file=stream).status("starting")
        status.start()
    last, shown = "", 0.0
    try:
        process = subprocess.Popen(  # type: ignore[call-overload]
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            **popen_options(),
        )
    except OSError as error:
        if status is not None:
            status.stop()
        return f"cannot run {command[0]}: {error.strerror or error}"
    try:
        assert process.stdout is not None
        for line in process.stdout:
            text = line.strip()
            if not text or text.startswith("WARNING: Location"):
                continue
            last = text
            elapsed = time.monotonic() - started
            if status is not None:
                from rich.markup import escape

                status.update(escape(f"[{elapsed:4.0f} s] {text[:120]}"))
            elif text.startswith(("Installing", "Successfully", "ERROR")) or (
                elapsed - shown >= 10  # otherwise a line every 10 s says it is still going
            ):
                shown = elapsed
                print(f"  [{elapsed:4.0f} s] {text[:160]}", file=stream, flush=True)
        code = process.wait(timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        kill_group(process)
        return f"gave up after {INSTALL_TIMEOUT_S:g} s: {last[:300]}"
    except KeyboardInterrupt:
        kill_group(process)
        raise
    finally:
        if status is not None:
            status.stop()
    if code != 0:
        return (
            f"{Path(command[0]).name} {' '.join(command[1:3])} failed (exit {code}): {last[:300]}"
        )
    return None
