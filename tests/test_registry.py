"""The candidate set is data: a framework added as knowledge files alone (no code change) shows up
in the schema, the CLI, the ranking with its evidence, the what-if search and the probe plan."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.core.decision.whatif import leaves
from advisor.core.engine import recommend
from advisor.core.in_force import knowledge_in_force
from advisor.core.knowledge import KnowledgeError
from advisor.core.questionnaire import Requirements
from advisor.files.answer_files import load_answers
from advisor.files.knowledge_files import knowledge_dir, load_knowledge

ROOT = Path(__file__).resolve().parents[1]
CRITERIA = [
    "task_fit",
    "development_speed",
    "runtime_performance",
    "memory_efficiency",
    "distributed_training",
    "deployment",
    "ecosystem",
    "hardware_support",
    "language_support",
    "long_term_support",
    "team_fit",
]

TOY = """
[framework]
id = "toyfw"
name = "ToyFW"
order = 5
aliases = ["toy"]
pypi = "toyfw"
lifecycle = "active"
lifecycle_note = "A throw-away framework for a test."
lifecycle_claims = ["fact-switching-cost"]
version_line = "1.x"
latest_version = "1.0.0"
latest_release = "2026-11"
homepage = "https://example.invalid/toyfw"
install = "pip install toyfw"

[framework.probe]
backend = "probes.frameworks.toyfw"
environment = { venv = ".venv-toyfw" }

[framework.priors]
"""


@pytest.fixture(scope="module")
def toy_knowledge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kb") / "knowledge"
    shutil.copytree(knowledge_dir(), folder)
    priors = "\n".join(
        f'{c} = {{ score = 4.9, claims = ["fact-switching-cost"] }}' for c in CRITERIA
    )
    (folder / "frameworks" / "toyfw.toml").write_text(TOY + priors + "\n", encoding="utf-8")
    return folder


def _cli(knowledge: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ADVISOR_KNOWLEDGE": str(knowledge), "ADVISOR_CACHE_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_an_extra_framework_is_ranked_with_its_evidence(toy_knowledge: Path) -> None:
    kb = load_knowledge(toy_knowledge)
    assert "toyfw" in kb.registry and kb.registry.resolve("TOY") == "toyfw"
    answers = Requirements.model_validate(
        {"project": {"tasks": ["nlp"]}, "team": {"experience": {"toy": "expert"}}},
        context={"registry": kb.registry},
    )
    assert answers.team.experience_with("toyfw").value == "expert"  # the alias was resolved
    rec = recommend(answers, knowledge=kb)
    entry = next(e for e in rec.ranking if e.framework == "toyfw")
    assert entry.name == "ToyFW" and rec.top_pick == "toyfw"  # priors of 4.9 everywhere win
    assert all(c.prior_claims == ["fact-switching-cost"] for c in entry.criteria)
    # the per-framework rules of the shipped knowledge apply to it with no edit
    assert "experience-expert:toyfw" in {e.rule for e in entry.evidence}
    assert "team.experience.toyfw" in leaves(kb.registry)


def test_the_robustness_analysis_of_an_extra_framework_uses_the_knowledge_given(
    toy_knowledge: Path,
) -> None:
    """The decision matrix is built from the knowledge the analysis is given, not the shipped
    one (which knows no toyfw)."""
    from advisor.core.decision.robustness import analyse_robustness

    kb = load_knowledge(toy_knowledge)
    answers = Requirements.model_validate(
        {"project": {"tasks": ["nlp"]}}, context={"registry": kb.registry}
    )
    report = analyse_robustness(recommend(answers, knowledge=kb), knowledge=kb, samples=200)
    shares = {row.framework: row.rank_shares[0] for row in report.rank_acceptability}
    assert "toyfw" in shares and shares["toyfw"] > 0.5  # priors of 4.9 everywhere lead


def test_the_shipped_registry_does_not_know_the_extra_framework() -> None:
    with pytest.raises(ValueError, match="unknown framework 'toyfw'; allowed: "):
        Requirements.model_validate(
            {"project": {"tasks": ["nlp"]}, "constraints": {"exclude": ["toyfw"]}}
        )


def test_schema_cli_and_probe_plan_list_the_extra_framework(
    toy_knowledge: Path, tmp_path: Path
) -> None:
    schema = _cli(toy_knowledge, tmp_path, "schema")
    assert schema.returncode == 0, schema.stderr
    text = schema.stdout
    exclude = json.loads(text)["$defs"]["Constraints"]["properties"]["exclude"]["items"]
    assert "toyfw" in exclude["enum"] and "jax" in exclude["enum"]
    ranked = _cli(toy_knowledge, tmp_path, "recommend", "--task", "nlp", "--exclude", "toy",
                  "--no-calibrate", "--format", "json")  # fmt: skip
    assert ranked.returncode == 0, ranked.stderr
    data = json.loads(ranked.stdout)
    assert [e["framework"] for e in data["excluded"]] == ["toyfw"]
    envs = _cli(toy_knowledge, tmp_path, "environments")
    assert envs.returncode == 0, envs.stderr
    rows = [line.split("|") for line in envs.stdout.splitlines()]
    assert ["toyfw", ".venv-toyfw", "", "", ""] in rows  # set-up would create it, no edit needed
    assert any(r[0] == "jax" and r[2].split(",")[0] >= "3.12" for r in rows)
    plan = _cli(toy_knowledge, tmp_path, "probe", "--plan")
    assert plan.returncode == 0, plan.stderr
    line = next(row for row in plan.stdout.splitlines() if row.startswith("toyfw"))
    assert "probes.frameworks.toyfw" in line and ".venv-toyfw/bin/python" in line


def test_version_1_answers_keep_their_meaning_with_more_frameworks(toy_knowledge: Path) -> None:
    """A v1 file names experience for the three original frameworks only; the new ones count as
    none, and the file validates against a registry that has more frameworks."""
    kb = load_knowledge(toy_knowledge)
    answers = load_answers(str(ROOT / "examples" / "legacy-mxnet-service.toml"))
    again = Requirements.model_validate(
        answers.model_dump(mode="json"), context={"registry": kb.registry}
    )
    assert again == answers
    assert again.team.experience_with("toyfw").value == "none"
    assert again.team.experience_with("jax").value == "none"


def test_a_rule_naming_an_unknown_framework_fails_at_load(
    toy_knowledge: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "knowledge"
    shutil.copytree(toy_knowledge, folder)
    (folder / "frameworks" / "toyfw.toml").unlink()
    (folder / "rules" / "broken.toml").write_text(
        '[[rule]]\nid = "uses-toy"\nrationale = "A rule about a framework nobody declared."\n'
        'claims = ["fact-switching-cost"]\neffects = [{ framework = "toyfw", caveat = "x" }]\n',
        encoding="utf-8",
    )
    with pytest.raises(
        KnowledgeError, match=r"broken\.toml: rule 'uses-toy': unknown framework 'toyfw'"
    ):
        load_knowledge(folder)


def test_every_shipped_framework_declares_a_probe_backend_that_exists() -> None:
    """Every framework is measured by its own backend module; a front-end (Keras) declares one
    too, and until its module exists its probe runs are recorded as missing, not faked."""
    kb = knowledge_in_force()
    for framework, profile in kb.frameworks.items():
        assert profile.probe is not None, framework
        assert profile.probe.backend == f"probes.frameworks.{framework}"
        module = ROOT / (profile.probe.backend.replace(".", "/") + ".py")
        assert module.is_file() or profile.kind == "frontend", f"{framework}: {module} missing"
