"""Next steps: chosen by the answers for the pick, each with its sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.core.engine import recommend
from advisor.core.in_force import knowledge_in_force
from advisor.core.knowledge import KnowledgeError
from advisor.core.questionnaire import Requirements
from advisor.core.steps import next_steps
from advisor.files.knowledge_files import load_knowledge

ROOT = Path(__file__).resolve().parents[1]


def _steps(answers: dict[str, object], framework: str | None = None) -> dict[str, object]:
    rec = recommend(Requirements.model_validate(answers))
    report = next_steps(rec, framework=framework)
    assert report.framework == (framework or rec.top_pick)
    return {step.id: step for step in report.steps}


def test_each_target_gets_its_deployment_path() -> None:
    steps = _steps({"project": {"tasks": ["tabular"], "stage": "production"},
                    "deployment": {"targets": ["browser"]}}, "tensorflow")  # fmt: skip
    assert "tensorflow-browser" in steps and "tensorflow-serve" not in steps
    steps = _steps({"project": {"tasks": ["nlp"]},
                    "deployment": {"targets": ["cloud_server", "mobile"]}}, "pytorch")  # fmt: skip
    assert {"pytorch-serve", "pytorch-mobile-edge", "pytorch-install"} <= set(steps)
    assert "pytorch-browser" not in steps


def test_an_mxnet_codebase_gets_a_migration_step_with_sources() -> None:
    steps = _steps({"project": {"tasks": ["nlp"]}, "team": {"existing_codebase": "mxnet"}})
    migration = [s for name, s in steps.items() if name.endswith("-from-mxnet")]
    assert len(migration) == 1
    assert any(c.id == "fact-onnx-conversion" for c in migration[0].sources)  # type: ignore[attr-defined]


def test_mxnet_as_pick_says_it_is_retired() -> None:
    steps = _steps({"project": {"tasks": ["nlp"]},
                    "constraints": {"candidates": ["mxnet"]}})  # fmt: skip
    assert "mxnet-retired" in steps


def test_every_step_has_a_source_and_renders() -> None:
    rec = recommend(Requirements.model_validate({"project": {"tasks": ["computer_vision"]}}))
    report = next_steps(rec)
    assert report.steps
    for step in report.steps:
        assert step.sources
    text = "\n".join(report.text_lines())
    assert "source:" in text and report.steps[0].title in text
    assert report.steps[0].title in "\n".join(report.markdown_lines())


def test_nothing_eligible_gives_no_steps() -> None:
    rec = recommend(Requirements.model_validate(
        {"project": {"tasks": ["nlp"]},
         "constraints": {"exclude": list(knowledge_in_force().registry.ids)}}))  # fmt: skip
    assert next_steps(rec).steps == []


def test_a_bad_step_fails_at_load_naming_file_and_step(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", root)
    (root / "next_steps" / "broken.toml").write_text(
        '[[step]]\nid = "broken-step"\nframework = "pytorch"\n'
        'when = { field = "deployment.target", contains = "mobile" }\n'
        'title = "t"\ndetail = "d"\nclaims = ["fact-executorch"]\n',
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(root)
    assert "broken.toml" in str(error.value) and "broken-step" in str(error.value)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('claims = ["no-such-claim"]', "no-such-claim"),
        ("claims = []", "claims"),
        ('framework = "caffe"\nclaims = ["fact-executorch"]', "framework"),
        (
            'claims = ["fact-executorch"]\n[[step]]\nid = "bad-step"\nframework = "mxnet"\n'
            'title = "t"\ndetail = "d"\nclaims = ["fact-executorch"]',
            "defined twice",
        ),
    ],
)
def test_bad_step_data_fails_at_load(tmp_path: Path, body: str, words: str) -> None:
    import shutil

    root = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", root)
    framework = "" if "caffe" in body else 'framework = "pytorch"\n'
    (root / "next_steps" / "bad.toml").write_text(
        f'[[step]]\nid = "bad-step"\n{framework}title = "t"\ndetail = "d"\n{body}\n',
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(root)
    message = str(error.value)
    assert "bad.toml" in message and "bad-step" in message and words in message


def test_every_step_in_the_knowledge_base_is_reachable_and_cited() -> None:
    """Each stored step cites claims that resolve, and belongs to a framework the engine ranks."""
    from advisor.files.knowledge_files import default_knowledge

    kb = default_knowledge()
    assert kb.next_steps
    for compiled in kb.next_steps:
        assert compiled.step.framework in kb.frameworks
        assert all(claim in kb.claims for claim in compiled.step.claims)
