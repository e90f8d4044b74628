"""Reading answers (advisor/core/answers.py) in-process: the exact one-line messages a person
gets for each kind of mistake, the size limits at their edges, parsing, merging and the TOML
written back."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from advisor.core import answers as mod
from advisor.core.answers import (
    AnswersError,
    check_limits,
    describe_error,
    dump_toml,
    merge,
    parse_answers,
    validate_answers,
)
from tests.conftest import example_files

NLP: dict[str, Any] = {"project": {"tasks": ["nlp"]}}


def message(data: Any, origin: str = "a.toml") -> str:
    with pytest.raises(AnswersError) as error:
        validate_answers(data, origin)
    return str(error.value)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({**NLP, "extra": 1},
         "a.toml: extra: unknown field (allowed here: schema_version, project, deployment, "
         "hardware, team, priorities, constraints)"),
        ({"project": {"tasks": ["nlp"], "colour": "red"}},
         "a.toml: project.colour: unknown field (allowed here: tasks, stage, model_size, "
         "pretrained_models)"),
        ({}, "a.toml: project: required, but missing"),
        ({"project": {}}, "a.toml: project.tasks: required, but missing"),
        ({"project": {"tasks": ["poetry"]}},
         "a.toml: project.tasks[0]: 'poetry' is not allowed (allowed: computer_vision, nlp, "
         "speech, recommender, tabular, generative, reinforcement_learning, time_series, graph, "
         "other)"),
        ({"project": {"tasks": ["nlp"], "stage": "done"}},
         "a.toml: project.stage: 'done' is not allowed (allowed: research, prototype, production)"),
        ({**NLP, "priorities": {"ecosystem": 6}},
         "a.toml: priorities.ecosystem: 6 is out of range (allowed: 0 to 5)"),
        ({**NLP, "priorities": {"ecosystem": -1}},
         "a.toml: priorities.ecosystem: -1 is out of range (allowed: 0 to 5)"),
        ({**NLP, "schema_version": 2},
         "a.toml: schema_version: 2 is not supported (Input should be 1)"),
        ({"project": {"tasks": []}}, "a.toml: project.tasks: needs at least one value"),
        ({**NLP, "constraints": {"exclude": ["caffe"]}},
         "a.toml: constraints.exclude[0]: unknown framework 'caffe'; allowed: tensorflow, "
         "pytorch, jax, keras, mxnet"),
        ({**NLP, "team": {"existing_codebase": "fortran"}},
         "a.toml: team.existing_codebase: unknown codebase 'fortran'; allowed: none, "
         "tensorflow, tf_keras, pytorch, jax, keras, mxnet"),
        ({**NLP, "deployment": {"targets": ["none", "mobile"]}},
         "a.toml: deployment.targets: 'none' cannot be combined with other targets "
         "(got ['none', 'mobile'])"),
        ({**NLP, "priorities": {"ecosystem": "3"}},
         "a.toml: priorities.ecosystem: Input should be a valid integer (got '3')"),
        ({**NLP, "team": {"experience": {"pytorch": "guru"}}},
         "a.toml: team.experience.pytorch: Input should be 'none', 'some' or 'expert' "
         "(got 'guru')"),
        ([1, 2], "a.toml: the answers must be a table/object at the top level"),
    ],
)  # fmt: skip
def test_each_mistake_gets_its_one_line_message(data: Any, expected: str) -> None:
    assert message(data) == expected


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_examples_survive_dump_and_parse_unchanged(path: Any) -> None:
    original = validate_answers(parse_answers(path.read_text(encoding="utf-8"), "toml"), "x")
    again = validate_answers(parse_answers(dump_toml(original), "toml"), "again")
    assert again == original


def test_limits_are_checked_before_validation() -> None:
    assert check_limits({**NLP}) == []
    assert mod.MAX_ITEMS == 200 and mod.MAX_DEPTH == 8


def test_merge_sets_dotted_paths_on_a_copy() -> None:
    base = {"project": {"tasks": ["nlp"]}, "when": datetime.date(2026, 1, 2)}
    merged = merge(base, {"priorities.deployment": 5, "project.stage": "research"})
    assert merged == {
        "project": {"tasks": ["nlp"], "stage": "research"},
        "priorities": {"deployment": 5},
        "when": datetime.date(2026, 1, 2),
    }
    assert base == {"project": {"tasks": ["nlp"]}, "when": datetime.date(2026, 1, 2)}
    assert describe_error({"loc": ("project",), "type": "missing"}) == (
        "project: required, but missing"
    )
    merged.pop("when")
    assert validate_answers(merged, "m").priorities.deployment == 5
