"""The candidate set: which frameworks the advisor knows, as data read from `knowledge/frameworks/`.

Every place that names frameworks (the questionnaire's fields, the JSON Schema, CLI choices, the
form, the probe plan, calibration) asks the registry instead of listing them, so adding a
framework is adding its knowledge files and one probe backend.

A questionnaire is validated against a registry: the one passed in pydantic's validation context
(`{"registry": registry}`), else that of the knowledge in force (`advisor.core.in_force`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from advisor.core.in_force import knowledge_in_force

NO_CODEBASE = "none"


class Entry(NamedTuple):
    """What the questionnaire needs to know of one framework."""

    id: str
    name: str
    aliases: tuple[str, ...]
    codebases: tuple[str, ...]
    """values of `team.existing_codebase` that mean code written for this framework"""


class Registry:
    """An ordered, immutable set of frameworks with their aliases and codebase names."""

    __slots__ = ("__weakref__", "_by_name", "_codebase_owners", "_entries")

    def __init__(self, entries: Sequence[Entry]) -> None:
        self._entries = {e.id: e for e in entries}
        self._by_name: dict[str, str] = {}
        self._codebase_owners: dict[str, tuple[str, ...]] = {}
        for entry in entries:
            for name in (entry.id, *entry.aliases):
                self._by_name[name.lower()] = entry.id
            for codebase in entry.codebases:
                owners = self._codebase_owners.get(codebase, ())
                self._codebase_owners[codebase] = (*owners, entry.id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, framework: object) -> bool:
        return framework in self._entries

    def __getitem__(self, framework: str) -> Entry:
        return self._entries[framework]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def resolve(self, name: str) -> str | None:
        """The framework id for an id or alias a user typed (case-insensitive), else None."""
        return self._by_name.get(name.strip().lower())

    @property
    def codebases(self) -> tuple[str, ...]:
        """Every value `team.existing_codebase` accepts, "none" first."""
        return (NO_CODEBASE, *self._codebase_owners)

    def codebase_owners(self, codebase: str) -> tuple[str, ...]:
        """The frameworks that run a codebase as it is (tf.keras code: TensorFlow and Keras);
        empty for "none" or an unknown name."""
        return self._codebase_owners.get(codebase, ())

    def name(self, framework: str) -> str:
        entry = self._entries.get(framework)
        return entry.name if entry else framework


def registry_in_force(context: Mapping[str, Any] | None = None) -> Registry:
    """The registry a validation uses: the context's, else that of the knowledge in force."""
    if context and isinstance(context.get("registry"), Registry):
        return context["registry"]  # type: ignore[no-any-return]
    return knowledge_in_force().registry


def _one_of(values: Sequence[str]) -> str:
    return ", ".join(values)


class FrameworkName(str):
    """A framework id from the registry in force; aliases are accepted and stored as the id."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_after_validator_function(
            _framework_id, core_schema.str_schema(max_length=64)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, _schema: core_schema.CoreSchema, _handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "string", "enum": list(registry_in_force().ids)}


def _framework_id(value: str, info: core_schema.ValidationInfo) -> str:
    registry = registry_in_force(info.context)
    found = registry.resolve(value)
    if found is None:
        raise PydanticCustomError(
            "framework", "unknown framework '{value}'; allowed: {allowed}",
            {"value": value, "allowed": _one_of(registry.ids)},
        )  # fmt: skip
    return found


class CodebaseName(str):
    """What an existing codebase is written in: "none" or a codebase name from the registry."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_after_validator_function(
            _codebase, core_schema.str_schema(max_length=64)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, _schema: core_schema.CoreSchema, _handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "string", "enum": list(registry_in_force().codebases)}


def _codebase(value: str, info: core_schema.ValidationInfo) -> str:
    registry = registry_in_force(info.context)
    name = value.strip().lower()
    if name in registry.codebases:
        return name
    framework = registry.resolve(name)
    if framework is not None and registry[framework].codebases:
        return registry[framework].codebases[0]
    raise PydanticCustomError(
        "codebase", "unknown codebase '{value}'; allowed: {allowed}",
        {"value": value, "allowed": _one_of(registry.codebases)},
    )  # fmt: skip


__all__ = [
    "NO_CODEBASE",
    "CodebaseName",
    "Entry",
    "FrameworkName",
    "Registry",
    "registry_in_force",
]
