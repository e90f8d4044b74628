"""Questionnaire input at its limits: one line naming every problem, never a traceback; the same
file means the same thing in the CLI and the web page; nothing from a file reaches the terminal
raw; extreme measurements never crash the geometric score."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.cli.terminal import safe
from advisor.core.answers import AnswersError, merge, parse_answers, validate_answers
from advisor.core.calibration import _geometric_score

REPO = Path(__file__).resolve().parents[2]


def _recommend(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "advisor",
            "recommend",
            "--no-calibrate",
            "--answers",
            str(path),
            *extra,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_byte_order_mark_is_accepted_by_the_cli_as_by_the_page(tmp_path: Path) -> None:
    from ui.form import answers_from_file

    content = '\ufeff[project]\ntasks = ["nlp"]\n'.encode()
    path = tmp_path / "bom.toml"
    path.write_bytes(content)
    assert parse_answers(content.decode("utf-8"), "toml") == answers_from_file("bom.toml", content)
    result = _recommend(path)
    assert result.returncode == 0, result.stderr
    plain = tmp_path / "plain.toml"
    plain.write_bytes(content[3:])
    assert result.stdout == _recommend(plain).stdout


def test_duplicate_json_keys_are_an_error_not_a_silent_merge() -> None:
    with pytest.raises(AnswersError, match="duplicate key 'tasks'"):
        parse_answers('{"project": {"tasks": ["nlp"], "tasks": ["speech"]}}', "json")


def test_every_problem_of_a_file_is_named_with_its_path() -> None:
    data = {
        "project": {"tasks": 5, "stage": "x"},
        "hardware": 3,
        "priorities": {"ecosystem": 99, "deployment": -1},
        "typo": True,
    }
    with pytest.raises(AnswersError) as caught:
        validate_answers(data, "f.json")
    message = str(caught.value)
    for path in (
        "project.tasks",
        "project.stage",
        "hardware",
        "priorities.ecosystem",
        "priorities.deployment",
        "typo",
    ):
        assert f"{path}:" in message, (path, message)
    assert "more problem" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ('{"project": ' + "[" * 10_000 + "]" * 10_000 + "}", "json"),
        ("a = " + "[" * 10_000 + "]" * 10_000, "toml"),
        ('{"priorities": {"ecosystem": 1' + "0" * 5000 + "}}", "json"),
        ("[priorities]\necosystem = 1" + "0" * 5000, "toml"),
        ('{"project": {"tasks": ["' + "n" * 2_000_000 + '"]}}', "json"),
    ],
)
def test_hostile_syntax_is_an_answers_error(text: str, fmt: str) -> None:
    with pytest.raises(AnswersError) as caught:
        parse_answers(text, fmt)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 500


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"project": {"tasks": [[[[[[[[["nlp"]]]]]]]]]}}, "nested more than"),
        ({"project": {"tasks": ["nlp"] * 1000}}, "1000 items"),
        ({"project": {"tasks": ["x" * 10_000]}}, "a string of 10,000 characters"),
        ({"priorities": {"ecosystem": 10**400}}, "an integer beyond"),
        ({"priorities": {"ecosystem": float("nan")}}, "is not a number"),
        ({"k" * 500: 1}, "a key longer than"),
    ],
)
def test_size_limits_name_the_field(data: dict[str, object], named: str) -> None:
    with pytest.raises(AnswersError, match=named) as caught:
        validate_answers(data, "answers")
    assert len(str(caught.value)) < 600


def test_toml_dates_survive_merging_and_are_reported_as_dates() -> None:
    base = {
        "project": {"tasks": ["nlp"], "stage": dt.datetime(1979, 5, 27, tzinfo=dt.timezone.utc)}
    }
    merged = merge(base, {"deployment.targets": [dt.date(2020, 1, 1)]})
    assert merged["project"]["stage"] == base["project"]["stage"]
    with pytest.raises(AnswersError, match="the datetime 1979-05-27T00:00:00"):
        validate_answers(merged, "answers")


def test_escape_sequences_from_a_file_never_reach_the_terminal_raw(tmp_path: Path) -> None:
    answers = tmp_path / "evil.json"
    answers.write_text(json.dumps({"project": {"tasks": ["nlp\x1b]0;pwned\x07\x1b[2J"]}}))
    result = _recommend(answers)
    assert result.returncode == 2
    for stream in (result.stdout, result.stderr):
        assert "\x1b" not in stream and "\x07" not in stream
    named = tmp_path / "\x1b[31mred.toml"
    named.write_text('[project]\ntasks = ["nlp"]\nstage = "nope"\n')
    shown = _recommend(named)
    assert shown.returncode == 2 and "\x1b" not in shown.stderr and "\\u001b" in shown.stderr


def test_safe_keeps_text_and_json_valid() -> None:
    assert safe("plain\ttext\n") == "plain\ttext\n"
    assert safe("a\x1b[2Jb\r\x9b") == "a\\u001b[2Jb\\u000d\\u009b"
    doc = json.dumps({"x": "\x9b\x7f"}, ensure_ascii=False)
    assert json.loads(safe(doc)) == {"x": "\x9b\x7f"}


@pytest.mark.parametrize(
    "pairs",
    [[(0.0, 1.0)], [(1e-320, 1.0), (1.0, 1.0)], [(float("nan"), 1.0)], [(1.0, float("inf"))], []],
)
def test_the_geometric_score_survives_extreme_ratios(pairs: list[tuple[float, float]]) -> None:
    score = _geometric_score(pairs)
    assert score is None or 0.0 <= score <= 5.0
