"""The Streamlit page through AppTest: the script runs in-process, widgets are set directly.

The page must say what `recommend()` says for the same answers, derive its form from the model,
load the CLI's answer files, put validation messages at the fields, never show a traceback, and
run probes with a progress bar after which the advice uses the new figures.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import tomllib
from pydantic import Field
from streamlit.testing.v1 import AppTest

from advisor.core.answers import AnswersError, dump_toml
from advisor.core.engine import recommend
from advisor.core.questionnaire import (
    OperatingSystem,
    Priority,
    Requirements,
    Section,
    Target,
)
from advisor.files.answer_files import load_answers
from ui import form, views

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "ui" / "app.py")
EXAMPLES = ROOT / "examples"
TIMEOUT_S = 60


@pytest.fixture(autouse=True)
def empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own (absent) probe store: a user's real figures must not leak in."""
    import streamlit as st

    st.cache_resource.clear()  # the page caches advice per answers; each test starts afresh
    path = tmp_path / "probes.sqlite3"
    monkeypatch.setenv("ADVISOR_STORE", str(path))
    return path


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception, at.exception
    return at


def top_pick_text(at: AppTest) -> str:
    found = [s.value for s in at.success if s.value.startswith("### Top pick:")]
    assert len(found) == 1, [s.value for s in at.success]
    return found[0]


def expected_text(requirements: Requirements, measurements: Any = None) -> str:
    rec = recommend(requirements, measurements)
    top = rec.ranking[0]
    return f"### Top pick: {top.name_with_version}\n{top.score:.1f}/100"


def default_requirements() -> Requirements:
    spec = form.build_spec(Requirements)
    state: dict[str, Any] = {}
    form.init_state(spec, state)
    data, problems = form.collect(spec, state)
    assert not problems
    return Requirements.model_validate(data)


def walk(node: Any) -> Iterator[Any]:
    """Every element under a block, in page order."""
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for key in sorted(children):
            yield from walk(children[key])


# -- results follow the engine --------------------------------------------------------------
def test_defaults_give_the_engines_ranking() -> None:
    at = start()
    assert top_pick_text(at).startswith(expected_text(default_requirements()))
    assert at.dataframe, "the ranking table is missing"
    assert not at.error


def test_changing_answers_changes_the_pick_as_the_engine_says() -> None:
    at = start()
    before = top_pick_text(at)
    at.multiselect(key="q:deployment.targets").set_value(["browser"])
    at.multiselect(key="q:team.languages").set_value(["python", "javascript"])
    at.slider(key="q:priorities.deployment").set_value(5)
    at.run()
    assert not at.exception, at.exception
    requirements = Requirements.model_validate(
        {
            "project": {"tasks": default_requirements().project.tasks},
            "deployment": {"targets": ["browser"]},
            "team": {"languages": ["python", "javascript"]},
            "priorities": {"deployment": 5},
        }
    )
    after = top_pick_text(at)
    assert after.startswith(expected_text(requirements))
    assert after != before
    assert recommend(requirements).top_pick is not None
    assert recommend(requirements).ranking[0].name in after


def test_exclusions_and_caveats_are_shown_prominently() -> None:
    at = start()
    at.multiselect(key="q:constraints.exclude").set_value(["tensorflow"])
    at.run()
    assert any(e.value.startswith("**TensorFlow excluded**") for e in at.main.error)
    assert any("Apache MXNet" in w.value and "Retired" in w.value for w in at.main.warning)


def test_evidence_trail_links_sources_and_lists_overrides() -> None:
    at = start()
    markdown = "\n".join(m.value for m in at.main.markdown)
    assert "Rules that fired" in markdown
    assert "](https://" in markdown, "web sources must be links"
    assert ":red-badge[wrong]" in markdown or ":orange-badge[outdated]" in markdown
    rec = recommend(default_requirements())
    assert rec.overrides and views.md(rec.overrides[0].text) in markdown


