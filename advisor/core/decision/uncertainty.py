"""How uncertain each criterion score is, derived from the evidence behind it.

A score rests on claims: the prior's claims, and for each rule that adjusted it, the rule's claims.
Each claim gets a *standing* and a spread (knowledge/uncertainty.toml):

- standing: its verdict where that is not `holds` (outdated, wrong, imprecise...); `unverified`
  for a claim that holds but was never dated as checked (no `checked`) or rests on a seed article
  alone; else `current`.
- spread: the standing's sd, grown with the days since `checked` relative to the claim's shelf
  life (`shelf`, a kind or a number of days): x (1 + growth x age / shelf life), capped. A claim
  older than its shelf life is *stale*.

A score's spread: its prior's claims combined (root mean square by default, see the policy); a
calibrated score takes (1 - c) of that plus c of the measured score's spread (its figures' CV); a
rule that sets a level replaces the prior's part, and every rule adjustment adds its own claims'
spread (at least the policy's floor) in quadrature. A front-end's inherited prior moves with its
backend's score (the spread is shared, `shared_with`) plus its own delta's spread.

Pure: the date to measure ages against comes in as an argument (absent: the newest `checked` date
in the knowledge, so the result depends on nothing but its inputs).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from advisor.core.calibration import probe_family
from advisor.core.criteria import LABELS, Criterion
from advisor.core.decision.uncertainty_policy import UncertaintyPolicy
from advisor.core.in_force import knowledge_in_force
from advisor.core.knowledge import Claim, Knowledge, Rule, Verdict
from advisor.core.recommendation import CriterionScore, FrameworkCalibration, Recommendation

MEASURED = (Criterion.RUNTIME_PERFORMANCE, Criterion.MEMORY_EFFICIENCY)
_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ClaimStanding(_Out):
    """One claim behind a score, with how much it is trusted today."""

    id: str = Field(description="the claim's id (`advisor claims` lists it)")
    standing: str = Field(
        description="current | unverified | outdated | wrong | imprecise ... (the verdict where "
        "it is not `holds`; `unverified` when never dated as checked or only a seed says so)"
    )
    checked: str | None = Field(None, description="when its source was last read (ISO date)")
    age_days: int | None = Field(None, description="days from `checked` to the analysis date")
    shelf_life_days: float = Field(description="days it stays fresh (its shelf-life kind)")
    stale: bool = Field(description="older than its shelf life: re-check it")
    sd: float = Field(description="its spread in score points (0-5 scale)")


class ScoreSpread(_Out):
    """The uncertainty of one framework's (or one backend option's) score on one criterion."""

    framework: str = Field(description="the framework's registry id")
    backend: str | None = Field(None, description="for a front-end: the backend this row is on")
    criterion: Criterion = Field(description="the criterion scored")
    score: float = Field(description="the engine's score (0-5), the centre of the distribution")
    sd: float = Field(description="standard deviation of the score (0-5 scale)")
    own_sd: float = Field(
        description="the part not shared with the backend (equals sd unless `shared_with`)"
    )
    shared_with: str | None = Field(
        None, description="the backend whose score this one moves with (an inherited prior)"
    )
    measured: bool = Field(False, description="a measurement's spread is part of it")
    claims: list[ClaimStanding] = Field(
        default_factory=list, description="the claims behind the score (prior and rules)"
    )
    text: str = Field(description='e.g. "3.50 ± 0.60 — from two claims, one unverified"')


class ScoreUncertainty(_Out):
    """Every score's spread for a recommendation."""

    as_of: str | None = Field(None, description="the date claim ages are measured at")
    spreads: list[ScoreSpread] = Field(description="one per scored row and criterion")

    def of(
        self, framework: str, criterion: Criterion, backend: str | None = None
    ) -> ScoreSpread | None:
        for spread in self.spreads:
            if (
                spread.framework == framework
                and spread.criterion is criterion
                and (backend is None or spread.backend == backend)
            ):
                return spread
        return None


