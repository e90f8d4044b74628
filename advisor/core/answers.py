"""Read questionnaire answers from TOML, JSON or command-line flags, and write them back as TOML.

Every failure becomes one `AnswersError` line that names the file, every field at fault and what
is allowed, because the people filling questionnaires are not reading tracebacks.

Limits, checked before validation so that no input can crash or flood the messages: text of at
most MAX_TEXT_CHARS, tables and arrays nested at most MAX_DEPTH deep with at most MAX_ITEMS
entries, strings and keys of at most MAX_STRING_CHARS, integers within ±MAX_INT. A UTF-8 byte
order mark is accepted (as the web page does); duplicate keys in JSON are an error, as TOML
already makes them.
"""

from __future__ import annotations

import copy
import datetime
import enum
import json
import math
import reprlib
import typing
from collections.abc import Mapping
from typing import Any

import tomllib
from pydantic import BaseModel, ValidationError

from advisor.core.questionnaire import Requirements
from advisor.core.registry import Registry


class AnswersError(ValueError):
    """Answers that cannot be read or do not fit the questionnaire; the message is one line."""


MAX_TEXT_CHARS = 1_000_000
MAX_DEPTH = 8
MAX_ITEMS = 200
MAX_STRING_CHARS = 200
MAX_INT = 10**9
MAX_LISTED = 20
"""problems named in one message; beyond, a count"""


def _show(value: Any) -> str:
    """A value for an error message: repr, cut short (a huge integer never reaches repr)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        return "a too large integer"
    if isinstance(value, datetime.date | datetime.time):  # TOML dates and times
        return f"the {type(value).__name__} {value.isoformat()}"
    try:
        text = reprlib.repr(value)
    except (ValueError, RecursionError):  # an integer of thousands of digits inside
        return "a value too large to show"
    return text if len(text) <= 80 else text[:77] + "..."


def check_limits(data: Any) -> list[str]:
    """Every place where parsed answers break a size limit, as 'path: problem'."""
    problems: list[str] = []
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(data, ())]
    while stack:
        node, loc = stack.pop()
        where = _path(loc)
        if len(loc) > MAX_DEPTH:
            problems.append(f"{where}: nested more than {MAX_DEPTH} levels deep")
            continue
        if isinstance(node, dict):
            if len(node) > MAX_ITEMS:
                problems.append(f"{where}: {len(node)} entries (at most {MAX_ITEMS})")
                continue
            for key in reversed(list(node)):
                if not isinstance(key, str) or len(key) > MAX_STRING_CHARS:
                    problems.append(f"{where}: a key longer than {MAX_STRING_CHARS} characters")
                    continue
                stack.append((node[key], (*loc, key)))
        elif isinstance(node, list | tuple):
            if len(node) > MAX_ITEMS:
                problems.append(f"{where}: {len(node)} items (at most {MAX_ITEMS})")
                continue
            stack.extend((child, (*loc, i)) for i, child in reversed(list(enumerate(node))))
        elif isinstance(node, str):
            if len(node) > MAX_STRING_CHARS:
                problems.append(
                    f"{where}: a string of {len(node):,} characters (at most {MAX_STRING_CHARS})"
                )
        elif isinstance(node, bool):
            pass
        elif isinstance(node, int):
            if abs(node) > MAX_INT:
                problems.append(f"{where}: an integer beyond ±{MAX_INT:,}")
        elif isinstance(node, float) and not math.isfinite(node):
            problems.append(f"{where}: {node!r} is not a number")
    return problems


def _listed(origin: str, problems: list[str]) -> str:
    shown = problems[:MAX_LISTED]
    more = len(problems) - len(shown)
    tail = f"; and {more} more problem{'s' if more > 1 else ''}" if more else ""
    return f"{origin}: " + "; ".join(shown) + tail


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
        return f"{where}: {_show(value)} is not allowed (allowed: {allowed})"
    if kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        return f"{where}: {_show(value)} is out of range (allowed: 0 to 5)"
    if kind == "literal_error":
        return f"{where}: {_show(value)} is not supported ({error.get('msg', '')})"
    if kind == "too_short":
        return f"{where}: needs at least one value"
    if kind in ("framework", "codebase"):  # registry names: the message lists what is allowed
        return f"{where}: {error.get('msg', 'invalid')}"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message} (got {_show(value)})"


def validate_answers(data: Any, origin: str, registry: Registry | None = None) -> Requirements:
    """Validate parsed answers; every problem, each with its field, in one AnswersError line.

    Framework names are checked against `registry` (default: the registry in force).
    """
    if not isinstance(data, dict):
        raise AnswersError(f"{origin}: the answers must be a table/object at the top level")
    too_big = check_limits(data)
    if too_big:
        raise AnswersError(_listed(origin, too_big))
    try:
        return Requirements.model_validate(
            data, context={"registry": registry} if registry is not None else None
        )
    except ValidationError as error:
        problems = list(dict.fromkeys(describe_error(e) for e in error.errors()))
        raise AnswersError(_listed(origin, problems)) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise AnswersError(f"duplicate key {_show(key)}")
        seen[key] = value
    return seen


def parse_answers(text: str, fmt: str, origin: str = "answers") -> dict[str, Any]:
    """Parse TOML or JSON text into a dict, with syntax errors reported by line.

    A leading byte order mark is ignored; duplicate JSON keys, text beyond MAX_TEXT_CHARS and
    nesting too deep for the parser are AnswersErrors.
    """
    text = text.removeprefix("\ufeff")
    if len(text) > MAX_TEXT_CHARS:
        raise AnswersError(
            f"{origin}: {len(text):,} characters; an answers file is at most {MAX_TEXT_CHARS:,}"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, kept as surrogate escapes
        raise AnswersError(f"{origin}: not UTF-8 text") from None
    if fmt == "json":
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as error:
            raise AnswersError(
                f"{origin}: invalid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
            ) from None
        except AnswersError as error:
            raise AnswersError(f"{origin}: invalid JSON: {error}") from None
        except RecursionError:
            raise AnswersError(f"{origin}: invalid JSON: nested too deeply") from None
        except ValueError as error:  # e.g. an integer of thousands of digits
            raise AnswersError(f"{origin}: invalid JSON: {error}") from None
        if not isinstance(data, dict):
            raise AnswersError(f"{origin}: the answers must be a JSON object")
        return data
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise AnswersError(f"{origin}: invalid TOML: {error}") from None
    except RecursionError:
        raise AnswersError(f"{origin}: invalid TOML: nested too deeply") from None
    except ValueError as error:  # tomllib lets int() errors through (huge integers)
        raise AnswersError(f"{origin}: invalid TOML: {error}") from None


def merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Set dotted paths ('deployment.targets') in a nested answers dict, returning a new dict
    (a deep copy: TOML dates and times are copied as they are, for validation to judge)."""
    try:
        result: dict[str, Any] = copy.deepcopy(base)
    except RecursionError:
        raise AnswersError("answers: nested too deeply") from None
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
