"""The calibration policy as validated data (knowledge/calibration.toml): how much each probe
family counts for a questionnaire, and how confidence in measured figures is discounted."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from advisor.core.questionnaire import Requirements, Stage, Task

Weights = dict[str, float]


class FrontendPolicy(BaseModel):
    """How a front-end's measured overhead over its backend calibrates its runtime score
    (advisor/core/frontend_calibration.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    probe: str = Field(min_length=1)
    max_confidence: float = Field(gt=0, le=1)
    model_family: dict[str, str] = Field(min_length=1)
    """model param of the overhead records -> the runtime family whose weight it gets"""
    replaces_rules: list[str] = Field(default_factory=list)
    """rules whose runtime delta is a guess at the same overhead: scaled by (1 - confidence)"""


class CalibrationPolicy(BaseModel):
    """Every number calibration uses; nothing here has a default, so the data file says it all."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    max_confidence: float = Field(gt=0, le=1)
    assumed_cv: float = Field(ge=0, le=1)
    noisy_cv: float = Field(gt=0, le=1)
    noisy_factor: float = Field(gt=0, le=1)
    """confidence kept by figures measured on a busy machine (weighted by their share)"""
    fresh_days: float = Field(ge=0)
    stale_days: float = Field(gt=0)
    stale_factor: float = Field(ge=0, le=1)
    mismatch_factor: float = Field(ge=0, le=1)
    partial_match_factor: float = Field(ge=0, le=1)
    memory_weight: float = Field(ge=0)
    base_weight: Weights = Field(min_length=1)
    task_weight: dict[Task, Weights]
    latency_critical_weight: Weights
    stage_weight: dict[Stage, Weights]
    counts_for: dict[str, list[str]] = Field(default_factory=dict)
    """a family -> families its task, latency and stage weights count for too (the worker times
    the MLP step as mlp_eager and mlp_compiled; a task that stresses mlp_train means both)"""
    frontend: FrontendPolicy | None = None
    """absent: a front-end's runtime score is its prior's (no measured overhead is used)"""

    @model_validator(mode="after")
    def _consistent(self) -> CalibrationPolicy:
        if self.stale_days <= self.fresh_days:
            raise ValueError("stale_days must be later than fresh_days")
        missing = [t.value for t in Task if t not in self.task_weight]
        if missing:
            raise ValueError(f"task_weight lacks: {', '.join(missing)}")
        tables = [self.latency_critical_weight, *self.task_weight.values()]
        tables += self.stage_weight.values()
        unknown = sorted({f for table in tables for f in table} - set(self.base_weight))
        if unknown:
            raise ValueError(f"weights name families without a base weight: {', '.join(unknown)}")
        named = {f for family, into in self.counts_for.items() for f in (family, *into)}
        if named - set(self.base_weight):
            raise ValueError(
                "counts_for names families without a base weight: "
                + ", ".join(sorted(named - set(self.base_weight)))
            )
        if any(w < 0 for table in [self.base_weight, *tables] for w in table.values()):
            raise ValueError("weights must not be negative")
        if self.frontend is not None:
            strange = sorted(set(self.frontend.model_family.values()) - set(self.base_weight))
            if strange:
                raise ValueError(
                    f"frontend.model_family names unknown families: {', '.join(strange)}"
                )
        return self

    def family_weights(self, requirements: Requirements) -> Weights:
        """How much each probe family counts for this questionnaire."""
        weights = dict(self.base_weight)
        extras = [self.task_weight[task] for task in requirements.project.tasks]
        if requirements.deployment.latency_critical:
            extras.append(self.latency_critical_weight)
        extras.append(self.stage_weight.get(requirements.project.stage, {}))
        for extra in extras:
            for family, weight in extra.items():
                for counted in (family, *self.counts_for.get(family, ())):
                    weights[counted] += weight
        return weights

    def age_factor(self, age_days: float) -> float:
        """1 while fresh, falling linearly by 0.3 until stale, then the stale factor."""
        if age_days <= self.fresh_days:
            return 1.0
        if age_days <= self.stale_days:
            return 1.0 - 0.3 * (age_days - self.fresh_days) / (self.stale_days - self.fresh_days)
        return self.stale_factor