class _Prepared(NamedTuple):
    rules: Mapping[str, Rule]
    newest_check: date | None


_PREPARED: weakref.WeakKeyDictionary[Knowledge, _Prepared] = weakref.WeakKeyDictionary()


def _prepared(knowledge: Knowledge) -> _Prepared:
    found = _PREPARED.get(knowledge)
    if found is None:
        checks = [d for d in (checked_date(c) for c in knowledge.claims.values()) if d is not None]
        found = _PREPARED[knowledge] = _Prepared(
            rules={compiled.rule.id: compiled.rule for compiled in knowledge.rules},
            newest_check=max(checks) if checks else None,
        )
    return found


_POLICIES: weakref.WeakKeyDictionary[Knowledge, UncertaintyPolicy] = weakref.WeakKeyDictionary()


def policy_of(knowledge: Knowledge) -> UncertaintyPolicy:
    """The knowledge's uncertainty policy as a model (the knowledge keeps it as plain data)."""
    found = _POLICIES.get(knowledge)
    if found is None:
        raw = getattr(knowledge, "uncertainty", None)
        if isinstance(raw, UncertaintyPolicy):
            found = raw
        elif raw:
            found = UncertaintyPolicy.model_validate(raw)
        else:
            raise ValueError(
                "this knowledge has no uncertainty policy (knowledge/uncertainty.toml)"
            )
        _POLICIES[knowledge] = found
    return found


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for size, suffix in ((10, ""), (7, "-01"), (4, "-01-01")):
            if len(text) >= size:
                try:
                    return date.fromisoformat(text[:size] + suffix)
                except ValueError:
                    continue
    return None


def checked_date(claim: Claim) -> date | None:
    """When the claim's source was last read, if the knowledge says (`checked`)."""
    return _as_date(getattr(claim, "checked", None))


def claim_standing(claim: Claim, policy: UncertaintyPolicy, as_of: date | None) -> ClaimStanding:
    """A claim's standing and spread as of a date."""
    verdict = getattr(claim.verdict, "value", str(claim.verdict))
    checked = checked_date(claim)
    if verdict != Verdict.HOLDS.value:
        standing = verdict
    elif checked is None or (not claim.references and not claim.corrected_by):
        standing = "unverified"
    else:
        standing = "current"
    shelf = policy.age.shelf_life(getattr(claim, "shelf", None))
    age: int | None = None
    sd = policy.standing_sd(standing)
    if checked is not None and as_of is not None:
        age = max(0, (as_of - checked).days)
        sd *= policy.age.factor(age, shelf)
    return ClaimStanding(
        id=claim.id,
        standing=standing,
        checked=checked.isoformat() if checked else None,
        age_days=age,
        shelf_life_days=shelf,
        stale=age is not None and age > shelf,
        sd=round(sd, 4),
    )


def combine(sds: Sequence[float], policy: UncertaintyPolicy) -> float:
    """Several claims' spreads as one (the policy's rule; no claim: the fallback spread)."""
    if not sds:
        return policy.fallback
    if policy.combine == "max":
        return max(sds)
    if policy.combine == "inverse_variance":
        return 1.0 / math.sqrt(sum(1.0 / (s * s) for s in sds))
    return math.sqrt(sum(s * s for s in sds) / len(sds))


def _count(n: int, noun: str) -> str:
    return f"{_number(n)} {noun}{'' if n == 1 else 's'}"


def _claims_words(standings: Sequence[ClaimStanding]) -> str:
    """ "two claims, one unverified, one stale"; "one unverified claim"."""
    by_standing: dict[str, int] = {}
    for s in standings:
        if s.standing != "current":
            by_standing[s.standing] = by_standing.get(s.standing, 0) + 1
    stale = sum(1 for s in standings if s.stale)
    if len(by_standing) == 1 and sum(by_standing.values()) == len(standings) and not stale:
        (name,) = by_standing
        return _count(len(standings), f"{name} claim")
    notes = [f"{_number(n)} {name}" for name, n in by_standing.items()]
    if stale:
        notes.append(f"{_number(stale)} stale")
    return ", ".join([_count(len(standings), "claim"), *notes])