def test_downloads_are_the_library_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each download carries what its label says: the Markdown and JSON reports the CLI's
    formats render for the same answers and analyses, and the answers as TOML."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    from advisor.cli.formats import Report, render
    from advisor.core.decision.robustness import analyse_robustness
    from advisor.core.decision.whatif import smallest_flips
    from advisor.core.steps import next_steps

    stored: dict[str, bytes] = {}  # what the page hands Streamlit, by the id in the button's url
    load = MemoryMediaFileStorage.load_and_get_id

    def keep(self: MemoryMediaFileStorage, data: Any, *args: Any, **kwargs: Any) -> str:
        file_id = load(self, data, *args, **kwargs)
        stored[file_id] = data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    at = start()
    buttons = {b.label: b.proto for b in at.get("download_button")}
    assert {"Result as Markdown", "Result as JSON", "Save answers"} <= set(buttons)

    def content(label: str) -> str:
        file_id = buttons[label].url.rsplit("/", 1)[-1].partition(".")[0]
        return stored[file_id].decode("utf-8")

    requirements = default_requirements()
    rec = recommend(requirements)
    report = Report(rec, {"robustness": analyse_robustness(rec),
                          "what_if": smallest_flips(requirements),
                          "next_steps": next_steps(rec)})  # fmt: skip
    markdown, json_text = content("Result as Markdown"), content("Result as JSON")
    assert markdown.startswith("# Deep-learning framework recommendation\n")
    assert markdown == render(report, "markdown")
    data = json.loads(json_text)
    assert {"top_pick", "ranking", "robustness", "what_if", "next_steps"} <= set(data)
    assert data["top_pick"] == rec.top_pick
    assert json_text == render(report, "json")
    assert Requirements.model_validate(tomllib.loads(content("Answers as TOML"))) == requirements


# -- the form comes from the model -----------------------------------------------------------
class Budget(Section):
    """A made-up section, as a future schema might add one."""

    compute: Priority = Field(2, description="How much compute budget matters.")
    region: Target = Field(Target.EDGE_DEVICE, description="Where the budget is spent.")


class FutureRequirements(Requirements):
    budget: Budget = Field(default_factory=Budget, description="Money questions.")
    air_gapped: bool = Field(True, description="Whether the machines have no internet.")
    other_os: list[OperatingSystem] = Field(default_factory=list, description="More systems.")
    notes: str | None = Field(None, description="Free text.")


def test_every_questionnaire_field_gets_a_widget_with_its_help_and_default() -> None:
    spec = form.build_spec(Requirements)
    leaves = {s.dotted: s for s in form.leaves(spec)}
    assert leaves["project.tasks"].kind == "multiselect"
    assert leaves["project.stage"].kind == "select"
    assert leaves["project.pretrained_models"].kind == "toggle"
    assert leaves["priorities.deployment"].kind == "slider"
    assert (leaves["priorities.deployment"].minimum, leaves["priorities.deployment"].maximum) == (
        0,
        5,
    )
    assert leaves["team.experience.pytorch"].kind == "select"
    assert leaves["schema_version"].kind == "fixed"
    assert [s.dotted for s in form.sections(spec)][:3] == ["project", "deployment", "hardware"]
    for name, field in Requirements.model_fields["priorities"].annotation.model_fields.items():
        leaf = leaves[f"priorities.{name}"]
        assert leaf.help == field.description and leaf.default == field.default
    assert leaves["deployment.targets"].default == ["cloud_server"]
    assert all(s.kind != "json" for s in leaves.values()), "every v1 field has a proper widget"


def test_a_field_added_to_the_model_appears_in_the_form() -> None:
    spec = form.build_spec(FutureRequirements)
    leaves = {s.dotted: s for s in form.leaves(spec)}
    assert leaves["budget.compute"].kind == "slider" and leaves["budget.compute"].default == 2
    assert leaves["budget.region"].kind == "select"
    assert leaves["budget.region"].default == "edge_device"
    assert leaves["air_gapped"].kind == "toggle" and leaves["air_gapped"].default is True
    assert leaves["air_gapped"].help == "Whether the machines have no internet."
    assert leaves["other_os"].kind == "multiselect" and leaves["other_os"].options == (
        "linux",
        "windows",
        "macos",
    )
    assert leaves["notes"].kind == "text" and leaves["notes"].optional
    state: dict[str, Any] = {}
    form.init_state(spec, state)
    data, _ = form.collect(spec, state)
    model, errors = form.validate(FutureRequirements, spec, data)
    assert not errors
    assert isinstance(model, FutureRequirements)
    assert model.budget == Budget() and model.air_gapped is True and model.notes is None


def test_a_field_added_to_the_model_is_drawn_without_ui_edits() -> None:
    def script() -> None:
        import streamlit as st
        from pydantic import Field

        from advisor.core.questionnaire import Requirements
        from ui import form

        class Future(Requirements):
            air_gapped: bool = Field(True, description="Whether the machines have no internet.")

        spec = form.build_spec(Future)
        form.init_state(spec, st.session_state)
        form.render_form(spec, {}, st)

    at = AppTest.from_function(script, default_timeout=TIMEOUT_S).run()
    assert not at.exception
    assert at.toggle(key="q:air_gapped").value is True
    assert at.multiselect(key="q:project.tasks").value
    assert at.slider(key="q:priorities.team_fit").value == 3


