"""Read questionnaire answers from TOML, JSON or command-line flags, and write them back as TOML.

Every failure becomes one `AnswersError` line that names the file, the field and what is allowed,
because the people filling questionnaires are not reading tracebacks.
"""

from __future__ import annotations

import enum
import json
import typing
from collections.abc import Mapping
from typing import Any

import tomllib
from pydantic import BaseModel, ValidationError

from advisor.core.questionnaire import Requirements
from advisor.core.registry import Registry


class AnswersError(ValueError):
    """Answers that cannot be read or do not fit the questionnaire; the message is one line."""


def _model_at(loc: tuple[int | str, ...]) -> tuple[type[BaseModel] | None, Any]:
    """The model owning the field at `loc` and that field's annotation (None where unknown)."""
    model: type[BaseModel] = Requirements
    annotation: Any = None
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return model, None
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return model, annotation
    return model, annotation


def _enum_of(annotation: Any) -> type[enum.Enum] | None:
    if typing.get_origin(annotation) is list:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation
    return None


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def describe_error(error: Mapping[str, Any]) -> str:
    """One pydantic error as 'field: problem (allowed: ...)'."""
    loc = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    value = error.get("input")
    where = _path(loc)
    if kind == "extra_forbidden":
        parent, _ = _model_at(loc[:-1])
        allowed = ", ".join(parent.model_fields) if parent else ""
        return f"{where}: unknown field (allowed here: {allowed})"
    if kind == "missing":
        return f"{where}: required, but missing"
    _, annotation = _model_at(loc)
    choices = _enum_of(annotation)
    if kind == "enum" and choices is not None:
        allowed = ", ".join(str(m.value) for m in choices)
        return f"{where}: {value!r} is not allowed (allowed: {allowed})"
    if kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        return f"{where}: {value!r} is out of range (allowed: 0 to 5)"
    if kind == "literal_error":
        return f"{where}: {value!r} is not supported ({error.get('msg', '')})"
    if kind == "too_short":
        return f"{where}: needs at least one value"
    if kind in ("framework", "codebase"):  # registry names: the message lists what is allowed
        return f"{where}: {error.get('msg', 'invalid')}"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message} (got {value!r})"


def validate_answers(data: Any, origin: str, registry: Registry | None = None) -> Requirements:
    """Validate parsed answers, turning the first problem into an AnswersError.

    Framework names are checked against `registry` (default: the registry in force).
    """
    if not isinstance(data, dict):
        raise AnswersError(f"{origin}: the answers must be a table/object at the top level")
    try:
        return Requirements.model_validate(
            data, context={"registry": registry} if registry is not None else None
        )
    except ValidationError as error:
        errors = error.errors()
        more = (
            f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
            if len(errors) > 1
            else ""
        )
        raise AnswersError(f"{origin}: {describe_error(errors[0])}{more}") from None


def parse_answers(text: str, fmt: str, origin: str = "answers") -> dict[str, Any]:
    """Parse TOML or JSON text into a dict, with syntax errors reported by line."""
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise AnswersError(
                f"{origin}: invalid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
            ) from None
        if not isinstance(data, dict):
            raise AnswersError(f"{origin}: the answers must be a JSON object")
        return data
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise AnswersError(f"{origin}: invalid TOML: {error}") from None


def merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Set dotted paths ('deployment.targets') in a nested answers dict, returning a new dict."""
    result: dict[str, Any] = json.loads(json.dumps(base))
    for dotted, value in overrides.items():
        node = result
        *parents, leaf = dotted.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[leaf] = value
    return result


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, enum.Enum):
        return json.dumps(value.value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def dump_toml(requirements: Requirements) -> str:
    """The answers as a TOML questionnaire the CLI, the UI and team tooling all read."""
    data = requirements.model_dump(mode="json")
    lines = [f"schema_version = {data.pop('schema_version')}"]

    def section(name: str, table: dict[str, Any]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        lines.append("")
        lines.append(f"[{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in scalars.items())
        for key, sub in table.items():
            if isinstance(sub, dict):
                section(f"{name}.{key}", sub)

    for name, table in data.items():
        section(name, table)
    return "\n".join(lines) + "\n"