def _number(n: int) -> str:
    return _WORDS[n] if n < len(_WORDS) else str(n)


def _measured_sd(
    fc: FrameworkCalibration,
    criterion: Criterion,
    prior: float,
    calibrated: float,
    policy: UncertaintyPolicy,
    assumed_cv: float,
) -> tuple[float, float, float]:
    """(confidence, measured score, its sd) of a calibrated score."""  # fmt: skip
    c = fc.confidence
    measured = (calibrated - (1 - c) * prior) / c if c > 0 else calibrated
    memory = criterion is Criterion.MEMORY_EFFICIENCY
    figures = [f for f in fc.figures if (probe_family(f.probe, f.params) == "memory") == memory]
    total = sum(f.weight for f in figures)
    cv = (
        sum(f.weight * (f.cv if f.cv is not None else assumed_cv) for f in figures) / total
        if total > 0
        else assumed_cv
    )
    sd = max(policy.measurement.floor, abs(measured) * cv * policy.measurement.cv_factor)
    return c, measured, sd


def _level_rule(rule: Rule, framework: str, backend: str | None, criterion: Criterion) -> bool:
    return any(
        e.level is not None
        and e.framework == framework
        and e.criterion is criterion
        and (e.backend is None or e.backend == backend)
        for e in rule.effects
    )


def _rows(
    recommendation: Recommendation,
) -> list[tuple[str, str | None, Sequence[CriterionScore]]]:
    """(framework, backend, scores) of every scored row, in ranking order."""
    rows: list[tuple[str, str | None, Sequence[CriterionScore]]] = []
    for ranked in recommendation.ranking:
        if ranked.options:
            rows.append((ranked.framework, ranked.options[0].backend, ranked.criteria))
            rows.extend((ranked.framework, o.backend, o.criteria) for o in ranked.options[1:])
        else:
            rows.append((ranked.framework, None, ranked.criteria))
    return rows


