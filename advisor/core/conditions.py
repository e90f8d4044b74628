"""Rule conditions as data: a small, closed language over questionnaire fields.

Conditions are TOML tables, never Python or eval'd strings, so knowledge files stay reviewable and
safe. Every field path and value is checked against the questionnaire model when the knowledge
loads; a rule that names a field or value the questionnaire lacks fails there, with its id, instead
of silently never firing.

Forms (one operator per table):
    {field = "deployment.targets", contains = "mobile"}      list field holds the value
    {field = "deployment.targets", contains_any = [...]}     list field holds one of the values
    {field = "hardware.accelerators", subset_of = [...]}     list field holds only these values
    {field = "project.stage", equals = "research"}           scalar field equals the value
    {field = "project.stage", in = ["prototype", "research"]}
    {field = "project.model_size", at_least = "large"}       ordered enums (declaration order), ints
    {field = "priorities.deployment", at_most = 1}
    {all = [...]}, {any = [...]}, {not = {...}}
    {every_framework = {...}}, {any_framework = {...}}  the condition with {framework} replaced
                                                         by each registered framework (knowledge)
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from advisor.core.questionnaire import Requirements
from advisor.core.registry import Registry


class ConditionError(ValueError):
    """A condition that does not fit the questionnaire; the message names the field or value."""


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class FieldTest(_Node):
    field: str
    equals: Any = None
    in_: list[Any] | None = Field(None, alias="in")
    contains: Any = None
    contains_any: list[Any] | None = None
    subset_of: list[Any] | None = None
    at_least: Any = None
    at_most: Any = None

    def operator(self) -> tuple[str, Any]:
        given = [
            (name, value)
            for name, value in (
                ("equals", self.equals),
                ("in", self.in_),
                ("contains", self.contains),
                ("contains_any", self.contains_any),
                ("subset_of", self.subset_of),
                ("at_least", self.at_least),
                ("at_most", self.at_most),
            )
            if value is not None
        ]
        if len(given) != 1:
            names = ", ".join(name for name, _ in given) or "none"
            raise ConditionError(
                f"condition on '{self.field}' needs exactly one operator "
                f"(equals, in, contains, contains_any, subset_of, at_least, at_most); got {names}"
            )
        return given[0]


class AllOf(_Node):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Node):
    any: list[Condition] = Field(min_length=1)


class Not(_Node):
    not_: Condition = Field(alias="not")


Condition = Union[FieldTest, AllOf, AnyOf, Not]  # noqa: UP007 - a recursive alias needs Union
# (the forward references to Condition resolve when a schema is first built: defer_build keeps
# that off the import path of every CLI command)


class Predicate(Protocol):
    """A compiled condition: does it hold for these answers?"""

    def __call__(self, requirements: Requirements, /) -> bool: ...


def _field_type(path: str, registry: Registry | None = None) -> Any:
    """The annotation of a dotted questionnaire field, or a ConditionError naming the bad part.

    A table keyed by framework (`team.experience`) takes the framework id as the next part:
    `team.experience.pytorch`; the id must be in the registry.
    """
    model: type[BaseModel] = Requirements
    parts = path.split(".")
    annotation: Any = None
    metadata: list[Any] = []
    for depth, part in enumerate(parts):
        if typing.get_origin(annotation) is dict:
            if registry is not None and part not in registry:
                raise ConditionError(
                    f"'{path}': unknown framework '{part}' (known: {', '.join(registry)})"
                )
            annotation = typing.get_args(annotation)[1]
            metadata = []
            if depth < len(parts) - 1:
                raise ConditionError(f"'{'.'.join(parts[: depth + 1])}' has no sub-fields")
            break
        fields = model.model_fields
        if part not in fields:
            known = [".".join([*parts[:depth], name]) for name in fields]
            import difflib  # only on the error path

            hint = difflib.get_close_matches(path, known, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConditionError(f"'{path}' is not a questionnaire field{suggestion}")
        annotation = fields[part].annotation
        metadata = fields[part].metadata
        if depth < len(parts) - 1:
            if typing.get_origin(annotation) is dict:
                continue
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                raise ConditionError(f"'{'.'.join(parts[: depth + 1])}' has no sub-fields")
            model = annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        raise ConditionError(f"'{path}' is a section, not a field")
    if metadata and _item_type(annotation) is None:
        # A scalar's constraints (a priority's 0 to 5, strict) check operands too: pydantic keeps
        # them apart from the annotation, and without them `at_least = 6` loaded and never held.
        return typing.Annotated[(annotation, *metadata)]
    return annotation


def _item_type(annotation: Any) -> Any | None:
    """The element type of a list field, or None for scalar fields."""
    if typing.get_origin(annotation) is list:
        return typing.get_args(annotation)[0]
    return None


def _base_type(annotation: Any) -> Any:
    """Strip Annotated[...] so ordering checks see the underlying int or enum."""
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def _coerce(annotation: Any, value: Any, path: str, registry: Registry | None) -> Any:
    from pydantic import TypeAdapter  # only when knowledge is (re)built, not on a cached start

    context = {"registry": registry} if registry is not None else None
    try:
        return TypeAdapter(annotation).validate_python(value, context=context)
    except ValidationError as error:
        base = _base_type(annotation)
        if isinstance(base, type) and issubclass(base, enum.Enum):
            detail = "allowed: " + ", ".join(str(m.value) for m in base)
        else:
            detail = error.errors()[0]["msg"]
        raise ConditionError(f"{value!r} is not a valid value of '{path}' ({detail})") from None


def _rank(value: Any) -> int:
    if isinstance(value, enum.Enum):
        return list(type(value)).index(value)
    return int(value)


# The compiled forms are named tuples: immutable, picklable (so compiled knowledge can be cached)
# and far cheaper to define at import than frozen dataclasses, which a cold CLI start pays for.
# They are only ever called, never compared (as tuples, _All(x) would equal _Any(x)).


class _Field(NamedTuple):
    """Read a dotted field of the answers; in a table keyed by framework, a framework the
    answers leave out reads as `missing` (e.g. experience "none")."""

    parts: tuple[str, ...]
    missing: Any = None

    def __call__(self, requirements: Requirements) -> Any:
        value: Any = requirements
        for part in self.parts:
            value = (
                value.get(part, self.missing) if isinstance(value, dict) else getattr(value, part)
            )
        return value


class _Test(NamedTuple):
    """One compiled field test: `field <op> operand`, the operand already coerced."""

    get: _Field
    op: str
    operand: Any

    def __call__(self, r: Requirements) -> bool:
        value, operand = self.get(r), self.operand
        if self.op == "contains":
            return bool(operand in value)
        if self.op == "contains_any":
            return not operand.isdisjoint(value)
        if self.op == "subset_of":
            return bool(operand.issuperset(value))
        if self.op == "equals":
            return bool(value == operand)
        if self.op == "in":
            return bool(value in operand)
        if self.op == "at_least":
            return _rank(value) >= int(operand)
        return _rank(value) <= int(operand)


class _All(NamedTuple):
    parts: tuple[Predicate, ...]

    def __call__(self, r: Requirements) -> bool:
        return all(p(r) for p in self.parts)


class _Any(NamedTuple):
    parts: tuple[Predicate, ...]

    def __call__(self, r: Requirements) -> bool:
        return any(p(r) for p in self.parts)


class _Not(NamedTuple):
    inner: Predicate

    def __call__(self, r: Requirements) -> bool:
        return not self.inner(r)


class _Always(NamedTuple):
    def __call__(self, r: Requirements) -> bool:
        return True


def _missing_value(annotation: Any) -> Any:
    """What a framework-keyed table's absent entry means: the value type's first choice."""
    base = _base_type(annotation)
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return next(iter(base))
    return None


def _compile_field_test(test: FieldTest, registry: Registry | None) -> Predicate:
    operator, operand = test.operator()
    annotation = _field_type(test.field, registry)
    item = _item_type(annotation)
    get = _Field(tuple(test.field.split(".")), _missing_value(annotation))
    path = test.field

    def coerce(annotation: Any, value: Any) -> Any:
        return _coerce(annotation, value, path, registry)

    if operator in ("contains", "contains_any", "subset_of"):
        if item is None:
            raise ConditionError(f"'{operator}' needs a list field; '{path}' is a single value")
        if operator == "contains":
            return _Test(get, operator, coerce(item, operand))
        return _Test(get, operator, frozenset(coerce(item, v) for v in operand))

    if item is not None:
        raise ConditionError(
            f"'{operator}' needs a single-valued field; '{path}' is a list "
            "(use contains, contains_any or subset_of)"
        )
    if operator == "equals":
        return _Test(get, operator, coerce(annotation, operand))
    if operator == "in":
        return _Test(get, operator, frozenset(coerce(annotation, v) for v in operand))

    base = _base_type(annotation)
    if base is bool or not (
        base is int or (isinstance(base, type) and issubclass(base, enum.Enum))
    ):
        raise ConditionError(
            f"'{operator}' needs an ordered field (a number or ranked choice); '{path}' is not"
        )
    return _Test(get, operator, _rank(coerce(annotation, operand)))


def compile_condition(condition: Condition | None, registry: Registry | None = None) -> Predicate:
    """Turn a validated condition into a fast predicate; raise ConditionError if it misfits.

    Predicates are small frozen objects rather than closures, so a compiled knowledge base can be
    pickled into the user's cache and a cold CLI start skips parsing and validating it again.
    """
    if condition is None:
        return _Always()
    if isinstance(condition, FieldTest):
        return _compile_field_test(condition, registry)
    if isinstance(condition, AllOf):
        return _All(tuple(compile_condition(c, registry) for c in condition.all))
    if isinstance(condition, AnyOf):
        return _Any(tuple(compile_condition(c, registry) for c in condition.any))
    return _Not(compile_condition(condition.not_, registry))


def substitute(data: Any, placeholder: str, value: str) -> Any:
    """Replace a placeholder in every string of a TOML structure (used for per-framework rules)."""
    if isinstance(data, str):
        return data.replace(placeholder, value)
    if isinstance(data, dict):
        return {k: substitute(v, placeholder, value) for k, v in data.items()}
    if isinstance(data, list):
        return [substitute(v, placeholder, value) for v in data]
    return data


def fields_named(condition: Condition | None) -> Sequence[str]:
    """Every questionnaire field a condition reads, for docs and what-if search."""
    if condition is None:
        return []
    if isinstance(condition, FieldTest):
        return [condition.field]
    if isinstance(condition, AllOf):
        return [f for c in condition.all for f in fields_named(c)]
    if isinstance(condition, AnyOf):
        return [f for c in condition.any for f in fields_named(c)]
    return fields_named(condition.not_)


__all__ = [
    "AllOf",
    "AnyOf",
    "Condition",
    "ConditionError",
    "FieldTest",
    "Not",
    "Predicate",
    "compile_condition",
    "fields_named",
    "substitute",
]
