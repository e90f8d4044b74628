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
    assert describe_error({"loc": ("colour",), "type": "extra_forbidden"}) == (
        "colour: unknown field (allowed here: schema_version, project, deployment, hardware, "
        "team, priorities, constraints)"
    )  # an unknown section lists the sections
    assert describe_error({"loc": ("project", "stage"), "type": "new"}) == (
        "project.stage: invalid (got None)"
    )  # an error without its message or value
    merged.pop("when")
    assert validate_answers(merged, "m").priorities.deployment == 5


# --- size limits at their edges ------------------------------------------------------------------


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        node = {"x": node}
    return node


def test_limits_hold_up_to_their_edge() -> None:
    at_edge = {
        "list": [1] * mod.MAX_ITEMS,
        "table": {str(i): 1 for i in range(mod.MAX_ITEMS)},
        "text": "y" * mod.MAX_STRING_CHARS,
        "k" * mod.MAX_STRING_CHARS: True,
        "big": mod.MAX_INT,
        "small": -mod.MAX_INT,
        "float": 1e300,
        "deep": _nested(mod.MAX_DEPTH - 1),
        "flag": False,
        "when": datetime.date(2026, 1, 1),
    }
    assert check_limits(at_edge) == []
    assert check_limits([{"a": 1}, ("b",)]) == []


def test_limits_name_every_place_beyond_them() -> None:
    beyond = {
        ("k" * 201): 1,
        "a": list(range(201)),
        "b": "x" * 201,
        "c": 10**9 + 1,
        "d": float("nan"),
        "e": {str(i): 1 for i in range(201)},
        "f": [float("-inf")],
        "g": -(10**9) - 1,
        "h": _nested(mod.MAX_DEPTH),
    }
    assert check_limits(beyond) == [
        "(top level): a key longer than 200 characters",
        "a: 201 items (at most 200)",
        "b: a string of 201 characters (at most 200)",
        "c: an integer beyond ±1,000,000,000",
        "d: nan is not a number",
        "e: 201 entries (at most 200)",
        "f[0]: -inf is not a number",
        "g: an integer beyond ±1,000,000,000",
        "h.x.x.x.x.x.x.x.leaf: nested more than 8 levels deep",
    ]
    assert check_limits({1: "a"}) == ["(top level): a key longer than 200 characters"]


def test_limits_are_checked_before_the_model_and_counted_beyond_twenty() -> None:
    data = {**NLP, "team": {"languages": ["x" * 300] * 3}}
    assert message(data) == (
        "a.toml: team.languages[0]: a string of 300 characters (at most 200); "
        "team.languages[1]: a string of 300 characters (at most 200); "
        "team.languages[2]: a string of 300 characters (at most 200)"
    )
    many = {**NLP, "priorities": {f"p{i}": 10**10 for i in range(22)}}
    text = message(many)
    assert text.startswith("a.toml: priorities.p0: an integer beyond ±1,000,000,000; ")
    assert text.count("an integer beyond") == mod.MAX_LISTED
    assert text.endswith("; and 2 more problems")
    one_more = {**NLP, "priorities": {f"p{i}": 10**10 for i in range(21)}}
    assert message(one_more).endswith(
        "priorities.p19: an integer beyond ±1,000,000,000; and 1 more problem"
    )
    exactly = {**NLP, "priorities": {f"p{i}": 10**10 for i in range(20)}}
    assert "more problem" not in message(exactly)


def test_model_problems_are_listed_once_each_beyond_twenty_counted() -> None:
    data = {"project": {"tasks": ["nlp"]}, **{f"x{i}": 1 for i in range(23)}}
    text = message(data)
    assert text.count("unknown field") == 20 and text.endswith("; and 3 more problems")
    twice = {"project": {"tasks": ["poetry", "poetry"]}}
    assert message(twice).count("is not allowed") == 2  # two places, two lines
    assert message({**NLP, "extra": 1, "more": 2}).count("; ") == 1


# --- values shown in messages --------------------------------------------------------------------


