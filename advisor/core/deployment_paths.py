"""The deployment-path catalogue (knowledge/deployment.toml): which export of which framework
reaches which runtime, measured by which suite in which environment, and which targets each
runtime serves.

Pure data models, validated at load against the registry and the claims (`check_catalogue`), so
a path naming an unknown framework, backend, runtime, environment or claim is a knowledge error
with the file named, not a surprise at probe time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from advisor.core.questionnaire import Target

_ID = r"^[a-z][a-z0-9_]*$"
SUITES = ("quick", "deploy", "full")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Runtime(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=120)
    runs_in: Literal["advisor", "export"]
    """"advisor": the advisor's own interpreter (light runtimes); "export": where the export ran"""
    package: str = Field(min_length=1, max_length=80)


class Environment(_Strict):
    """An environment of its own for a heavy exporter, created on first use."""

    id: str = Field(pattern=_ID)
    framework: str
    venv: str = Field(pattern=r"^\.venv-[a-z0-9-]+$")
    requirements: str = Field(pattern=r"^requirements/[A-Za-z0-9_.-]+\.txt$")
    size: str = ""


class DeploymentPath(_Strict):
    framework: str
    id: str = Field(pattern=_ID)
    runtime: str
    label: str = Field(min_length=1, max_length=200)
    suites: list[Literal["quick", "deploy", "full"]] = Field(min_length=1)
    claims: list[str] = Field(min_length=1)
    backends: list[str] = Field(default_factory=list)
    """for a front-end: the backends this path applies to (empty: a native framework)"""
    environment: str | None = None
    """an `Environment` id: exported (and, for runs_in="export", run) there"""

    @property
    def probe(self) -> str:
        return f"deploy.{self.id}"


class Unsupported(_Strict):
    framework: str
    runtime: str
    reason: str = Field(min_length=1, max_length=400)
    claims: list[str] = Field(min_length=1)
    backends: list[str] = Field(default_factory=list)


class TargetRuntimes(_Strict):
    id: Target
    runtimes: list[str] = Field(min_length=1)
    note: str = ""


class DeploymentCatalogue(_Strict):
    runtime: list[Runtime] = Field(min_length=1)
    environment: list[Environment] = Field(default_factory=list)
    path: list[DeploymentPath] = Field(default_factory=list)
    unsupported: list[Unsupported] = Field(default_factory=list)
    target: list[TargetRuntimes] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> DeploymentCatalogue:
        runtimes = {r.id for r in self.runtime}
        environments = {e.id for e in self.environment}
        seen: set[tuple[str, str, str]] = set()
        for p in self.path:
            if p.runtime not in runtimes:
                raise ValueError(f"path {p.framework}/{p.id}: unknown runtime '{p.runtime}'")
            if p.environment is not None and p.environment not in environments:
                raise ValueError(
                    f"path {p.framework}/{p.id}: unknown environment '{p.environment}'"
                )
            for backend in p.backends or [""]:
                key = (p.framework, backend, p.id)
                if key in seen:
                    raise ValueError(
                        f"path {p.framework}/{p.id} is listed twice for backend '{backend}'"
                    )
                seen.add(key)
        for u in self.unsupported:
            if u.runtime not in runtimes:
                raise ValueError(f"unsupported {u.framework}: unknown runtime '{u.runtime}'")
        for t in self.target:
            for runtime in t.runtimes:
                if runtime not in runtimes:
                    raise ValueError(f"target {t.id.value}: unknown runtime '{runtime}'")
        return self

    # -- questions the probe planner and the evidence ask ------------------------------------
    def runtime_named(self, runtime: str) -> Runtime:
        return next(r for r in self.runtime if r.id == runtime)

    def environment_named(self, environment: str) -> Environment:
        return next(e for e in self.environment if e.id == environment)

    def paths_for(
        self, framework: str, backend: str | None = None, suite: str | None = None
    ) -> list[DeploymentPath]:
        """The paths of a framework (on one backend, for a front-end), optionally of one suite."""
        return [
            p
            for p in self.path
            if p.framework == framework
            and (not p.backends or backend in p.backends)
            and (suite is None or suite in p.suites)
        ]

    def unsupported_for(self, framework: str, backend: str | None = None) -> list[Unsupported]:
        return [
            u
            for u in self.unsupported
            if u.framework == framework and (not u.backends or backend in u.backends)
        ]

    def runtimes_for(self, targets: Iterable[Target]) -> dict[str, list[Target]]:
        """runtime id -> the user's targets it stands for (in catalogue order)."""
        chosen = set(targets)
        found: dict[str, list[Target]] = {}
        for t in self.target:
            if t.id in chosen:
                for runtime in t.runtimes:
                    found.setdefault(runtime, []).append(t.id)
        return found


def check_catalogue(
    catalogue: DeploymentCatalogue,
    backends_of: Mapping[str, tuple[str, ...] | list[str]],
    claims: Iterable[str],
) -> str | None:
    """The first reference to an unknown framework, backend or claim, or None."""
    known_claims = set(claims)
    entries = [("path", p.framework, p.id, p.backends, p.claims) for p in catalogue.path]
    entries += [
        ("unsupported", u.framework, u.runtime, u.backends, u.claims) for u in catalogue.unsupported
    ]
    for kind, framework, ident, backends, cited in entries:
        if framework not in backends_of:
            return f"{kind} '{ident}': unknown framework '{framework}'"
        for backend in backends:
            if backend not in backends_of[framework]:
                return f"{kind} '{ident}': '{backend}' is not a backend of '{framework}'"
        if backends_of[framework] and kind == "path" and not backends:
            return f"{kind} '{ident}': '{framework}' is a front-end; say which backends"
        for claim in cited:
            if claim not in known_claims:
                return f"{kind} '{ident}': unknown claim '{claim}'"
    for environment in catalogue.environment:
        if environment.framework not in backends_of:
            return f"environment '{environment.id}': unknown framework '{environment.framework}'"
    return None


def catalogue_of(knowledge: Any) -> DeploymentCatalogue | None:
    """The knowledge's deployment catalogue (None when it has no deployment.toml)."""
    found = getattr(knowledge, "deployment", None)
    return found if isinstance(found, DeploymentCatalogue) else None
