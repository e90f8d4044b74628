"""What-if: edits apply like a file would, and every suggested flip really flips the winner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.core.decision.whatif import WhatIfError, apply_changes, smallest_flips, wins
from advisor.core.engine import recommend
from advisor.core.questionnaire import Requirements
from advisor.files.answer_files import load_answers
from tests.conftest import example_files

ROOT = Path(__file__).resolve().parents[1]


def test_apply_changes_sets_priorities_lists_and_flags() -> None:
    base = Requirements.model_validate({"project": {"tasks": ["nlp"]}})
    edited = apply_changes(
        base,
        ["priorities.deployment=5", "deployment.targets=mobile,browser",
         "deployment.latency_critical=true", "team.experience.pytorch=expert"],
    )  # fmt: skip
    assert edited.priorities.deployment == 5
    assert [t.value for t in edited.deployment.targets] == ["mobile", "browser"]
    assert edited.deployment.latency_critical is True
    assert edited.team.experience_with("pytorch").value == "expert"
    assert base.priorities.deployment == 3  # the original is untouched


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("priorities.deploy=5", "unknown answer"),
        ("priorities.deployment=9", "out of range"),
        ("deployment.targets=moon", "allowed: cloud_server"),
        ("deployment.latency_critical=maybe", "true or false"),
        ("priorities.deployment", "PATH=VALUE"),
    ],
)
def test_bad_edits_name_the_field_and_what_is_allowed(change: str, words: str) -> None:
    base = Requirements.model_validate({"project": {"tasks": ["nlp"]}})
    with pytest.raises(WhatIfError, match=words):
        apply_changes(base, [change])


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_every_suggested_flip_really_flips_the_winner(path: Path) -> None:
    requirements = load_answers(path)
    report = smallest_flips(requirements)
    base = recommend(requirements)
    assert report.top_pick == base.top_pick
    for runner in report.runners_up:
        assert runner.framework != base.top_pick
        for flip in runner.flips:
            after = recommend(apply_changes(requirements, [flip.change]))
            assert after.top_pick == runner.framework, f"{flip.change} does not flip to {runner}"
            assert after.margin is not None and after.margin > 0, "a tie is not a win"
            assert after.margin == pytest.approx(flip.lead)
            if flip.kind == "priority":  # and nothing nearer on the same priority would
                name, value = flip.change.removeprefix("priorities.").split("=")
                current = getattr(requirements.priorities, name)
                step = 1 if int(value) > current else -1
                for nearer in range(current + step, int(value), step):
                    closer = recommend(apply_changes(requirements, [f"priorities.{name}={nearer}"]))
                    assert not wins(closer, runner.framework)


def test_some_examples_have_a_flip_found_by_search() -> None:
    found = [
        flip
        for path in example_files()
        for runner in smallest_flips(load_answers(path)).runners_up
        for flip in runner.flips
    ]
    assert any(f.kind == "priority" for f in found)
    assert any(f.kind == "answer" for f in found)
    assert all("constraints." not in f.change for f in found)


def test_suggestions_read_as_plain_sentences() -> None:
    """Wording comes from the schema's names: "you added browser to the deployment targets"."""
    requirements = Requirements.model_validate(
        {"project": {"tasks": ["computer_vision"]}, "deployment": {"targets": ["mobile"]}}
    )
    report = smallest_flips(requirements)
    sentences = [runner.sentence() for runner in report.runners_up]
    flips = [f for runner in report.runners_up for f in runner.flips]
    assert any(" would win if " in s for s in sentences)
    for flip in flips:
        if flip.change.startswith("deployment.targets="):
            assert flip.description.startswith(("you added ", "you dropped ", "the deployment"))
            assert "deployment targets" in flip.description
    text = "\n".join(report.text_lines())
    assert all(f"--set {f.change}" in text for f in flips)


def test_one_suggestion_per_single_valued_answer() -> None:
    for path in example_files():
        for runner in smallest_flips(load_answers(path)).runners_up:
            paths = [f.change.partition("=")[0] for f in runner.flips if f.kind == "answer"]
            single = [p for p in paths if p not in ("deployment.targets", "hardware.accelerators",
                                                    "hardware.os", "team.languages", "project.tasks")]  # fmt: skip
            assert len(single) == len(set(single)), (path.stem, paths)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor", "whatif", "--no-calibrate", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_whatif_command_shows_before_and_after_side_by_side() -> None:
    result = _cli("--answers", "examples/web-tabular-widget.toml", "--set",
                  "deployment.targets=cloud_server", "--set", "priorities.deployment=0")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Before" in result.stdout and "After" in result.stdout
    assert "deployment.targets: browser -> cloud_server" in result.stdout
    payload = json.loads(
        _cli(
            "--answers",
            "examples/web-tabular-widget.toml",
            "--set",
            "deployment.targets=cloud_server",
            "--format",
            "json",
        ).stdout
    )
    assert payload["changes"] == [
        {"path": "deployment.targets", "before": ["browser"], "after": ["cloud_server"]}
    ]
    assert payload["before"]["top_pick"] == "tensorflow"


def test_whatif_bad_set_is_one_line_and_exit_2() -> None:
    result = _cli("--task", "nlp", "--set", "deployment.targets=moon")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "deployment.targets" in result.stderr
    assert "Traceback" not in result.stderr


def test_whatif_without_set_searches_the_flips() -> None:
    result = _cli("--answers", "examples/mobile-vision-app.toml")
    assert result.returncode == 0, result.stderr
    assert "would win if" in result.stdout and "--set " in result.stdout
