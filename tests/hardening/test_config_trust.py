"""The config file chooses programs `advisor probe` runs, so only trusted files count: the
project's own, the user's, or one named explicitly; never a parent folder's, never another
user's, never one anyone may write to. `probe --show` says what the next run would start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from probes.config import ConfigError, find_config, load_config

REPO = Path(__file__).resolve().parents[2]
EVIL = "/tmp/evil-python-that-must-never-run"


def _advisor(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "ADVISOR_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        cwd=cwd,
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _plant(folder: Path) -> Path:
    path = folder / "advisor.toml"
    path.write_text(f'[probes.interpreters]\npytorch = "{EVIL}"\nmxnet = "{EVIL}"\n')
    return path


def test_a_parent_folders_advisor_toml_has_no_effect(tmp_path: Path) -> None:
    _plant(tmp_path)
    deep = tmp_path / "work" / "project"
    deep.mkdir(parents=True)
    (deep / "advisor.toml").write_text(f'[probes.interpreters]\npytorch = "{EVIL}"\n')
    home = tmp_path / "home"
    planned = _advisor("probe", "--plan", cwd=deep, env={"XDG_CONFIG_HOME": str(home)})
    assert planned.returncode == 0, planned.stderr
    assert EVIL not in planned.stdout and "pytorch" in planned.stdout
    shown = _advisor(
        "probe", "--show", "--store", str(tmp_path / "none.sqlite3"), cwd=deep,
        env={"XDG_CONFIG_HOME": str(home)},
    )  # fmt: skip
    assert shown.returncode == 0 and EVIL not in shown.stdout
    # the project's own file is the one in force, whatever the working directory
    assert f"next probe run (config {REPO / 'advisor.toml'}) starts:" in shown.stdout
    assert "pytorch" in shown.stdout


def test_an_explicit_config_is_used_and_shown(tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text('[probes.interpreters]\npytorch = "/opt/py/bin/python"\n')
    shown = _advisor(
        "probe", "--show", "--config", str(mine), "--store", str(tmp_path / "n"), cwd=tmp_path
    )
    assert shown.returncode == 0, shown.stderr
    assert f"/opt/py/bin/python (set by {mine})" in shown.stdout


def test_a_world_writable_config_is_refused_with_one_clear_line(tmp_path: Path) -> None:
    path = _plant(tmp_path)
    path.chmod(0o666)
    with pytest.raises(ConfigError, match="every user may write to it"):
        load_config(path)
    result = _advisor(
        "probe", "--framework", "pytorch", "--config", str(path), "--store",
        str(tmp_path / "s.sqlite3"), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing" in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "s.sqlite3").exists()  # nothing ran


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() != 0, reason="giving a file to another user needs root"
)
def test_a_config_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    path = _plant(tmp_path)
    os.chown(path, 4242, 4242)
    with pytest.raises(ConfigError, match="not by you"):
        load_config(path)
    shown = _advisor("ui", "--config", str(path), "--port", "1", cwd=tmp_path)
    assert shown.returncode == 2 and "not by you" in shown.stderr


def test_the_user_config_folder_is_found_when_the_project_has_none(tmp_path: Path) -> None:
    home = tmp_path / "cfg"
    (home / "advisor").mkdir(parents=True)
    user = home / "advisor" / "advisor.toml"
    user.write_text("[ui]\nprobe_runs = false\n")
    project = tmp_path / "project"
    project.mkdir()
    found = find_config(project, environ={"XDG_CONFIG_HOME": str(home)})
    assert found == user
    assert load_config(found).ui_probe_runs is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[ui]\nprobe_runs = 'no'\n", "probe_runs must be true or false"),
        ("[ui]\nprobes = false\n", "unknown key(s) in [ui]: probes"),
        ("ui = 3\n", "[ui] must be a table"),
    ],
)
def test_bad_ui_settings_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "advisor.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)
