"""Deployment environments of the advisor's own (advisor/cli/deploy_plan.py): made on first use
with pip's progress shown, reused while their requirements are unchanged, remade when they change,
and a failed install leaves no stamp and one line naming the environment."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from advisor.cli.deploy_plan import (
    STAMP,
    ensure_environment,
    environment_ready,
    runtime_pythons,
    worker_suite,
)
from advisor.core.in_force import knowledge_in_force


def test_an_environment_is_made_once_and_remade_when_its_requirements_change(
    tmp_path: Path,
) -> None:
    venv, requirements = tmp_path / ".venv-test", tmp_path / "requirements.txt"
    requirements.write_text("# nothing to install\n")
    said = io.StringIO()
    assert ensure_environment(venv, requirements, "tiny", said) is None
    assert (venv / "bin" / "python").is_file() and environment_ready(venv, requirements)
    assert said.getvalue().startswith(
        "setting up .venv-test for deployment probes (tiny; once, reused later): pip install -r "
        "requirements.txt\n"
    )
    stamp = (venv / STAMP).stat().st_mtime_ns
    again = io.StringIO()
    assert ensure_environment(venv, requirements, "tiny", again) is None
    assert again.getvalue() == "" and (venv / STAMP).stat().st_mtime_ns == stamp  # reused
    requirements.write_text("# nothing to install, said differently\n")
    assert not environment_ready(venv, requirements)
    assert ensure_environment(venv, requirements, "tiny", io.StringIO()) is None
    assert environment_ready(venv, requirements)


def test_a_failed_install_is_one_line_and_leaves_no_stamp(tmp_path: Path) -> None:
    venv, requirements = tmp_path / ".venv-broken", tmp_path / "requirements.txt"
    requirements.write_text("advisor-no-such-package-anywhere==0.0.1\n")
    problem = ensure_environment(venv, requirements, "", io.StringIO())
    assert problem is not None and problem.startswith(
        ".venv-broken: python -m pip failed (exit 1): "
    )
    assert "\n" not in problem
    assert not (venv / STAMP).exists() and not environment_ready(venv, requirements)


def test_light_runtimes_run_in_the_advisors_interpreter() -> None:
    table = json.loads(runtime_pythons(knowledge_in_force()))
    assert table == {"onnxruntime": sys.executable, "litert": sys.executable}


@pytest.mark.parametrize(
    ("suite", "worker"),
    [("deploy", "quick"), ("quick", "quick"), ("full", "full"), ("tiny", "tiny")],
)
def test_the_deploy_suite_runs_its_workers_at_the_quick_sizes(suite: str, worker: str) -> None:
    assert worker_suite(suite) == worker
