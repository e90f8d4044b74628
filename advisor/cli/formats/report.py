"""What the output formats render: the recommendation plus optional analyses asked for."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from pydantic import BaseModel

from advisor.core.criteria import LABELS, Criterion
from advisor.core.questionnaire import Requirements
from advisor.core.recommendation import ClaimEvidence, Recommendation


class Report(NamedTuple):
    recommendation: Recommendation
    extras: Mapping[str, BaseModel | list[Any]] = MappingProxyType({})
    """named analyses (robustness, what-if, next steps) rendered after the ranking"""


SHORT: dict[Criterion, str] = {
    Criterion.TASK_FIT: "Task",
    Criterion.DEVELOPMENT_SPEED: "Dev",
    Criterion.RUNTIME_PERFORMANCE: "Perf",
    Criterion.MEMORY_EFFICIENCY: "Mem",
    Criterion.DISTRIBUTED_TRAINING: "Dist",
    Criterion.DEPLOYMENT: "Depl",
    Criterion.ECOSYSTEM: "Eco",
    Criterion.HARDWARE_SUPPORT: "HW",
    Criterion.LANGUAGE_SUPPORT: "Lang",
    Criterion.LONG_TERM_SUPPORT: "LTS",
    Criterion.TEAM_FIT: "Team",
}


def describe_requirements(r: Requirements) -> str:
    """A one-line summary of the answers, so a report says what it was computed for."""
    parts = [
        "+".join(t.value for t in r.project.tasks),
        r.project.stage.value,
        f"{r.project.model_size.value} models",
        "targets " + "+".join(t.value for t in r.deployment.targets),
        "+".join(a.value for a in r.hardware.accelerators) + f" ({r.hardware.scale.value})",
        "+".join(o.value for o in r.hardware.os),
    ]
    if r.team.existing_codebase != "none":
        parts.append(f"{r.team.existing_codebase} codebase")
    return " · ".join(parts)


def cite(claim: ClaimEvidence) -> str:
    """The short source of a claim: its references' titles/links, or its seed location."""
    if claim.references:
        ref = claim.references[0]
        more = f" (+{len(claim.references) - 1})" if len(claim.references) > 1 else ""
        return f"{ref.url or ref.label}{more}"
    return claim.source.label if claim.source else claim.id


def label(criterion: Criterion) -> str:
    return LABELS[criterion]