def score_uncertainty(
    recommendation: Recommendation,
    *,
    knowledge: Knowledge | None = None,
    as_of: date | None = None,
) -> ScoreUncertainty:
    """Mean and sd of every ranked framework's score on every criterion (and of every backend
    option of a front-end), each with a short text saying what it rests on."""
    kb = knowledge_in_force(knowledge)
    policy = policy_of(kb)
    prepared = _prepared(kb)
    when = as_of if as_of is not None else prepared.newest_check
    standings: dict[str, ClaimStanding] = {}

    def standing(claim_id: str) -> ClaimStanding:
        found = standings.get(claim_id)
        if found is None:
            found = standings[claim_id] = claim_standing(kb.claims[claim_id], policy, when)
        return found

    calibration = {fc.framework: fc for fc in recommendation.calibration.frameworks}
    in_order = _rows(recommendation)
    # natives first: an inherited prior needs its backend's spread
    rows = sorted(in_order, key=lambda row: row[1] is not None)
    native_sd: dict[tuple[str, Criterion], float] = {}
    out: dict[tuple[str, str | None, Criterion], ScoreSpread] = {}

    def prior_only_sd(framework: str, criterion: Criterion) -> float:
        """A backend not ranked itself: the spread of its prior's claims."""
        prior = kb.frameworks[framework].priors[criterion]
        return combine([standing(c).sd for c in prior.claims], policy)

    deployment_states = {
        (ranked.framework, ranked.backend): {path.state for path in ranked.deployment}
        for ranked in recommendation.ranking
        if ranked.deployment
    }
    for framework, backend, criteria in rows:
        profile = kb.frameworks[framework]
        for score in criteria:
            criterion = score.criterion
            prior = profile.priors[criterion]
            cited = [standing(c) for c in prior.claims]
            prior_sd = combine([c.sd for c in cited], policy)
            shared: str | None = None
            shared_sd = 0.0
            parts: list[str] = []
            if prior.inherit and backend is not None:
                shared = backend
                shared_sd = native_sd.get((backend, criterion)) or prior_only_sd(backend, criterion)
                capped = prior.at_most is not None and score.prior >= prior.at_most - 1e-9
                own = prior_sd if (prior.delta or capped) else 0.0
                parts.append(
                    f"from the backend ({kb.frameworks[backend].name}, ± {shared_sd:.2f})"
                    + (f", moved by {_claims_words(cited)}" if own else "")
                )
            else:
                own = prior_sd
                parts.append(f"from {_claims_words(cited)}")
            measured = False
            fc = calibration.get(framework)
            if score.calibrated is not None and fc is not None and fc.confidence > 0:
                c, _, measured_sd = _measured_sd(
                    fc, criterion, score.prior, score.calibrated, policy,
                    kb.calibration.assumed_cv,
                )  # fmt: skip
                own = math.hypot((1 - c) * own, c * measured_sd)
                measured = True
                parts.append(f"measured (± {measured_sd:.2f}, counts {c:.0%})")
            variance = own * own
            rule_claims: list[ClaimStanding] = []
            named: list[str] = []
            for adjustment in score.adjustments:
                rule = prepared.rules.get(adjustment.rule)
                if rule is None:
                    continue
                level = _level_rule(rule, framework, backend, criterion)
                if not level and abs(adjustment.delta) < 1e-9:
                    continue
                mine = [standing(c) for c in rule.claims]
                rule_claims.extend(mine)
                rule_sd = max(policy.rule_floor, combine([c.sd for c in mine], policy))
                if level:  # the level replaces the prior (and what the backend gave)
                    variance, shared, shared_sd, measured = 0.0, None, 0.0, False
                    parts = []
                    named.append(f"set by rule {rule.id} ({_claims_words(mine)})")
                else:
                    named.append(f"rule {rule.id} {adjustment.delta:+.2f}")
                variance += rule_sd * rule_sd
            if named:
                shown = named[:2] + ([f"{len(named) - 2} more rules"] if len(named) > 2 else [])
                parts.append("; ".join(shown))
            own_sd = min(policy.max_sd, math.sqrt(variance))
            states = deployment_states.get((framework, backend), set())
            if criterion is Criterion.DEPLOYMENT and states:
                if "failed" in states:
                    factor, why = policy.deployment.contradicted, "a claimed path failed here"
                elif "ok" in states:
                    factor, why = policy.deployment.confirmed, "a path worked here"
                else:
                    factor, why = 1.0, ""
                if factor != 1.0:
                    own_sd = min(policy.max_sd, own_sd * factor)
                    parts.append(f"deployment probes: {why} (x{factor:g})")
            sd = min(policy.max_sd, math.hypot(own_sd, shared_sd))
            if backend is None:
                native_sd[(framework, criterion)] = sd
            claims = list({c.id: c for c in [*cited, *rule_claims]}.values())
            out[(framework, backend, criterion)] = ScoreSpread(
                framework=framework,
                backend=backend,
                criterion=criterion,
                score=score.score,
                sd=round(sd, 4),
                own_sd=round(own_sd, 4),
                shared_with=shared,
                measured=measured,
                claims=claims,
                text=f"{score.score:.2f} ± {sd:.2f} — " + "; ".join(parts),
            )
    ordered = [
        out[(fw, backend, score.criterion)]
        for fw, backend, criteria in in_order
        for score in criteria
    ]
    return ScoreUncertainty(as_of=when.isoformat() if when else None, spreads=ordered)


def least_certain(claims: Iterable[ClaimStanding], limit: int = 2) -> list[ClaimStanding]:
    """The claims most worth checking: the widest spread first, then stale ones, by id."""
    return sorted(claims, key=lambda c: (-c.sd, not c.stale, c.id))[:limit]


def label(criterion: Criterion) -> str:
    return LABELS[criterion].lower()
