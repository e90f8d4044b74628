"""Next steps: chosen by the answers for the pick, each with its sources."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

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


def _witnesses(condition: object) -> dict[str, list[object]]:
    """Per field a condition reads, the values that make one of its tests hold."""
    from advisor.core.conditions import AllOf, AnyOf, FieldTest, Not

    found: dict[str, list[object]] = {}
    if isinstance(condition, FieldTest):
        op, operand = condition.operator()
        if op in ("equals", "at_least", "at_most"):
            values: list[object] = [operand]
        elif op == "in":
            values = list(operand)
        elif op == "contains":
            values = [[operand]]
        elif op == "contains_any":
            values = [[v] for v in operand]
        else:  # subset_of
            values = [list(operand), [operand[0]]]
        found[condition.field] = values
    elif isinstance(condition, AllOf | AnyOf):
        for part in condition.all if isinstance(condition, AllOf) else condition.any:
            for name, values in _witnesses(part).items():
                found.setdefault(name, []).extend(values)
    elif isinstance(condition, Not):
        found = _witnesses(condition.not_)
    return found


def test_every_step_in_the_knowledge_base_can_be_reached() -> None:
    """Loading checks that a step's claims and framework exist, not that its condition can ever
    hold: a step whose `when` contradicts itself (or the questionnaire's own rules, such as
    "none" standing alone among the targets) loads and is never shown. Each step must come out
    of `next_steps` for its framework on some example, as it is or with the fields its condition
    reads set to values the condition names, and show a source for each claim it cites."""
    import itertools

    from advisor.core.answers import AnswersError, merge, validate_answers
    from tests.conftest import example_files

    kb = knowledge_in_force()
    bases = [
        Requirements.model_validate(tomllib.loads(path.read_text(encoding="utf-8"))).model_dump(
            mode="json"
        )
        for path in example_files()
    ]
    unreached = []
    for compiled in kb.next_steps:
        step = compiled.step
        options = _witnesses(step.when)
        names = sorted(options)
        choices = [[None, *options[name]] for name in names]  # None: leave the field as it is
        reached = None
        for base, values in itertools.product(bases, itertools.product(*choices)):
            changes = {n: v for n, v in zip(names, values, strict=True) if v is not None}
            try:
                answers = validate_answers(merge(base, changes), "step search")
            except AnswersError:
                continue
            report = next_steps(recommend(answers), framework=step.framework)
            shown = {s.id: s for s in report.steps}
            if step.id in shown:
                reached = shown[step.id]
                break
        if reached is None:
            unreached.append(step.id)
            continue
        assert [c.id for c in reached.sources] == step.claims
        for claim in reached.sources:  # each cited claim shows a seed article or a link
            assert claim.source is not None or any(r.url for r in claim.references), claim.id
    assert unreached == []