# -- answers files --------------------------------------------------------------------------
@pytest.mark.parametrize("example", ["mobile-without-tensorflow.toml", "nlp-research-lab.toml"])
def test_answers_files_load_into_the_form_as_the_cli_reads_them(example: str) -> None:
    path = EXAMPLES / example
    spec = form.build_spec(Requirements)
    state: dict[str, Any] = {}
    data = form.answers_from_file(path.name, path.read_bytes())
    form.apply_answers(spec, data, state)
    collected, problems = form.collect(spec, state)
    model, errors = form.validate(Requirements, spec, collected)
    assert not problems and not errors
    assert model == load_answers(str(path))


def test_json_answers_and_the_toml_download_round_trip() -> None:
    requirements = load_answers(str(EXAMPLES / "web-tabular-widget.toml"))
    spec = form.build_spec(Requirements)
    for name, content in (
        ("answers.json", requirements.model_dump_json().encode()),
        ("answers.toml", dump_toml(requirements).encode()),
        ("no-extension", requirements.model_dump_json().encode()),
    ):
        state: dict[str, Any] = {}
        form.apply_answers(spec, form.answers_from_file(name, content), state)
        model, errors = form.validate(Requirements, spec, form.collect(spec, state)[0])
        assert not errors and model == requirements, name


def test_broken_answers_files_are_one_line_errors() -> None:
    with pytest.raises(AnswersError, match=r"bad\.toml: invalid TOML"):
        form.answers_from_file("bad.toml", b"[project\ntasks = ")
    with pytest.raises(AnswersError, match=r"bad\.json: invalid JSON"):
        form.answers_from_file("bad.json", b"{")
    with pytest.raises(AnswersError, match="not a UTF-8"):
        form.answers_from_file("bin.toml", b"\xff\xfe\x00")


def test_uploading_a_file_sets_the_widgets_and_the_advice() -> None:
    path = EXAMPLES / "mobile-without-tensorflow.toml"
    at = start()
    at.file_uploader(key="answers:file").set_value((path.name, path.read_bytes(), "text/plain"))
    at.run()
    assert not at.exception, at.exception
    assert any(s.value == f"Loaded {path.name}" for s in at.sidebar.success)
    assert at.multiselect(key="q:deployment.targets").value == ["mobile"]
    assert at.multiselect(key="q:constraints.exclude").value == ["tensorflow"]
    assert top_pick_text(at).startswith(expected_text(load_answers(str(path))))
    at.run()  # the same upload is not applied again over later edits
    at.multiselect(key="q:constraints.exclude").set_value([]).run()
    assert at.multiselect(key="q:constraints.exclude").value == []


def test_uploading_an_invalid_file_shows_one_line_and_keeps_the_page() -> None:
    at = start()
    at.file_uploader(key="answers:file").set_value(
        ("team.toml", b"[project]\ntasks = []\n[deployment]\ntargets = ['moon']\n", "text/plain")
    )
    at.run()
    assert not at.exception, at.exception
    messages = [e.value for e in at.sidebar.error]
    assert any(m.startswith("Loaded with problems — team.toml: project.tasks") for m in messages)
    assert "Tasks: needs at least one value" in messages


def test_the_upload_handler_then_the_session_state_gives_the_files_advice() -> None:
    """What the uploader does, driven through session state (the browser-free path)."""
    path = EXAMPLES / "nlp-research-lab.toml"
    at = start()
    state: dict[str, Any] = {}
    kind, message = form.apply_file(
        form.build_spec(Requirements), path.name, path.read_bytes(), state
    )
    assert (kind, message) == ("success", f"Loaded {path.name}")
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    assert top_pick_text(at).startswith(expected_text(load_answers(str(path))))
    kind, message = form.apply_file(form.build_spec(Requirements), "x.toml", b"[[", {})
    assert kind == "error" and message.startswith("x.toml: invalid TOML")


# -- invalid answers ------------------------------------------------------------------------
def test_empty_tasks_show_an_inline_message_at_the_field() -> None:
    at = start()
    at.multiselect(key="q:project.tasks").set_value([]).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.sidebar.error] == ["Tasks: needs at least one value"]
    order = list(walk(at.sidebar))
    tasks = next(i for i, n in enumerate(order) if getattr(n, "key", None) == "q:project.tasks")
    after = next(
        n
        for n in order[tasks + 1 :]
        if getattr(n, "type", "") in ("error", "selectbox", "multiselect", "slider", "toggle")
    )
    assert after.type == "error", "the message must sit right under the Tasks widget"
    assert any("need fixing" in w.value for w in at.main.warning)
    assert not [s for s in at.success if s.value.startswith("### Top pick")]
    assert at.get("download_button")[0].disabled, "invalid answers cannot be saved"


