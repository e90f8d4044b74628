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


def test_choices_print_as_their_value() -> None:
    from advisor.core.questionnaire import Experience, Task

    assert str(Task.REINFORCEMENT_LEARNING) == "reinforcement_learning"
    assert f"{Experience.SOME}" == "some"


def test_every_list_answer_is_deduplicated_in_order() -> None:
    r = Requirements.model_validate(
        {
            "project": {"tasks": ["nlp"]},
            "deployment": {"targets": ["mobile", "browser", "mobile"]},
            "hardware": {"accelerators": ["tpu", "cpu", "tpu"], "os": ["macos", "linux", "macos"]},
            "team": {"languages": ["java", "python", "java"]},
            "constraints": {"exclude": ["mxnet", "torch", "mxnet"],
                            "candidates": ["jax", "keras", "jax"]},
        }
    )  # fmt: skip
    assert [t.value for t in r.deployment.targets] == ["mobile", "browser"]
    assert [a.value for a in r.hardware.accelerators] == ["tpu", "cpu"]
    assert [o.value for o in r.hardware.os] == ["macos", "linux"]
    assert [lang.value for lang in r.team.languages] == ["java", "python"]
    assert r.constraints.exclude == ["mxnet", "pytorch"]
    assert r.constraints.candidates == ["jax", "keras"]


@pytest.mark.parametrize(
    ("targets", "ok"),
    [(["none"], True), (["none", "none"], True), (["mobile", "none"], False),
     (["none", "browser"], False), (["mobile", "browser"], True)],
)  # fmt: skip
def test_none_stands_alone_among_targets(targets: list[str], ok: bool) -> None:
    data = {"project": {"tasks": ["nlp"]}, "deployment": {"targets": targets}}
    if ok:
        assert Requirements.model_validate(data).deployment.targets[0].value == targets[0]
    else:
        with pytest.raises(ValidationError, match="'none' cannot be combined with other targets"):
            Requirements.model_validate(data)


def test_experience_none_is_left_out_and_read_back_as_none() -> None:
    from advisor.core.questionnaire import Experience

    team = Requirements.model_validate(
        {"project": {"tasks": ["nlp"]},
         "team": {"experience": {"pytorch": "none", "jax": "expert", "tf": "some"}}}
    ).team  # fmt: skip
    assert team.experience == {"jax": Experience.EXPERT, "tensorflow": Experience.SOME}
    assert team.experience_with("jax") is Experience.EXPERT
    assert team.experience_with("pytorch") is Experience.NONE
    assert team.experience_with("mxnet") is Experience.NONE
    same = Requirements.model_validate(
        {"project": {"tasks": ["nlp"]}, "team": {"experience": {"jax": "expert", "tf": "some"}}}
    ).team
    assert same == team


def test_the_schema_id_sits_at_the_top_only() -> None:
    from advisor.core.questionnaire import SCHEMA_ID

    schema = Requirements.model_json_schema()
    assert schema["$id"] == SCHEMA_ID == "https://advisor.invalid/schema/questionnaire-v1.json"
    assert next(iter(schema)) == "$id"
    assert "$id" not in str(schema["$defs"])
    assert Requirements.model_json_schema(mode="serialization")["$id"] == SCHEMA_ID


def test_the_schema_takes_pydantics_arguments() -> None:
    """The override passes its arguments on: positional (by_alias, ref_template) and keyword."""
    import json

    positional = json.dumps(Requirements.model_json_schema(True, "#/components/{model}"))
    keyword = json.dumps(Requirements.model_json_schema(ref_template="#/components/{model}"))
    for text in (positional, keyword):
        assert '"$ref": "#/components/Project"' in text and "#/$defs/" not in text
