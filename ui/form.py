"""The questionnaire form, derived from the pydantic model so the page never drifts from schema v1.

`build_spec` walks `Requirements.model_fields` recursively and turns each field into a widget
description (enum → selectbox, list of enums → multiselect, bool → toggle, small bounded int →
slider, nested model → section). A field added to the model therefore appears in the form, with
its description as help text and its default as the initial value, without any UI edit.

Widget values live in Streamlit's session state under `key_of(path)`; everything here except
`render_form` works on plain mappings, so it is testable without a running page.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from advisor.core.registry import CodebaseName, FrameworkName, registry_in_force

Kind = Literal[
    "section", "select", "multiselect", "toggle", "slider", "number", "text", "json", "fixed"
]

KEY_PREFIX = "q:"
SLIDER_MAX_SPAN = 10
"""A bounded int with at most this many steps is a slider; a wider one a number input."""

# Presentation only: nicer names for a few labels and values; anything not listed is derived.
LABELS: dict[str, str] = {"os": "Operating systems", "exclude": "Exclude frameworks"}
OPTION_LABELS: dict[str, str] = {
    "nlp": "NLP",
    "cpu": "CPU",
    "nvidia_gpu": "NVIDIA GPU",
    "amd_gpu": "AMD GPU",
    "intel_gpu": "Intel GPU",
    "apple_silicon": "Apple silicon",
    "tpu": "TPU",
    "cpp": "C++",
    "javascript": "JavaScript",
    "macos": "macOS",
}
"""Framework ids read as the registry's display names (see `option_label`)."""


@dataclass(frozen=True)
class FieldSpec:
    """One questionnaire field as a widget: what to draw, its choices, bounds and default."""

    path: tuple[str, ...]
    label: str
    help: str | None
    kind: Kind
    default: Any = None
    options: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    optional: bool = False
    children: tuple[FieldSpec, ...] = field(default_factory=tuple)

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    @property
    def key(self) -> str:
        return key_of(self.path)


def key_of(path: Iterable[str]) -> str:
    """The session-state key of a field's widget, e.g. 'q:project.tasks'."""
    return KEY_PREFIX + ".".join(path)


def option_label(value: Any) -> str:
    """How a choice reads in a widget: 'nvidia_gpu' → 'NVIDIA GPU', 'on_prem_server' → 'On prem server'."""
    if value is None:
        return "—"
    text = str(value)
    registry = registry_in_force()
    if text in registry:
        return registry.name(text)
    return OPTION_LABELS.get(text, text.replace("_", " ").capitalize())


def field_label(name: str, info: FieldInfo) -> str:
    return (
        info.title
        or LABELS.get(name)
        or OPTION_LABELS.get(name)
        or name.replace("_", " ").capitalize()
    )


# -- building the spec ------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A default as the widget holds it: enum values, lists and dicts of plain values."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(args) < len(typing.get_args(annotation)):
            return args[0], True
    return annotation, False


