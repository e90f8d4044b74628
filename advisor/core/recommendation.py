"""What the engine returns: a ranking with per-criterion scores, evidence, caveats and exclusions.

These models are the JSON that team tooling reads (`--format json`), so they carry everything a
report needs: every score is traceable to a prior (with its claims) and rule adjustments (with
theirs), and every claim carries its verdict and sources.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from advisor.core.criteria import Criterion
from advisor.core.knowledge import ClaimKind, Verdict, VersionFact
from advisor.core.questionnaire import Requirements

OUTPUT_VERSION = 1


class _Out(BaseModel):
    # Built lazily: the engine assembles these with model_construct from values it computed,
    # so a CLI run that prints text never pays for building their validators.
    model_config = ConfigDict(frozen=True, defer_build=True)


class SourceRef(_Out):
    """A citable source: a seed article location or a reference (with its link)."""

    id: str
    label: str
    url: str | None = None


class ClaimEvidence(_Out):
    id: str
    kind: ClaimKind
    text: str
    verdict: Verdict
    frameworks: list[str]
    source: SourceRef | None = Field(None, description="where a seed article makes the claim")
    correction: str | None = None
    references: list[SourceRef] = Field(default_factory=list)
    checked: str | None = Field(None, description="when its source was last read (ISO date)")
    versions: list[VersionFact] = Field(
        default_factory=list, description="the releases it names, with their release dates"
    )


class Adjustment(_Out):
    rule: str
    delta: float


class CriterionScore(_Out):
    criterion: Criterion
    prior: float = Field(description="the framework's prior score on this criterion (0-5)")
    calibrated: float | None = Field(
        None, description="the prior after blending in measurements, when they were used"
    )
    adjustments: list[Adjustment] = Field(default_factory=list)
    score: float = Field(description="final 0-5 score: base plus adjustments, clamped")
    weight: float
    contribution: float = Field(description="points of the 0-100 total this criterion gives")
    prior_claims: list[str] = Field(default_factory=list)
    measured: str | None = Field(
        None, description="the measurement that calibrated this score, with its run and date"
    )


class RuleEvidence(_Out):
    rule: str
    rationale: str
    effects: list[str]
    impact: float = Field(description="net points of the 0-100 total this rule moved")
    claims: list[ClaimEvidence]


class Caveat(_Out):
    message: str
    rule: str | None = None
    claims: list[str] = Field(default_factory=list)


class Reason(_Out):
    """A plain-language reason for a framework's standing, with the claims behind it."""

    summary: str
    points: float
    claims: list[ClaimEvidence]


class BackendOption(_Out):
    """A front-end (Keras 3) scored on one of its backends."""

    backend: str
    name: str = Field(description="the front-end's name with the backend's")
    score: float = Field(ge=0, le=100)
    criteria: list[CriterionScore]


class DeploymentPathResult(_Out):
    """A deployment path to one of the user's targets, as the probes found it on this machine."""

    probe: str = Field(description="the probe that measures it, deploy.<path>")
    label: str
    runtime: str
    state: str = Field(description="ok, failed, not_installed or not_measured")
    summary: str = Field(description="the sentence the advice cites")
    claims: list[str] = Field(default_factory=list, description="claims that say the path exists")


class RankedFramework(_Out):
    rank: int
    framework: str
    name: str = Field(description="display name; a front-end's names its best backend")
    version: str
    lifecycle: str
    score: float = Field(ge=0, le=100)
    criteria: list[CriterionScore]
    evidence: list[RuleEvidence]
    caveats: list[Caveat]
    reasons: list[Reason] = Field(default_factory=list)
    backend: str | None = Field(
        None, description="for a front-end over backends: the backend it is recommended on"
    )
    options: list[BackendOption] = Field(
        default_factory=list,
        description="for a front-end: every usable backend with its score, best first",
    )
    deployment: list[DeploymentPathResult] = Field(
        default_factory=list,
        description="its deployment paths to the user's targets, as measured on this machine",
    )

    @property
    def name_with_version(self) -> str:
        """ "Keras 3 on TensorFlow (keras 3.15.1)", not "... TensorFlow 3.15.1": a front-end's
        version is its own, not its backend's."""
        if self.backend:
            return f"{self.name} ({self.framework} {self.version})"
        return f"{self.name} {self.version}"


class Exclusion(_Out):
    framework: str
    name: str
    reasons: list[str]
    rules: list[str] = Field(default_factory=list)


class ProbeFigure(_Out):
    """One measured figure that went into a calibrated score."""

    probe: str
    params: dict[str, Any] = Field(default_factory=dict)
    value: float
    unit: str
    relative: float = Field(description="this framework's figure relative to the best (1 = best)")
    weight: float
    cv: float | None = None
    ci95: tuple[float, float] | None = Field(
        None, description="95 % bootstrap interval of the median (the relative figure uses it)"
    )
    noisy: str | None = Field(None, description="why the machine looked busy when it was measured")


class FrameworkCalibration(_Out):
    framework: str
    prior: dict[Criterion, float]
    calibrated: dict[Criterion, float]
    confidence: float = Field(ge=0, le=1)
    figures: list[ProbeFigure] = Field(default_factory=list)
    machine: str | None = None
    measured_at: str | None = None
    age_days: float | None = None


class Calibration(_Out):
    used: bool = False
    reason: str = "no measurements given"
    frameworks: list[FrameworkCalibration] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)
    by_framework: dict[str, list[str]] = Field(
        default_factory=dict, description="the caveats above that are about one framework"
    )


class Recommendation(_Out):
    output_version: int = OUTPUT_VERSION
    knowledge_version: str
    top_pick: str | None
    margin: float | None = Field(
        None, description="score points between the first and second framework"
    )
    ranking: list[RankedFramework]
    excluded: list[Exclusion]
    calibration: Calibration
    overrides: list[ClaimEvidence] = Field(
        default_factory=list,
        description="seed-article claims the advice overrides as outdated or wrong",
    )
    requirements: Requirements
