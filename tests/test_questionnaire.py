"""The questionnaire model: schema v1 names, defaults and validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from advisor.core.questionnaire import Requirements, Target


def test_only_tasks_are_required() -> None:
    r = Requirements.model_validate({"project": {"tasks": ["nlp"]}})
    assert r.schema_version == 1
    assert r.deployment.targets == [Target.CLOUD_SERVER]
    assert r.priorities.deployment == 3
    assert r.constraints.exclude == []
    with pytest.raises(ValidationError):
        Requirements.model_validate({})


@pytest.mark.parametrize(
    "data",
    [
        {"project": {"tasks": ["nlp"]}, "extra": 1},
        {"project": {"tasks": ["nlp"], "colour": "red"}},
        {"project": {"tasks": []}},
        {"project": {"tasks": ["poetry"]}},
        {"project": {"tasks": ["nlp"]}, "priorities": {"ecosystem": 6}},
        {"project": {"tasks": ["nlp"]}, "priorities": {"ecosystem": "3"}},
        {"project": {"tasks": ["nlp"]}, "priorities": {"ecosystem": 2.5}},
        {"project": {"tasks": ["nlp"]}, "deployment": {"targets": ["none", "mobile"]}},
        {"project": {"tasks": ["nlp"]}, "schema_version": 2},
    ],
)
def test_invalid_answers_are_rejected(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Requirements.model_validate(data)


def test_repeated_answers_are_deduplicated_in_order() -> None:
    r = Requirements.model_validate({"project": {"tasks": ["nlp", "tabular", "nlp"]}})
    assert [t.value for t in r.project.tasks] == ["nlp", "tabular"]


def test_json_schema_names_every_section() -> None:
    schema = Requirements.model_json_schema()
    assert set(schema["properties"]) >= {
        "schema_version",
        "project",
        "deployment",
        "hardware",
        "team",
        "priorities",
        "constraints",
    }
    assert schema["required"] == ["project"]