def _choices(annotation: Any) -> tuple[Any, ...] | None:
    """The allowed values of an enum or Literal annotation, else None."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if annotation is FrameworkName:
        return registry_in_force().ids
    if annotation is CodebaseName:
        return registry_in_force().codebases
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return tuple(member.value for member in annotation)
    if typing.get_origin(annotation) is Literal:
        return tuple(_plain(v) for v in typing.get_args(annotation))
    return None


def _bounds(info: FieldInfo) -> tuple[float | None, float | None, int]:
    low: float | None = None
    high: float | None = None
    min_length = 0
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            low = float(item.ge)  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.Gt):
            low = float(item.gt) + 1  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.Le):
            high = float(item.le)  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.Lt):
            high = float(item.lt) - 1  # type: ignore[arg-type]
        elif isinstance(item, annotated_types.MinLen):
            min_length = item.min_length
    return low, high, min_length


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field_spec(
    name: str, info: FieldInfo, path: tuple[str, ...], given: Mapping[str, Any]
) -> FieldSpec:
    annotation, optional = _unwrap_optional(info.annotation)
    label = field_label(name, info)
    help_text = info.description
    required = info.is_required()
    has_given = name in given
    default = (
        given[name]
        if has_given
        else (None if required else _plain(info.get_default(call_default_factory=True)))
    )
    low, high, min_length = _bounds(info)

    if _is_model(annotation):
        inner = default if isinstance(default, Mapping) else {}
        children = _model_specs(annotation, path, inner)
        return FieldSpec(path, label, help_text or annotation.__doc__, "section", children=children)

    if typing.get_origin(annotation) is dict and typing.get_args(annotation)[0] is FrameworkName:
        # One choice per framework of the registry (team.experience); a left-out one is the
        # value type's first choice.
        values = _choices(typing.get_args(annotation)[1]) or ()
        given_table = default if isinstance(default, Mapping) else {}
        children = tuple(
            FieldSpec(
                (*path, fw),
                registry_in_force().name(fw),
                None,
                "select",
                _plain(given_table.get(fw, values[0] if values else None)),
                values,
            )
            for fw in registry_in_force()
        )
        return FieldSpec(path, label, help_text, "section", children=children)

    choices = _choices(annotation)
    if choices is not None:
        if len(choices) == 1 and not optional:
            return FieldSpec(path, label, help_text, "fixed", default=choices[0], options=choices)
        options = (None, *choices) if optional else choices
        if default is None and required:
            default = options[0]
        return FieldSpec(path, label, help_text, "select", default, options, optional=optional)

    if typing.get_origin(annotation) in (list, set, frozenset, tuple):
        args = typing.get_args(annotation)
        item_choices = _choices(args[0]) if args else None
        if item_choices is not None:
            if default is None:
                # A required list has no model default; start from its first choice so a fresh
                # page already shows a valid questionnaire (the user changes it from there).
                default = list(item_choices[: max(min_length, 1)]) if required else []
            return FieldSpec(
                path,
                label,
                help_text,
                "multiselect",
                list(default),
                item_choices,
                optional=optional,
            )

    if annotation is bool:
        return FieldSpec(path, label, help_text, "toggle", bool(default), optional=optional)

    if annotation in (int, float):
        integer = annotation is int
        if default is None and required:
            default = low if low is not None else 0
        if default is not None and integer:
            default = int(default)
        kind: Kind = (
            "slider"
            if integer and low is not None and high is not None and high - low <= SLIDER_MAX_SPAN
            else "number"
        )
        return FieldSpec(
            path,
            label,
            help_text,
            kind,
            default,
            minimum=low,
            maximum=high,
            integer=integer,
            optional=optional,
        )

    if annotation is str:
        return FieldSpec(
            path,
            label,
            help_text,
            "text",
            default if default is not None else "",
            optional=optional,
        )

    return FieldSpec(path, label, help_text, "json", default, optional=optional)


def _model_specs(
    model: type[BaseModel], prefix: tuple[str, ...], given: Mapping[str, Any]
) -> tuple[FieldSpec, ...]:
    return tuple(
        _field_spec(name, info, (*prefix, name), given) for name, info in model.model_fields.items()
    )


@lru_cache(maxsize=16)
def build_spec(model: type[BaseModel]) -> tuple[FieldSpec, ...]:
    """The form for a questionnaire model: one FieldSpec per field, sections nested."""
    return _model_specs(model, (), {})


def leaves(specs: Iterable[FieldSpec]) -> Iterator[FieldSpec]:
    """Every widget-bearing (non-section) field, depth first in form order."""
    for spec in specs:
        if spec.kind == "section":
            yield from leaves(spec.children)
        else:
            yield spec


def sections(specs: Iterable[FieldSpec]) -> Iterator[FieldSpec]:
    for spec in specs:
        if spec.kind == "section":
            yield spec
            yield from sections(spec.children)


# -- state <-> answers --------------------------------------------------------------------------
def _widget_value(spec: FieldSpec, value: Any) -> Any:
    """A loaded answer as the widget holds it (unknown choices are dropped, not crashed on)."""
    value = _plain(value)
    if spec.kind == "multiselect":
        items = value if isinstance(value, list) else [value]
        return [v for v in dict.fromkeys(items) if v in spec.options]
    if spec.kind == "select":
        return value if value in spec.options else spec.default
    if spec.kind == "toggle":
        return bool(value)
    if spec.kind == "json":
        return json.dumps(value)
    if spec.kind == "text":
        return "" if value is None else str(value)
    return value


def init_state(specs: Iterable[FieldSpec], state: MutableMapping[str, Any]) -> None:
    """Give every widget its default once; later runs keep what the user chose."""
    for spec in leaves(specs):
        if spec.key not in state:
            state[spec.key] = _widget_value(spec, spec.default)


def apply_answers(
    specs: Iterable[FieldSpec], answers: Mapping[str, Any], state: MutableMapping[str, Any]
) -> None:
    """Set every widget from nested answers (a loaded file); unanswered fields get defaults."""
    for spec in leaves(specs):
        node: Any = answers
        for part in spec.path:
            node = node.get(part, _MISSING) if isinstance(node, Mapping) else _MISSING
        state[spec.key] = _widget_value(spec, spec.default if node is _MISSING else node)


_MISSING = object()


def collect(
    specs: Iterable[FieldSpec], state: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Nested answers from the widgets, plus problems found before validation (bad JSON)."""
    data: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for spec in leaves(specs):
        value = state.get(spec.key, _widget_value(spec, spec.default))
        if spec.kind == "json":
            text = str(value or "").strip()
            try:
                value = json.loads(text) if text else None
            except json.JSONDecodeError as error:
                problems.setdefault(spec.dotted, []).append(f"not valid JSON: {error.msg}")
                continue
        elif spec.kind == "text" and spec.optional and value == "":
            value = None
        elif spec.kind == "number" and spec.integer and value is not None:
            value = int(value)
        if value is None and spec.kind != "select" and not spec.optional:
            continue  # let the model's default (or its "required" error) speak
        node = data
        for part in spec.path[:-1]:
            node = node.setdefault(part, {})
        node[spec.path[-1]] = value
    return data, problems


