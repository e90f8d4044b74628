"""The condition language of rules and next steps: what each operator means on real answers, and
the exact message a condition that misfits the questionnaire fails with (in-process, no files)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from advisor.core.conditions import (
    Condition,
    ConditionError,
    FieldTest,
    compile_condition,
    fields_named,
    substitute,
)
from advisor.core.in_force import knowledge_in_force
from advisor.core.questionnaire import Requirements
from advisor.core.registry import Registry

CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return knowledge_in_force().registry


def cond(data: dict[str, Any]) -> Any:
    return CONDITION.validate_python(data)


def answers(**sections: Any) -> Requirements:
    data: dict[str, Any] = {"project": {"tasks": ["nlp"]}}
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return Requirements.model_validate(data)


def holds(data: dict[str, Any] | None, r: Requirements, registry: Registry | None = None) -> bool:
    return compile_condition(None if data is None else cond(data), registry)(r)


# --- what each operator means ------------------------------------------------------------------

TARGETS = "deployment.targets"


@pytest.mark.parametrize(
    ("test", "targets", "expected"),
    [
        ({"contains": "mobile"}, ["mobile", "browser"], True),
        ({"contains": "mobile"}, ["browser"], False),
        ({"contains_any": ["mobile", "edge_device"]}, ["edge_device"], True),
        ({"contains_any": ["mobile", "edge_device"]}, ["browser", "cloud_server"], False),
        ({"subset_of": ["cloud_server", "on_prem_server"]}, ["on_prem_server"], True),
        ({"subset_of": ["cloud_server", "on_prem_server"]}, ["cloud_server", "mobile"], False),
    ],
)
def test_list_operators(test: dict[str, Any], targets: list[str], expected: bool) -> None:
    r = answers(deployment={"targets": targets})
    assert holds({"field": TARGETS, **test}, r) is expected


@pytest.mark.parametrize(
    ("test", "stage", "expected"),
    [
        ({"equals": "research"}, "research", True),
        ({"equals": "research"}, "production", False),
        ({"in": ["research", "prototype"]}, "prototype", True),
        ({"in": ["research", "prototype"]}, "production", False),
    ],
)
def test_scalar_operators(test: dict[str, Any], stage: str, expected: bool) -> None:
    assert holds({"field": "project.stage", **test}, answers(project={"stage": stage})) is expected


@pytest.mark.parametrize(
    ("op", "bound", "size", "expected"),
    [
        ("at_least", "large", "medium", False),
        ("at_least", "large", "large", True),  # the bound itself counts
        ("at_least", "large", "very_large", True),
        ("at_least", "medium", "small", False),
        ("at_most", "medium", "small", True),
        ("at_most", "medium", "medium", True),
        ("at_most", "medium", "large", False),
    ],
)
def test_ordered_enums_compare_in_declaration_order(
    op: str, bound: str, size: str, expected: bool
) -> None:
    r = answers(project={"model_size": size})
    assert holds({"field": "project.model_size", op: bound}, r) is expected


@pytest.mark.parametrize(
    ("op", "bound", "priority", "expected"),
    [
        ("at_least", 4, 3, False),
        ("at_least", 4, 4, True),
        ("at_least", 4, 5, True),
        ("at_most", 1, 0, True),
        ("at_most", 1, 1, True),
        ("at_most", 1, 2, False),
        ("at_most", 0, 0, True),  # 0 is a bound, not "no operator"
    ],
)
def test_ordered_integers(op: str, bound: int, priority: int, expected: bool) -> None:
    r = answers(priorities={"deployment": priority})
    assert holds({"field": "priorities.deployment", op: bound}, r) is expected


def test_a_boolean_field_equals_false() -> None:
    """False is an operand, not a missing one."""
    test = {"field": "project.pretrained_models", "equals": False}
    assert holds(test, answers()) is True
    assert holds(test, answers(project={"pretrained_models": True})) is False


def test_framework_keyed_tables_read_a_framework_left_out_as_none(registry: Registry) -> None:
    some_jax = answers(team={"experience": {"jax": "some"}})
    assert holds({"field": "team.experience.jax", "equals": "some"}, some_jax, registry)
    assert holds({"field": "team.experience.pytorch", "equals": "none"}, some_jax, registry)
    assert not holds({"field": "team.experience.pytorch", "at_least": "some"}, some_jax, registry)
    assert holds({"field": "team.experience.jax", "at_least": "some"}, some_jax, registry)
    assert not holds({"field": "team.experience.jax", "at_least": "expert"}, some_jax, registry)
    assert holds({"field": "team.experience.jax", "at_most": "some"}, some_jax, registry)


def test_framework_aliases_in_conditions_are_stored_as_ids(registry: Registry) -> None:
    r = answers(constraints={"exclude": ["pytorch"]})
    assert holds({"field": "constraints.exclude", "contains": "torch"}, r, registry)


def test_combinators() -> None:
    r = answers(project={"stage": "research"}, deployment={"targets": ["mobile"]})
    research = {"field": "project.stage", "equals": "research"}
    production = {"field": "project.stage", "equals": "production"}
    mobile = {"field": TARGETS, "contains": "mobile"}
    assert holds({"all": [research, mobile]}, r)
    assert not holds({"all": [research, production]}, r)
    assert holds({"any": [production, mobile]}, r)
    assert not holds({"any": [production, {"not": mobile}]}, r)
    assert holds({"not": production}, r)
    assert not holds({"not": research}, r)
    assert holds(None, r)  # no condition: always
    assert holds({"all": [{"any": [production, research]}, {"not": {"not": mobile}}]}, r)


def test_empty_combinators_are_rejected() -> None:
    for data in ({"all": []}, {"any": []}):
        with pytest.raises(ValidationError):
            cond(data)
    with pytest.raises(ValidationError):
        cond({"field": "project.stage", "equals": "research", "colour": "red"})


def test_compiled_conditions_survive_pickling() -> None:
    """The compiled knowledge is cached as a pickle: predicates must come back working."""
    r = answers(project={"stage": "research"}, deployment={"targets": ["mobile"]})
    data = {"all": [{"field": "project.stage", "in": ["research"]},
                    {"not": {"field": TARGETS, "contains": "browser"}},
                    {"any": [{"field": "priorities.deployment", "at_least": 3}]}]}  # fmt: skip
    predicate = pickle.loads(pickle.dumps(compile_condition(cond(data))))
    assert predicate(r) is True
    assert predicate(answers(project={"stage": "production"})) is False


# --- conditions that misfit the questionnaire: each fails with a message naming what is wrong ----

KNOWN = "tensorflow, pytorch, jax, keras, mxnet"
ONE_OP = (
    "needs exactly one operator (equals, in, contains, contains_any, subset_of, at_least, at_most)"
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"field": "deployment.target", "contains": "mobile"},
         "'deployment.target' is not a questionnaire field (did you mean 'deployment.targets'?)"),
        ({"field": "team.languges", "contains": "python"},
         "'team.languges' is not a questionnaire field (did you mean 'team.languages'?)"),
        ({"field": "nothing.here", "equals": 1}, "'nothing.here' is not a questionnaire field"),
        ({"field": "team.x.y", "equals": 1}, "'team.x.y' is not a questionnaire field"),
        ({"field": "project", "equals": 1}, "'project' is a section, not a field"),
        ({"field": "project.stage.x", "equals": 1}, "'project.stage' has no sub-fields"),
        ({"field": "team.experience.caffe", "equals": "some"},
         f"'team.experience.caffe': unknown framework 'caffe' (known: {KNOWN})"),
        ({"field": "team.experience.pytorch.x", "equals": "some"},
         "'team.experience.pytorch' has no sub-fields"),
        ({"field": TARGETS, "contains": "smartwatch"},
         "'smartwatch' is not a valid value of 'deployment.targets' (allowed: cloud_server, "
         "on_prem_server, mobile, browser, edge_device, microcontroller, none)"),
        ({"field": TARGETS, "contains_any": ["mobile", "smartwatch"]},
         "'smartwatch' is not a valid value of 'deployment.targets'"),
        ({"field": "project.stage", "in": ["research", "done"]},
         "'done' is not a valid value of 'project.stage' (allowed: research, prototype, "
         "production)"),
        ({"field": "priorities.deployment", "equals": "x"},
         "'x' is not a valid value of 'priorities.deployment' (Input should be a valid integer"),
        ({"field": "priorities.deployment", "at_least": 6},
         "6 is not a valid value of 'priorities.deployment' (Input should be less than or equal to 5)"),
        ({"field": "priorities.deployment", "at_most": -1},
         "-1 is not a valid value of 'priorities.deployment' (Input should be greater than or equal to 0)"),
        ({"field": "priorities.deployment", "equals": "3"},  # strict, as the questionnaire is
         "'3' is not a valid value of 'priorities.deployment' (Input should be a valid integer)"),
        ({"field": "constraints.exclude", "contains": "caffe"},
         f"'caffe' is not a valid value of 'constraints.exclude' (unknown framework 'caffe'; allowed: {KNOWN})"),
        ({"field": "project.stage", "contains": "research"},
         "'contains' needs a list field; 'project.stage' is a single value"),
        ({"field": "project.stage", "subset_of": ["research"]},
         "'subset_of' needs a list field; 'project.stage' is a single value"),
        ({"field": TARGETS, "equals": "mobile"},
         "'equals' needs a single-valued field; 'deployment.targets' is a list "
         "(use contains, contains_any or subset_of)"),
        ({"field": TARGETS, "at_least": "mobile"},
         "'at_least' needs a single-valued field; 'deployment.targets' is a list"),
        ({"field": "project.pretrained_models", "at_least": True},
         "'at_least' needs an ordered field (a number or ranked choice); "
         "'project.pretrained_models' is not"),
        ({"field": "team.existing_codebase", "at_most": "none"},
         "'at_most' needs an ordered field (a number or ranked choice); "
         "'team.existing_codebase' is not"),
        ({"field": "project.stage"}, f"condition on 'project.stage' {ONE_OP}; got none"),
        ({"field": "project.stage", "equals": "research", "in": ["prototype"]},
         f"condition on 'project.stage' {ONE_OP}; got equals, in"),
        ({"field": "priorities.deployment", "at_least": 1, "at_most": 4},
         f"condition on 'priorities.deployment' {ONE_OP}; got at_least, at_most"),
        ({"any": [{"field": "project.stage", "equals": "research"},
                  {"not": {"field": "project.stag", "equals": "research"}}]},
         "'project.stag' is not a questionnaire field (did you mean 'project.stage'?)"),
    ],
)  # fmt: skip
def test_a_misfit_condition_names_what_is_wrong(
    data: dict[str, Any], message: str, registry: Registry
) -> None:
    with pytest.raises(ConditionError) as error:
        compile_condition(cond(data), registry)
    assert str(error.value).startswith(message), str(error.value)


def test_every_operator_given_is_named() -> None:
    test = FieldTest.model_validate(
        {"field": "f", "equals": 1, "in": [1], "contains": 1, "contains_any": [1],
         "subset_of": [1], "at_least": 1, "at_most": 1}
    )  # fmt: skip
    with pytest.raises(ConditionError) as error:
        test.operator()
    assert str(error.value).endswith(
        "got equals, in, contains, contains_any, subset_of, at_least, at_most"
    )
    assert FieldTest.model_validate({"field": "f", "at_most": 0}).operator() == ("at_most", 0)
    assert FieldTest.model_validate({"field": "f", "in": []}).operator() == ("in", [])


def test_without_a_registry_framework_keys_are_not_checked() -> None:
    """Unit use: no registry, no framework check; the absent framework still reads as none."""
    predicate = compile_condition(cond({"field": "team.experience.caffe", "equals": "none"}))
    assert predicate(answers()) is True


# --- helpers -------------------------------------------------------------------------------------


def test_substitute_replaces_in_every_string_and_leaves_the_rest() -> None:
    data = {
        "id": "x-{framework}",
        "when": {"all": [{"field": "team.experience.{framework}", "at_least": "some"}]},
        "delta": 1.5,
        "flag": True,
        "list": ["{framework}", 3, ["{framework}-{framework}"]],
        "{framework}": "key untouched",
    }
    assert substitute(data, "{framework}", "jax") == {
        "id": "x-jax",
        "when": {"all": [{"field": "team.experience.jax", "at_least": "some"}]},
        "delta": 1.5,
        "flag": True,
        "list": ["jax", 3, ["jax-jax"]],
        "{framework}": "key untouched",
    }
    assert substitute(7, "{framework}", "jax") == 7


def test_fields_named_lists_every_field_read_in_order() -> None:
    data = {"all": [{"field": "project.stage", "equals": "research"},
                    {"any": [{"field": TARGETS, "contains": "mobile"},
                             {"not": {"field": "priorities.deployment", "at_least": 4}}]},
                    {"field": "project.stage", "in": ["prototype"]}]}  # fmt: skip
    assert list(fields_named(cond(data))) == [
        "project.stage",
        TARGETS,
        "priorities.deployment",
        "project.stage",
    ]
    assert list(fields_named(None)) == []
    assert list(fields_named(cond({"not": {"field": "hardware.os", "contains": "linux"}}))) == [
        "hardware.os"
    ]


def test_a_field_with_no_close_match_gets_no_suggestion(registry: Registry) -> None:
    for path in ("nothing.here", "team.x.y"):
        with pytest.raises(ConditionError) as error:
            compile_condition(cond({"field": path, "equals": 1}), registry)
        assert str(error.value) == f"'{path}' is not a questionnaire field"


@pytest.mark.parametrize("wrap", ["all", "any", "not"])
def test_the_registry_reaches_every_nested_condition(wrap: str, registry: Registry) -> None:
    inner = {"field": "team.experience.caffe", "equals": "some"}
    data = {"not": inner} if wrap == "not" else {wrap: [{"not": inner}]}
    with pytest.raises(ConditionError, match="unknown framework 'caffe'"):
        compile_condition(cond(data), registry)