def test_none_with_other_targets_is_flagged_at_targets() -> None:
    at = start()
    at.multiselect(key="q:deployment.targets").set_value(["none", "mobile"]).run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and errors[0].startswith("Targets: ")
    assert "cannot be combined" in errors[0]


def test_fixing_the_answer_brings_the_advice_back() -> None:
    at = start()
    at.multiselect(key="q:project.tasks").set_value([]).run()
    at.multiselect(key="q:project.tasks").set_value(["nlp"]).run()
    assert not at.sidebar.error
    requirements = Requirements.model_validate({"project": {"tasks": ["nlp"]}})
    assert top_pick_text(at).startswith(expected_text(requirements))


def test_a_failing_library_call_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import advisor.core.engine

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("knowledge exploded\nsecond line with internals")

    monkeypatch.setattr(advisor.core.engine, "recommend", broken)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert any("RuntimeError: knowledge exploded" in m for m in messages)
    assert not any("second line" in m or "Traceback" in m for m in messages)


def test_result_settings_survive_a_moment_of_invalid_answers() -> None:
    at = start()
    at.toggle(key="calib:use").set_value(False).run()
    at.multiselect(key="q:project.tasks").set_value([]).run()
    at.multiselect(key="q:project.tasks").set_value(["nlp"]).run()
    assert at.toggle(key="calib:use").value is False


def test_reset_restores_the_defaults() -> None:
    at = start()
    at.multiselect(key="q:deployment.targets").set_value(["browser"]).run()
    at.button(key="answers:reset").click().run()
    assert at.multiselect(key="q:deployment.targets").value == ["cloud_server"]


# -- optional analyses ----------------------------------------------------------------------
def test_robustness_what_if_and_next_steps_are_shown_as_the_library_gives_them() -> None:
    from advisor.core.decision.robustness import analyse_robustness
    from advisor.core.decision.whatif import smallest_flips
    from advisor.core.engine import recommend
    from advisor.core.steps import next_steps

    at = start()
    answers = default_requirements()
    rec = recommend(answers)
    headers = [h.value for h in at.header]
    assert "How robust is the pick?" in headers
    markdown = "\n".join(m.value for m in at.markdown)
    assert analyse_robustness(rec).verdict in markdown
    assert {e.label for e in at.expander} >= {"Next steps", "What would change the pick"}
    assert next_steps(rec).steps[0].title in markdown
    flips = [f for r in smallest_flips(answers).runners_up for f in r.flips]
    if flips:
        assert flips[0].change in markdown


# -- probes ---------------------------------------------------------------------------------
def _spy_progress(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, str]]:
    seen: list[tuple[float, str]] = []
    original = views.run_probe_suite

    def spy(frameworks: Any, suite: str, store: Path, report: Any, **kw: Any) -> Any:
        def both(fraction: float, text: str) -> None:
            seen.append((fraction, text))
            report(fraction, text)

        return original(frameworks, suite, store, both, **kw)

    monkeypatch.setattr(views, "run_probe_suite", spy)
    return seen


def _check_probe_run(at: AppTest, store: Path, seen: list[tuple[float, str]]) -> None:
    from advisor.cli.probe import load_measurements

    assert not at.exception, at.exception
    assert seen and seen[-1][0] == 1.0
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions), "progress never goes backwards"
    assert any("pytorch" in text for _, text in seen)
    assert any(s.value.startswith("Last probe run:") for s in at.success)
    assert store.exists()
    measurements = load_measurements(store, datetime.now(timezone.utc))
    assert measurements is not None and measurements.records
    answers = default_requirements()
    assert top_pick_text(at).startswith(expected_text(answers, measurements))
    frames = [d.value for d in at.dataframe]
    assert any("probe" in f.columns and "pytorch" in set(f["framework"]) for f in frames), (
        "the stored figures table is missing"
    )


