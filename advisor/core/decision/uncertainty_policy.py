"""The uncertainty policy as validated data (knowledge/uncertainty.toml): how uncertain a criterion
score is, given the evidence behind it, and how the decision analysis samples weights.

Every number the score spreads, the SMAA-2 sampling and the verdict wording use is here; nothing
has a default, so the data file says it all. `advisor.core.decision.uncertainty` applies it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

REQUIRED_STANDINGS = ("current", "unverified", "outdated", "wrong")
"""standings every policy must give a spread for: a claim that holds and was checked (current),
one never dated as checked or sourced only by a seed article (unverified), and the verdicts"""


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class AgePolicy(_Policy):
    """How a claim's spread grows with the time since it was last checked."""

    growth: float = Field(ge=0, le=10, description="share of its spread added per shelf life")
    max_factor: float = Field(ge=1, le=10, description="the spread grows at most to this multiple")
    shelf_life_days: dict[str, float] = Field(
        description="days a claim stays fresh, per shelf-life kind; `default` for any other kind"
    )

    @model_validator(mode="after")
    def _has_default(self) -> AgePolicy:
        if "default" not in self.shelf_life_days:
            raise ValueError("shelf_life_days needs a `default` kind")
        if any(days <= 0 for days in self.shelf_life_days.values()):
            raise ValueError("shelf lives must be positive")
        return self

    def shelf_life(self, kind: object) -> float:
        """Days for a claim's `shelf` (a kind named here, a number of days, or nothing)."""
        kind = getattr(kind, "value", kind)  # an enum of kinds reads as its value
        if isinstance(kind, int | float) and not isinstance(kind, bool) and kind > 0:
            return float(kind)
        if isinstance(kind, str) and kind in self.shelf_life_days:
            return self.shelf_life_days[kind]
        return self.shelf_life_days["default"]

    def factor(self, age_days: float, shelf_days: float) -> float:
        return min(self.max_factor, 1.0 + self.growth * max(0.0, age_days) / shelf_days)


class MeasurementPolicy(_Policy):
    """How uncertain a score measured by probes is."""

    cv_factor: float = Field(
        ge=0, le=10, description="relative spread of a measured score per unit of its figures' CV"
    )
    floor: float = Field(ge=0, le=5, description="the least spread of a measured score (points)")


class DeploymentPolicy(_Policy):
    """How a deployment path measured on the user's machine moves the deployment score's spread."""

    confirmed: float = Field(
        gt=0, le=1, description="sd x this when a path to the targets worked here and none failed"
    )
    contradicted: float = Field(
        ge=1, le=5, description="sd x this when a path the knowledge claims failed here"
    )


class WeightPolicy(_Policy):
    """How the analysis samples weights from the answered priorities."""

    priority_spread: float = Field(
        gt=0, le=5, description="each answered priority is drawn uniformly within +/- this"
    )
    no_preference_share: float = Field(
        gt=0, le=1, description="draws with no preference at all, as a share of the samples"
    )


class VerdictPolicy(_Policy):
    """When the wording says robust, and which crossovers it names."""

    robust: float = Field(ge=0.95, le=1, description="first-rank acceptability to call it robust")
    fairly_robust: float = Field(gt=0.5, lt=1)
    deciding: int = Field(ge=1, le=3, description="crossovers a near tie names")
    within_sd: float = Field(
        gt=0, le=10, description="a score crossover this many sd away or less decides"
    )

    @model_validator(mode="after")
    def _ordered(self) -> VerdictPolicy:
        if self.fairly_robust >= self.robust:
            raise ValueError("fairly_robust must be below robust")
        return self


class UncertaintyPolicy(_Policy):
    """Spreads per claim standing, their growth with age, how claims combine, rule and measured
    scores, weight sampling, verdict thresholds, and which probe measures each probe family."""

    spread: dict[str, float] = Field(
        description="sd (score points, 0-5 scale) of a score resting on one claim, per standing"
    )
    fallback: float = Field(gt=0, le=5, description="sd for a standing `spread` does not name")
    combine: Literal["rms", "max", "inverse_variance"]
    rule_floor: float = Field(ge=0, le=5, description="the least sd a rule's adjustment adds")
    max_sd: float = Field(gt=0, le=5, description="no score is more uncertain than this")
    age: AgePolicy
    measurement: MeasurementPolicy
    deployment: DeploymentPolicy = DeploymentPolicy(confirmed=1.0, contradicted=1.0)
    """without the table, measured deployment paths leave the spread alone"""
    weights: WeightPolicy
    verdict: VerdictPolicy
    probes: dict[str, str] = Field(
        min_length=1,
        description="probe family (knowledge/calibration.toml) -> the probe that measures it; "
        "`memory` for the memory score",
    )

    @model_validator(mode="after")
    def _complete(self) -> UncertaintyPolicy:
        missing = [s for s in REQUIRED_STANDINGS if s not in self.spread]
        if missing:
            raise ValueError(f"spread lacks: {', '.join(missing)}")
        if any(not 0 < sd <= 5 for sd in self.spread.values()):
            raise ValueError("every spread must be above 0 and at most 5")
        if "memory" not in self.probes:
            raise ValueError("probes needs `memory` (the probe behind the memory score)")
        return self

    def standing_sd(self, standing: str) -> float:
        return self.spread.get(standing, self.fallback)