def test_values_are_shown_short_and_safe() -> None:
    assert mod._show("ok") == "'ok'"
    assert mod._show(10**9) == "1000000000"
    assert mod._show(-(10**9) - 1) == "a too large integer"
    assert mod._show(True) == "True"
    assert mod._show(datetime.date(2026, 1, 2)) == "the date 2026-01-02"
    assert mod._show(datetime.time(1, 2)) == "the time 01:02:00"
    assert mod._show([10**5000]) == "a value too large to show"
    eighty = ["x" * 23, "y" * 23, "z" * 22]  # its repr is 80 characters: shown whole
    assert mod._show(eighty) == repr(eighty) and len(repr(eighty)) == 80
    longer = ["x" * 23, "y" * 23, "z" * 23]  # 81: cut to 77 and "..."
    assert mod._show(longer) == repr(longer)[:77] + "..."
    long = mod._show({"a" * 25: "b" * 25, "c" * 25: "d" * 25})
    assert len(long) == 80 and long.endswith("...") and long.startswith("{'aaaa")
    assert mod._show("z" * 100) == "'zzzzzzzzzzzz...zzzzzzzzzzzzz'"  # reprlib shortens


def test_a_date_where_a_value_belongs_is_named_as_a_date() -> None:
    data = {"project": {"tasks": ["nlp"], "stage": datetime.date(2026, 1, 2)}}
    assert message(data) == (
        "a.toml: project.stage: the date 2026-01-02 is not allowed "
        "(allowed: research, prototype, production)"
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"loc": ("priorities", "x"), "type": "extra_forbidden"},
         "priorities.x: unknown field (allowed here: development_speed, runtime_performance, "
         "memory_efficiency, distributed_training, deployment, ecosystem, hardware_support, "
         "language_support, long_term_support, team_fit)"),
        ({"loc": ("team", "languages", 1), "type": "enum", "input": "cobol"},
         "team.languages[1]: 'cobol' is not allowed (allowed: python, cpp, java, javascript, "
         "scala, julia, r, go, other)"),
        ({"loc": ("priorities", "team_fit"), "type": "less_than", "input": 9},
         "priorities.team_fit: 9 is out of range (allowed: 0 to 5)"),
        ({"loc": ("priorities", "team_fit"), "type": "greater_than", "input": -9},
         "priorities.team_fit: -9 is out of range (allowed: 0 to 5)"),
        ({"loc": ("project", "stage"), "type": "enum", "input": "x", "msg": "m"},
         "project.stage: 'x' is not allowed (allowed: research, prototype, production)"),
        ({"loc": ("project", "nope"), "type": "enum", "input": "x", "msg": "Input bad"},
         "project.nope: Input bad (got 'x')"),
        ({"loc": ("schema_version",), "type": "literal_error", "input": 3},
         "schema_version: 3 is not supported ()"),
        ({"loc": ("constraints", "exclude", 0), "type": "framework"},
         "constraints.exclude[0]: invalid"),
        ({"loc": ("team", "existing_codebase"), "type": "codebase", "msg": "bad codebase"},
         "team.existing_codebase: bad codebase"),
        ({"loc": (), "type": "model_type", "msg": "Value error, not a table", "input": 1},
         "(top level): not a table (got 1)"),
        ({"type": "missing"}, "(top level): required, but missing"),
        ({"loc": ("nope", "deeper"), "type": "extra_forbidden"},
         "nope.deeper: unknown field (allowed here: schema_version, project, deployment, "
         "hardware, team, priorities, constraints)"),
        # the fields listed are those of the table holding the unknown one, even where its
        # name is a section's: never the section's own fields
        ({"loc": ("deployment",), "type": "extra_forbidden"},
         "deployment: unknown field (allowed here: schema_version, project, deployment, "
         "hardware, team, priorities, constraints)"),
    ],
)  # fmt: skip
def test_describe_error(error: dict[str, Any], expected: str) -> None:
    assert describe_error(error) == expected