def test_probe_button_runs_a_suite_with_progress_then_recalibrates(
    monkeypatch: pytest.MonkeyPatch,
    empty_store: Path,
) -> None:
    """The whole UI path with the runner's well-behaved fake worker (no frameworks needed)."""
    fakes = ROOT / "tests" / "probes" / "fake_workers"
    import probes.runner

    monkeypatch.setattr(
        probes.runner,
        "RunOptions",
        functools.partial(probes.runner.RunOptions, worker_module="good", root=fakes),
    )
    seen = _spy_progress(monkeypatch)
    at = start()
    at.selectbox(key="probe:suite").set_value("tiny")
    at.multiselect(key="probe:frameworks").set_value(["pytorch"])
    at.button(key="probe:run").click()
    at.run(timeout=120)
    _check_probe_run(at, empty_store, seen)


@pytest.mark.frameworks
def test_probe_button_runs_the_real_tiny_suite_in_pytorch(
    monkeypatch: pytest.MonkeyPatch,
    empty_store: Path,
) -> None:
    seen = _spy_progress(monkeypatch)
    at = start()
    at.selectbox(key="probe:suite").set_value("tiny")
    at.multiselect(key="probe:frameworks").set_value(["pytorch"])
    at.button(key="probe:run").click()
    at.run(timeout=600)
    _check_probe_run(at, empty_store, seen)
    problems = [w.value for w in at.warning if w.value.startswith("pytorch ")]
    assert not problems, problems


# -- `advisor ui` ---------------------------------------------------------------------------
def test_ui_command_defaults_to_a_private_quiet_server() -> None:
    import argparse

    from advisor.cli.ui import add_ui_parser, app_path, streamlit_command

    parser = argparse.ArgumentParser()
    add_ui_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["ui"])
    command = streamlit_command(args, python="python")
    assert command[:5] == ["python", "-m", "streamlit", "run", str(app_path())]
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert options["--server.address"] == "127.0.0.1"
    assert options["--server.port"] == "8501"
    assert options["--server.headless"] == "true"
    assert options["--browser.gatherUsageStats"] == "false"
    assert options["--client.showErrorDetails"] == "none"
    assert app_path() == ROOT / "ui" / "app.py"
    args = parser.parse_args(["ui", "--port", "9000", "--host", "0.0.0.0"])
    options = dict(zip(streamlit_command(args)[5::2], streamlit_command(args)[6::2], strict=True))
    assert (options["--server.port"], options["--server.address"]) == ("9000", "0.0.0.0")
    with pytest.raises(SystemExit):
        parser.parse_args(["ui", "--port", "70000"])


def test_python_m_advisor_ui_serves_the_page_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    import os
    import signal
    import socket
    import subprocess
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "advisor",
            "ui",
            "--port",
            str(port),
            "--store",
            str(tmp_path / "store.sqlite3"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # a test run started in the background hands its children an ignored SIGINT; a terminal's
        # Ctrl-C reaches a launcher with the default handler, so give it that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    try:
        deadline = time.monotonic() + 60
        body = b""
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    body = response.read()
                break
            except OSError:
                time.sleep(0.25)
        assert b"<html" in body.lower(), "advisor ui did not serve the page"
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            code = process.wait()
    output = process.stdout.read().decode() if process.stdout else ""
    assert f"serving on http://localhost:{port}" in output
    assert code in (0, 130), output


def test_stored_deployment_paths_show_as_a_matrix(empty_store: Path) -> None:
    """Records shaped as probes/deployment/probe.py sends them, for this machine."""
    from probes.fingerprint import machine_fingerprint, machine_id
    from probes.paths import gpu_cache_file
    from probes.records import ProbeRecord
    from probes.store import open_store

    here = str(machine_id(dict(machine_fingerprint(gpu_cache=gpu_cache_file()))))
    records = [
        ProbeRecord(
            framework=framework, probe=f"deploy.{path}", status=status, value=value, unit="ms",
            higher_is_better=False, params={"path": path, "model": "conv", "batch": 1},
            details={"deploy_status": state, "artifact_bytes": 31_744},
            machine_id=here, measured_at=datetime.now(timezone.utc), run_id="ui",
        )
        for framework, path, status, value, state in [
            ("pytorch", "onnx_dynamo", "ok", 0.165, "ok"),
            ("tensorflow", "litert", "failed", None, "run_failed"),
        ]
    ]
    with open_store(empty_store) as store:
        store.add(records)
    at = start()
    matrices = [d.value for d in at.dataframe if "ONNX Runtime" in d.value.columns]
    assert len(matrices) == 1, "the deployment matrix is missing"
    by = matrices[0].set_index("Framework")
    assert by.loc["PyTorch", "ONNX Runtime"] == "ok 0.165 ms, 31 KB"
    assert by.loc["TensorFlow", "LiteRT"] == "run_failed"
    assert by.loc["Apache MXNet", "ExecuTorch"] == "unsupported"