def error_message(error: Mapping[str, Any]) -> str:
    """One pydantic error as a short sentence for the field it belongs to."""
    try:
        from advisor.core.answers import describe_error

        text = describe_error(error)
        _where, sep, rest = text.partition(": ")
        return rest if sep else text
    except Exception:  # a shape describe_error does not know; pydantic's words still help
        return str(error.get("msg", "invalid value")).removeprefix("Value error, ")


def field_of(loc: Iterable[int | str], specs: Iterable[FieldSpec]) -> str:
    """The dotted path of the widget (or section) an error location points at; '' = the form."""
    known = {s.dotted for s in leaves(specs)} | {s.dotted for s in sections(specs)}
    parts: list[str] = []
    best = ""
    for part in loc:
        if isinstance(part, int):
            continue
        parts.append(str(part))
        candidate = ".".join(parts)
        if candidate in known:
            best = candidate
    return best


def validate(
    model: type[BaseModel], specs: Iterable[FieldSpec], data: Mapping[str, Any]
) -> tuple[BaseModel | None, dict[str, list[str]]]:
    """Validate the answers; errors are keyed by the dotted path of the field they concern."""
    try:
        return model.model_validate(data), {}
    except ValidationError as error:
        found: dict[str, list[str]] = {}
        specs = tuple(specs)
        for item in error.errors():
            where = field_of(item.get("loc", ()), specs)
            message = error_message(item)
            if message not in found.get(where, []):
                found.setdefault(where, []).append(message)
        return None, found


