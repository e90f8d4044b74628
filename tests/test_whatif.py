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


NO_SINGLE_FLIP = {"amd-rocm-cluster", "llm-finetuning-research", "windows-gpu-laptop"}
"""examples where no single change of priority or answer makes any runner-up win"""


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_every_suggested_flip_really_flips_the_winner(path: Path) -> None:
    requirements = load_answers(path)
    report = smallest_flips(requirements)
    base = recommend(requirements)
    assert report.top_pick == base.top_pick
    if path.stem not in NO_SINGLE_FLIP:  # the loop below has something to check
        assert report.runners_up and report.runners_up[0].flips, "the search found no flip"
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


# -- crossover points ---------------------------------------------------------------------------


def _engine_crossover(requirements: Requirements, name: str, step: int) -> tuple[int, str] | None:
    """Brute force: the first whole priority, moving one way, at which the engine's pick changes
    to a framework strictly ahead."""
    base = recommend(requirements)
    current = getattr(requirements.priorities, name)
    for value in range(current + step, 6 if step > 0 else -1, step):
        after = recommend(apply_changes(requirements, [f"priorities.{name}={value}"]))
        if after.top_pick != base.top_pick and after.margin is not None and after.margin > 0:
            return value, str(after.top_pick)
    return None


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_priority_crossovers_agree_with_re_running_the_engine(path: Path) -> None:
    from advisor.core.decision.crossover import priority_crossovers
    from advisor.core.decision.matrix import decision_matrix
    from advisor.core.in_force import knowledge_in_force

    requirements = load_answers(path)
    rec = recommend(requirements)
    if len(rec.ranking) < 2:
        return
    kb = knowledge_in_force()
    found, steady, ignored = priority_crossovers(decision_matrix(rec, kb), kb)
    by_key = {(c.criterion.value, c.direction): c for c in found}
    for name in type(requirements.priorities).model_fields:
        if name in {c.value for c in ignored}:
            continue
        for step, direction in ((1, "raise"), (-1, "lower")):
            engine = _engine_crossover(requirements, name, step)
            crossing = by_key.get((name, direction))
            if engine is None:
                assert crossing is None, (name, direction, crossing)
                continue
            assert crossing is not None, (name, direction, engine)
            assert (crossing.whole, crossing.winner) == engine
            current = getattr(requirements.priorities, name)
            assert min(current, crossing.whole) <= crossing.at <= max(current, crossing.whole)
    for criterion in steady:
        assert criterion.value not in {c[0] for c in by_key}


@pytest.mark.parametrize("example", ["jax-science-group", "mobile-vision-app", "tpu-training"])
def test_a_score_past_its_crossover_changes_the_pick_and_one_short_of_it_does_not(
    example: str,
) -> None:
    """Each score crossover, checked by rescoring the ranking with that one score moved."""
    from advisor.core.decision.robustness import analyse_robustness

    rec = recommend(load_answers(ROOT / "examples" / f"{example}.toml"))
    report = analyse_robustness(rec, samples=200)
    assert report.crossovers is not None and report.crossovers.scores

    def winner(framework: str, criterion: object, value: float) -> str:
        best: tuple[float, int, str] | None = None
        for index, ranked in enumerate(rec.ranking):
            rows = [ranked.criteria] + [o.criteria for o in ranked.options[1:]]
            for row_index, row in enumerate(rows):
                scores = {c.criterion: c.score for c in row}
                if ranked.framework == framework and row_index == 0:
                    scores[criterion] = value  # type: ignore[index]
                total = sum(c.weight * scores[c.criterion] for c in row) / sum(
                    c.weight for c in row
                )
                if best is None or (round(total, 9), -index) > (round(best[0], 9), -best[1]):
                    best = (total, index, ranked.framework)
        assert best is not None
        return best[2]

    for crossing in report.crossovers.scores:
        past = crossing.at + (0.01 if crossing.direction == "raise" else -0.01)
        short = crossing.at - (0.02 if crossing.direction == "raise" else -0.02)
        assert winner(crossing.framework, crossing.criterion, past) == crossing.winner
        assert winner(crossing.framework, crossing.criterion, short) == rec.top_pick
        # score, sd, at and z are each reported to two decimals: the z recomputed from the
        # rounded figures may differ from the reported one by this much, and no more
        rounding = 0.01 / crossing.sd + crossing.z * 0.005 / crossing.sd + 0.005
        assert crossing.z == pytest.approx(
            abs(crossing.at - crossing.score) / crossing.sd, abs=rounding + 1e-9
        )
        if crossing.criterion.value in ("runtime_performance", "memory_efficiency"):
            assert any(e.kind == "probe" and "advisor probe" in (e.command or "")
                       for e in crossing.evidence)  # fmt: skip
        else:
            assert crossing.evidence and all(e.kind == "claim" for e in crossing.evidence)


def test_whatif_search_reports_checked_crossover_points() -> None:
    report = smallest_flips(load_answers(ROOT / "examples" / "jax-science-group.toml"))
    assert report.crossovers is not None and report.crossovers.priorities
    assert all(c.verified for c in report.crossovers.priorities)
    text = "\n".join(report.text_lines())
    assert "Crossover points (holding your other answers):" in text
    assert "lower team fit from 3 to 2 and PyTorch wins" in text
    result = _cli("--answers", "examples/jax-science-group.toml")
    assert result.returncode == 0, result.stderr
    assert "Crossover points" in result.stdout and " wins (crosses at " in result.stdout
    payload = json.loads(_cli("--answers", "examples/jax-science-group.toml", "--format",
                              "json").stdout)  # fmt: skip
    assert payload["crossovers"]["priorities"][0]["verified"] is True


def test_explain_shows_each_scores_uncertainty_and_what_would_change_the_pick() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "advisor", "explain", "jax", "--no-calibrate",
         "--answers", "examples/jax-science-group.toml"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "  uncertainty: 5.00 ± " in result.stdout
    assert "What would change the pick (holding your other answers):" in result.stdout
    assert "lower team fit from 3 to 2 and PyTorch wins" in result.stdout