# --- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("a = ", "toml", "x.toml: invalid TOML: Invalid value (at end of document)"),
        ('{"a": 1, "a": 2}', "json", "x.toml: invalid JSON: duplicate key 'a'"),
        ("[1]", "json", "x.toml: the answers must be a JSON object"),
        ("{bad", "json",
         "x.toml: invalid JSON: Expecting property name enclosed in double quotes "
         "(line 1, column 2)"),
        ("{\n\n  1}", "json",
         "x.toml: invalid JSON: Expecting property name enclosed in double quotes "
         "(line 3, column 3)"),
        ("[" * 100_000, "json", "x.toml: invalid JSON: nested too deeply"),
        ("a = " + "[" * 100_000, "toml", "x.toml: invalid TOML: nested too deeply"),
        ("a = 1" + "0" * 5000, "toml", "x.toml: invalid TOML: Exceeds the limit"),
        ('{"a": 1' + "0" * 5000 + "}", "json", "x.toml: invalid JSON: Exceeds the limit"),
        ('a = "\ud800"', "toml", "x.toml: not UTF-8 text"),
        ("x" * (mod.MAX_TEXT_CHARS + 1), "toml",
         "x.toml: 1,000,001 characters; an answers file is at most 1,000,000"),
    ],
)  # fmt: skip
def test_parse_errors_are_one_line_with_origin(text: str, fmt: str, expected: str) -> None:
    with pytest.raises(AnswersError) as error:
        parse_answers(text, fmt, "x.toml")
    assert str(error.value).startswith(expected), str(error.value)


def test_parse_accepts_a_byte_order_mark_and_text_at_the_limit() -> None:
    assert parse_answers('\ufeff{"a": 1}', "json") == {"a": 1}
    assert parse_answers("\ufeffa = 1\n", "toml") == {"a": 1}
    padding = "#" + "x" * (mod.MAX_TEXT_CHARS - 8) + "\na = 1\n"
    assert len(padding) == mod.MAX_TEXT_CHARS
    assert parse_answers(padding, "toml") == {"a": 1}
    with pytest.raises(AnswersError, match=r"^answers: invalid JSON"):
        parse_answers("{", "json")
    assert parse_answers('{"a": {"b": [1, 2]}}', "json") == {"a": {"b": [1, 2]}}


# --- merging and writing back --------------------------------------------------------------------


def test_merge_replaces_a_scalar_on_the_way_with_a_table() -> None:
    assert merge({"a": 1, "b": 2}, {"a.b.c": 3}) == {"a": {"b": {"c": 3}}, "b": 2}
    assert merge({}, {"x": [1]}) == {"x": [1]}
    base: dict[str, Any] = {"a": {"b": [1]}}
    merged = merge(base, {"a.c": 2})
    merged["a"]["b"].append(2)
    assert base == {"a": {"b": [1]}}  # a deep copy


def test_merge_of_answers_nested_too_deeply_is_an_answers_error() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(AnswersError, match=r"^answers: nested too deeply$"):
        merge({"a": deep}, {})


def test_dump_toml_writes_every_section_in_order() -> None:
    r = validate_answers(
        {"project": {"tasks": ["nlp", "tabular"], "pretrained_models": True},
         "team": {"experience": {"jax": "expert", "pytorch": "none"}},
         "priorities": {"deployment": 0}}, "x")  # fmt: skip
    text = dump_toml(r)
    assert text.startswith('schema_version = 1\n\n[project]\ntasks = ["nlp", "tabular"]\n')
    assert "pretrained_models = true\n" in text and "latency_critical = false\n" in text
    assert (
        '[team]\nlanguages = ["python"]\nexisting_codebase = "none"\n\n[team.experience]\njax = "expert"\n'
        in text
    )
    assert "deployment = 0\n" in text and text.endswith("require_maintained = false\n")
    sections = [line for line in text.splitlines() if line.startswith("[")]
    assert sections == ["[project]", "[deployment]", "[hardware]", "[team]", "[team.experience]",
                        "[priorities]", "[constraints]"]  # fmt: skip
    assert mod._toml_value(1.5) == "1.5" and mod._toml_value('a"b') == '"a\\"b"'
    assert mod._toml_value([1, "x", False]) == '[1, "x", false]'


def test_toml_values_of_every_type() -> None:
    from advisor.core.questionnaire import Experience, Task

    assert mod._toml_value(Task.NLP) == '"nlp"'
    assert mod._toml_value([Task.NLP, Experience.SOME]) == '["nlp", "some"]'
    assert mod._toml_value(3) == "3" and mod._toml_value(False) == "false"
