"""The Python API as team tooling uses it: import, call, read JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import advisor
from tests.conftest import ROOT


def test_public_api_recommends_from_a_dict() -> None:
    requirements = advisor.Requirements.model_validate(
        {
            "project": {"tasks": ["computer_vision"]},
            "deployment": {"targets": ["browser"]},
            "team": {"languages": ["javascript"]},
            "priorities": {"deployment": 5},
        }
    )
    result = advisor.recommend(requirements)
    assert isinstance(result, advisor.Recommendation)
    assert result.top_pick is not None and result.top_pick == "tensorflow"
    data = json.loads(result.model_dump_json())
    assert data["ranking"][0]["framework"] == "tensorflow"


def test_api_answers_how_sure_what_if_and_what_next() -> None:
    requirements = advisor.Requirements.model_validate({"project": {"tasks": ["nlp"]}})
    result = advisor.recommend(requirements)
    robustness = advisor.analyse_robustness(result, samples=300)
    assert robustness.top_pick == result.top_pick and robustness.rank_acceptability
    flips = advisor.smallest_flips(requirements)
    assert flips.runners_up[0].flips, "a single change lets the runner-up win here"
    for runner in flips.runners_up:
        for flip in runner.flips:
            edited = advisor.apply_changes(requirements, [flip.change])
            assert advisor.recommend(edited).top_pick == runner.framework
    steps = advisor.next_steps(result)
    assert steps.framework == result.top_pick and steps.steps
    assert json.loads(robustness.model_dump_json())["verdict"] == robustness.verdict


def test_importing_the_api_loads_no_framework() -> None:
    """Advice must never import a deep-learning framework (or numpy) on its default path."""
    code = (
        "import sys, advisor\n"
        "advisor.recommend(advisor.load_answers('examples/nlp-research-lab.toml'))\n"
        "print(sorted(m for m in ('torch', 'tensorflow', 'mxnet', 'numpy', 'streamlit') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