def answers_from_file(name: str, content: bytes) -> dict[str, Any]:
    """Parse an uploaded TOML/JSON answers file (format from the name, else sniffed).

    Raises `advisor.core.answers.AnswersError` with one line naming the file and the problem.
    """
    from advisor.core.answers import AnswersError, parse_answers

    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AnswersError(f"{name}: not a UTF-8 text file") from None
    lowered = name.lower()
    if lowered.endswith(".json"):
        fmt = "json"
    elif lowered.endswith(".toml"):
        fmt = "toml"
    else:
        fmt = "json" if text.lstrip().startswith("{") else "toml"
    return parse_answers(text, fmt, name)


def apply_file(
    specs: Iterable[FieldSpec], name: str, content: bytes, state: MutableMapping[str, Any]
) -> tuple[str, str]:
    """Load an answers file into the widget state; returns (kind, message) to show at the upload.

    A file that parses but does not validate is still applied, so its problems show at their
    fields; one that does not parse leaves the form as it was.
    """
    from advisor.core.answers import AnswersError, validate_answers

    try:
        data = answers_from_file(name, content)
    except AnswersError as error:
        return "error", str(error)
    apply_answers(specs, data, state)
    try:
        validate_answers(data, name)
    except AnswersError as error:
        return "error", f"Loaded with problems — {error}"
    return "success", f"Loaded {name}"


# -- drawing ----------------------------------------------------------------------------------
def render_form(specs: Iterable[FieldSpec], errors: Mapping[str, list[str]], st: Any) -> None:
    """Draw the form into the current Streamlit container; errors appear under their field.

    Widgets take their value from session state only (set by `init_state`/`apply_answers`), so
    loading a file and the user's own edits never fight over a `value=` argument.
    """
    for spec in specs:
        if spec.kind == "section":
            has_error = any(k == spec.dotted or k.startswith(spec.dotted + ".") for k in errors)
            with st.expander(
                spec.label, expanded=True, icon=":material/error:" if has_error else None
            ):
                if spec.help:
                    st.caption(spec.help)
                _render_fields(spec.children, errors, st)
        else:
            _render_fields((spec,), errors, st)


def _render_fields(specs: Iterable[FieldSpec], errors: Mapping[str, list[str]], st: Any) -> None:
    for spec in specs:
        if spec.kind == "section":
            st.markdown(f"**{spec.label}**")
            if spec.help:
                st.caption(spec.help)
            _render_fields(spec.children, errors, st)
        else:
            _widget(spec, st)
        for message in errors.get(spec.dotted, []):
            st.error(f"{spec.label}: {message}", icon=":material/warning:")


def _widget(spec: FieldSpec, st: Any) -> None:
    common: dict[str, Any] = {"key": spec.key, "help": spec.help}
    draw: Callable[..., Any]
    if spec.kind == "fixed":
        return
    if spec.kind == "select":
        st.selectbox(spec.label, options=list(spec.options), format_func=option_label, **common)
    elif spec.kind == "multiselect":
        st.multiselect(
            spec.label,
            options=list(spec.options),
            format_func=option_label,
            placeholder="Choose one or more",
            **common,
        )
    elif spec.kind == "toggle":
        st.toggle(spec.label, **common)
    elif spec.kind == "slider":
        st.slider(
            spec.label,
            min_value=int(spec.minimum or 0),
            max_value=int(spec.maximum or 0),
            step=1,
            **common,
        )
    elif spec.kind == "number":
        draw = st.number_input
        bounds: dict[str, Any] = {}
        if spec.minimum is not None:
            bounds["min_value"] = int(spec.minimum) if spec.integer else spec.minimum
        if spec.maximum is not None:
            bounds["max_value"] = int(spec.maximum) if spec.integer else spec.maximum
        draw(spec.label, step=1 if spec.integer else None, **bounds, **common)
    elif spec.kind == "text":
        st.text_input(spec.label, **common)
    else:
        st.text_area(spec.label, **common, placeholder="JSON")
