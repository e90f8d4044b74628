"""Property-based tests: random valid questionnaires never crash the engine and score in range;
random invalid ones are rejected with one line naming a field, never a traceback."""

from __future__ import annotations

import typing
from enum import Enum
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from advisor.core.answers import AnswersError, validate_answers
from advisor.core.engine import recommend
from advisor.core.in_force import knowledge_in_force
from advisor.core.questionnaire import Requirements, Target
from advisor.core.registry import CodebaseName, FrameworkName

REGISTRY = knowledge_in_force().registry


def _values(annotation: Any) -> list[str]:
    """The values a choice annotation allows (framework names come from the registry)."""
    if annotation is FrameworkName:
        return list(REGISTRY.ids)
    if annotation is CodebaseName:
        return list(REGISTRY.codebases)
    return [m.value for m in annotation]


def _strategy_for(annotation: Any, name: str) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return st.integers(0, 5)
    if origin is dict:
        key, value = typing.get_args(annotation)
        return st.dictionaries(st.sampled_from(_values(key)), st.sampled_from(_values(value)))
    if annotation in (FrameworkName, CodebaseName):
        return st.sampled_from(_values(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation)
        values = _values(item)
        if item is Target:
            values = [v for v in values if v != "none"]
            return st.one_of(
                st.just(["none"]), st.lists(st.sampled_from(values), min_size=1, max_size=4)
            )
        min_size = 0 if name in ("exclude", "candidates") else 1
        return st.lists(st.sampled_from(values), min_size=min_size, max_size=4)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from([m.value for m in annotation])
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(0, 5)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_strategy(annotation)
    return st.just(1)  # schema_version


def _model_strategy(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    required = {
        n: _strategy_for(f.annotation, n) for n, f in model.model_fields.items() if f.is_required()
    }
    optional = {
        n: _strategy_for(f.annotation, n)
        for n, f in model.model_fields.items()
        if not f.is_required()
    }
    return st.fixed_dictionaries(required, optional=optional)


VALID = _model_strategy(Requirements)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALID)
def test_valid_questionnaires_always_get_a_ranking_in_range(data: dict[str, Any]) -> None:
    requirements = Requirements.model_validate(data)
    rec = recommend(requirements)
    assert len(rec.ranking) + len(rec.excluded) == len(REGISTRY)
    for entry in rec.ranking:
        assert 0 <= entry.score <= 100
        for c in entry.criteria:
            assert 0 <= c.score <= 5 and c.weight >= 0
    scores = [e.score for e in rec.ranking]
    assert scores == sorted(scores, reverse=True)
    assert recommend(requirements) == rec  # deterministic


def _corrupt(data: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return data


JUNK = st.one_of(
    st.text(max_size=8),
    st.integers(-10, 20),
    st.floats(allow_nan=False),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
PATHS = st.sampled_from(
    [
        ["project", "tasks"],
        ["project", "stage"],
        ["project", "model_size"],
        ["deployment", "targets"],
        ["hardware", "scale"],
        ["priorities", "ecosystem"],
        ["team", "experience", "mxnet"],
        ["constraints", "require_maintained"],
        ["project", "unknown_field"],
        ["surprise"],
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALID, PATHS, JUNK)
def test_invalid_questionnaires_fail_with_one_line_naming_the_field(
    data: dict[str, Any], path: list[str], junk: Any
) -> None:
    corrupted = _corrupt(data, path, junk)
    try:
        requirements = validate_answers(corrupted, "answers.toml")
    except AnswersError as error:
        message = str(error)
        assert "\n" not in message
        assert message.startswith("answers.toml: ")
        assert any(part in message for part in path)
    else:  # the junk happened to be valid for that field
        recommend(requirements)
