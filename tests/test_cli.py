"""The command line as a user meets it: real subprocesses, real files, exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_recommend_text_names_the_top_pick_reasons_and_caveats() -> None:
    result = run("recommend", "--answers", "examples/web-tabular-widget.toml", "--no-calibrate")
    assert result.returncode == 0, result.stderr
    assert "Top pick: TensorFlow" in result.stdout
    assert "Why TensorFlow:" in result.stdout and "source: http" in result.stdout
    assert "Caveats:" in result.stdout and "Retired" in result.stdout


def test_recommend_json_carries_the_contract() -> None:
    result = run(
        "recommend",
        "--answers",
        "examples/nlp-research-lab.toml",
        "--format",
        "json",
        "--no-calibrate",
    )
    data = json.loads(result.stdout)
    assert data["top_pick"] == "pytorch"
    first = data["ranking"][0]
    assert {"framework", "score", "criteria", "evidence", "caveats"} <= set(first)
    assert {"score", "weight", "contribution"} <= set(first["criteria"][0])
    assert first["evidence"][0]["claims"][0]["references"][0]["url"].startswith("http")
    assert data["calibration"]["used"] is False
    assert "excluded" in data


def test_recommend_markdown_is_a_report() -> None:
    result = run(
        "recommend",
        "--answers",
        "examples/legacy-mxnet-service.toml",
        "--format",
        "markdown",
        "--no-calibrate",
    )
    assert result.stdout.startswith("# Deep-learning framework recommendation")
    assert "| Rank | Framework |" in result.stdout
    assert "](https://" in result.stdout
    assert "## Seed-article claims this advice overrides" in result.stdout


def test_flags_answer_a_quick_question_without_a_file() -> None:
    result = run(
        "recommend",
        "--task",
        "computer_vision",
        "--deploy",
        "mobile",
        "--exclude",
        "tensorflow",
        "--format",
        "json",
        "--no-calibrate",
    )
    data = json.loads(result.stdout)
    assert data["top_pick"] == "pytorch"
    assert data["requirements"]["deployment"]["targets"] == ["mobile"]


def test_flags_override_the_answers_file() -> None:
    result = run(
        "recommend",
        "--answers",
        "examples/nlp-research-lab.toml",
        "--priority",
        "ecosystem=0",
        "--format",
        "json",
        "--no-calibrate",
    )
    assert json.loads(result.stdout)["requirements"]["priorities"]["ecosystem"] == 0


def test_answers_from_stdin_as_json() -> None:
    answers = json.dumps({"project": {"tasks": ["nlp"]}})
    result = run("recommend", "--answers", "-", "--format", "json", "--no-calibrate", stdin=answers)
    assert json.loads(result.stdout)["top_pick"] == "pytorch"


@pytest.mark.parametrize(
    ("content", "suffix", "fragment"),
    [
        ('[project]\ntasks = ["nlp"]\ncolour = "red"\n', ".toml", "project.colour: unknown field"),
        ('[project]\ntasks = "nlp"\n', ".toml", "project.tasks"),
        (
            '[project]\ntasks = ["nlp"]\n[priorities]\necosystem = 9\n',
            ".toml",
            "priorities.ecosystem: 9 is out of range (allowed: 0 to 5)",
        ),
        (
            '[project]\ntasks = ["poetry"]\n',
            ".toml",
            "project.tasks[0]: 'poetry' is not allowed (allowed: computer_vision",
        ),
        ('[project]\ntasks = ["nlp"\n', ".toml", "invalid TOML"),
        ('{"project": {"tasks": ["nlp"]}', ".json", "invalid JSON"),
        ('[deployment]\ntargets = ["mobile"]\n', ".toml", "project: required, but missing"),
    ],
)
def test_bad_answers_give_one_line_and_exit_2(
    tmp_path: Path, content: str, suffix: str, fragment: str
) -> None:
    path = tmp_path / f"answers{suffix}"
    path.write_text(content, encoding="utf-8")
    result = run("recommend", "--answers", str(path), "--no-calibrate")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]
    assert str(path) in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_file_and_bad_flag_value() -> None:
    result = run("recommend", "--answers", "nowhere.toml")
    assert (
        result.returncode == 2
        and result.stderr.strip() == "advisor: error: nowhere.toml: file not found"
    )
    result = run("recommend", "--task", "nlp", "--priority", "speed=5")
    assert (
        result.returncode == 2
        and "--priority" in result.stderr
        and "Traceback" not in result.stderr
    )
    result = run("recommend", "--deploy", "mobile")
    assert result.returncode == 2 and "--task" in result.stderr


def test_explain_shows_the_full_trail() -> None:
    result = run(
        "explain", "tensorflow", "--answers", "examples/web-tabular-widget.toml", "--no-calibrate"
    )
    assert result.returncode == 0, result.stderr
    assert "Deployment:" in result.stdout and "by rule deploy-browser" in result.stdout
    assert "https://www.tensorflow.org/js" in result.stdout


def test_claims_lists_verdicts_and_filters() -> None:
    result = run("claims", "--verdict", "wrong", "--format", "json")
    claims = json.loads(result.stdout)
    assert claims and all(c["verdict"] == "wrong" and c["correction"] for c in claims)
    text = run("claims", "--seed", "000").stdout
    assert "seed 000" in text and "[OUTDATED]" in text


def test_schema_is_json_schema() -> None:
    schema = json.loads(run("schema").stdout)
    assert schema["title"] == "advisor questionnaire"
    assert "priorities" in schema["properties"]


def test_every_command_has_help() -> None:
    for command in ("recommend", "explain", "claims", "schema"):
        result = run(command, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout


def test_robustness_what_if_and_next_steps_in_every_format() -> None:
    flags = ("--answers", "examples/web-tabular-widget.toml", "--robustness", "--what-if",
             "--next-steps", "--no-calibrate")  # fmt: skip
    text = run("recommend", *flags)
    assert text.returncode == 0, text.stderr
    # 1.1 points apart: SMAA-2 names the runner-up, it does not say robust
    robustness = next(line for line in text.stdout.splitlines() if line.startswith("Robustness: "))
    assert "PyTorch" in robustness and "runner-up" in robustness
    assert "Crossover points" in text.stdout or "What decides it" in robustness
    assert "would win if" in text.stdout and "Next steps with TensorFlow:" in text.stdout
    markdown = run("recommend", *flags, "--format", "markdown").stdout
    assert "## Robustness" in markdown and "| Framework | 1st |" in markdown
    assert "## Next steps" in markdown and "## What if" in markdown
    data = json.loads(run("recommend", *flags, "--format", "json").stdout)
    shares = data["robustness"]["rank_acceptability"][0]["rank_shares"]
    assert data["robustness"]["top_pick"] == data["top_pick"] and sum(shares) == pytest.approx(1)
    assert data["what_if"]["runners_up"] and data["next_steps"]["steps"]


def test_a_reader_that_stops_early_gets_no_traceback_and_output_to_a_file_is_complete(
    tmp_path: Path,
) -> None:
    """The CLI exits without interpreter teardown, so it must flush (and survive a closed pipe)."""
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    process = subprocess.Popen(
        [sys.executable, "-m", "advisor", "claims", "--format", "json"],
        cwd=ROOT,
        env=buffered,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().strip() == b"["
    process.stdout.close()  # like `| head -1`: 200 kB of JSON cannot fit in the pipe
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0
    assert "Traceback" not in stderr and "Exception ignored" not in stderr

    out = tmp_path / "advice.txt"  # a few kB: it sits in the stream's buffer until flushed
    with out.open("w") as handle:
        code = subprocess.run(
            [sys.executable, "-m", "advisor", "recommend", "--task", "nlp"],
            cwd=ROOT,
            env=buffered,
            stdout=handle,
            check=False,
            timeout=60,
        ).returncode
    assert code == 0
    assert "Top pick:" in out.read_text()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_ctrl_c_while_the_cli_is_still_starting_exits_130_without_a_traceback() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "advisor", "recommend", "--task", "nlp"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a test run started in the background inherits an ignored SIGINT: restore Ctrl-C
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    maps = Path(f"/proc/{process.pid}/maps")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # pydantic's compiled core is loaded: imports under way
        with contextlib.suppress(OSError):
            if "pydantic_core" in maps.read_text():
                break
        time.sleep(0.001)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "Top pick" not in out
