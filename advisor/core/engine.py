"""The rules engine: score every framework against a questionnaire, with an evidence trail.

Scoring, in order:
1. Exclusions: the user's `constraints.exclude`, `require_maintained` against each profile's
   lifecycle, and rules with exclude effects. Excluded frameworks are reported, not ranked.
2. Base scores: each profile's prior per criterion (0-5); runtime and memory are blended with
   probe measurements when given (see `calibration`).
3. Rules whose condition holds add deltas to criterion scores (clamped to 0-5), add caveats, or
   scale a criterion's relevance for this questionnaire.
4. Weights: task_fit has a fixed weight; every other criterion weighs its priority (0-5) times
   its relevance (the smallest factor of the relevance rules that fired, else 1).
5. Score = sum(weight x score) / (5 x sum(weight)) x 100. Each criterion's contribution is its
   share of that total, so contributions add up to the score.

Pure: no files, clock or subprocesses; the knowledge and measurements come in as data.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel

from advisor.core.criteria import CRITERIA, LABELS, Criterion
from advisor.core.in_force import knowledge_in_force
from advisor.core.knowledge import (
    Claim,
    CompiledRule,
    Effect,
    FrameworkProfile,
    Knowledge,
    Lifecycle,
    Reference,
    Rule,
)
from advisor.core.questionnaire import Requirements
from advisor.core.recommendation import (
    OUTPUT_VERSION,
    Adjustment,
    BackendOption,
    Calibration,
    Caveat,
    ClaimEvidence,
    CriterionScore,
    DeploymentPathResult,
    Exclusion,
    RankedFramework,
    Reason,
    Recommendation,
    RuleEvidence,
    SourceRef,
)
from probes.records import Measurements

_REASONS_PER_FRAMEWORK = 3

_M = TypeVar("_M", bound=BaseModel)


def _make(model: type[_M], **values: Any) -> _M:
    """Build an output model from values the engine computed, without validating them again.

    This is pydantic's `model_construct` minus its per-field default and alias handling, which
    dominated the engine's run time; every call passes every field, and a test checks that the
    results equal validated models.
    """
    obj = model.__new__(model)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


class _Prepared(NamedTuple):
    """Evidence objects built once per knowledge base, so each recommendation only assembles."""

    rules: Mapping[str, Rule]
    claims: Mapping[str, ClaimEvidence]
    rule_claims: Mapping[str, tuple[ClaimEvidence, ...]]
    effects: Mapping[tuple[str, str], list[str]]
    by_framework: Mapping[str, tuple[tuple[CompiledRule, tuple[Effect, ...]], ...]]
    """per framework, the rules with effects on it (in knowledge order) and those effects"""


_PREPARED: weakref.WeakKeyDictionary[Knowledge, _Prepared] = weakref.WeakKeyDictionary()


def _reference_ref(ref: Reference) -> SourceRef:
    return _make(SourceRef, id=ref.id, label=ref.title, url=ref.url)


def claim_evidence(claim: Claim, knowledge: Knowledge) -> ClaimEvidence:
    """A claim with its verdict and resolved sources, ready to show or serialise."""
    source = None
    if claim.source is not None:
        seed = knowledge.seeds[claim.source.seed]
        source = _make(
            SourceRef,
            id=f"seed:{seed.id}:{claim.source.section}:{claim.source.item}",
            label=f"{claim.source.label()} ({seed.file})",
            url=None,
        )
    return _make(
        ClaimEvidence,
        id=claim.id,
        kind=claim.kind,
        text=claim.text,
        verdict=claim.verdict,
        frameworks=claim.frameworks,
        source=source,
        correction=claim.correction,
        references=[_reference_ref(knowledge.references[r]) for r in claim.references],
        checked=claim.checked,
        versions=claim.versions,
    )


class _ClaimEvidence(dict[str, ClaimEvidence]):
    """Claim id -> evidence, each built on first use (a cold CLI needs only a few dozen)."""

    def __init__(self, knowledge: Knowledge) -> None:
        super().__init__()
        self.knowledge = knowledge

    def __missing__(self, claim_id: str) -> ClaimEvidence:
        evidence = self[claim_id] = claim_evidence(self.knowledge.claims[claim_id], self.knowledge)
        return evidence


class _RuleClaims(dict[str, tuple[ClaimEvidence, ...]]):
    def __init__(self, rules: Mapping[str, Rule], claims: _ClaimEvidence) -> None:
        super().__init__()
        self.rules = rules
        self.claims = claims

    def __missing__(self, rule_id: str) -> tuple[ClaimEvidence, ...]:
        found = self[rule_id] = tuple(self.claims[c] for c in self.rules[rule_id].claims)
        return found


class _Effects(dict[tuple[str, str], list[str]]):
    def __init__(self, rules: Mapping[str, Rule]) -> None:
        super().__init__()
        self.rules = rules

    def __missing__(self, key: tuple[str, str]) -> list[str]:
        rule_id, framework = key
        found = self[key] = [
            e.describe() for e in self.rules[rule_id].effects if e.framework == framework
        ]
        return found


def _prepare(knowledge: Knowledge) -> _Prepared:
    prepared = _PREPARED.get(knowledge)
    if prepared is None:
        claims = _ClaimEvidence(knowledge)
        rules = {compiled.rule.id: compiled.rule for compiled in knowledge.rules}
        by_framework: dict[str, list[tuple[CompiledRule, tuple[Effect, ...]]]] = {}
        for compiled in knowledge.rules:
            for framework in dict.fromkeys(e.framework for e in compiled.rule.effects):
                if framework is not None:
                    mine = tuple(e for e in compiled.rule.effects if e.framework == framework)
                    by_framework.setdefault(framework, []).append((compiled, mine))
        prepared = _Prepared(
            rules=rules,
            claims=claims,
            rule_claims=_RuleClaims(rules, claims),
            effects=_Effects(rules),
            by_framework={fw: tuple(pairs) for fw, pairs in by_framework.items()},
        )
        _PREPARED[knowledge] = prepared
    return prepared


def _exclusions(
    requirements: Requirements, knowledge: Knowledge, fired: Iterable[CompiledRule]
) -> dict[str, Exclusion]:
    reasons: dict[str, list[str]] = {}
    rules: dict[str, list[str]] = {}
    constraints = requirements.constraints
    for named in constraints.exclude:
        reasons.setdefault(named, []).append("excluded by your constraints (constraints.exclude)")
    if constraints.candidates:
        for known in knowledge.frameworks:
            if known not in constraints.candidates:
                reasons.setdefault(known, []).append(
                    "not among the frameworks you choose from (constraints.candidates)"
                )
    if requirements.constraints.require_maintained:
        for framework, profile in knowledge.frameworks.items():
            if not profile.maintained:
                reasons.setdefault(framework, []).append(
                    f"{profile.lifecycle.value}, not maintained (constraints.require_maintained): "
                    f"{profile.lifecycle_note}"
                )
    for compiled in fired:
        for effect in compiled.rule.effects:
            if effect.exclude and effect.framework is not None:
                reasons.setdefault(effect.framework, []).append(compiled.rule.rationale)
                rules.setdefault(effect.framework, []).append(compiled.rule.id)
    return {
        fw: _make(
            Exclusion,
            framework=fw,
            name=knowledge.frameworks[fw].name,
            reasons=reasons[fw],
            rules=rules.get(fw, []),
        )
        for fw in knowledge.frameworks
        if fw in reasons
    }


def _weights(
    requirements: Requirements, knowledge: Knowledge, fired: Iterable[CompiledRule]
) -> dict[Criterion, float]:
    """Priority x relevance per criterion (task fit has its fixed weight).

    Relevance is the strongest damping (factors below 1) times the strongest stress (above 1) among
    the rules that fired, so two rules saying the same thing do not compound.
    """
    damping: dict[Criterion, float] = {}
    stress: dict[Criterion, float] = {}
    for compiled in fired:
        for effect in compiled.rule.effects:
            factor, criterion = effect.relevance, effect.criterion
            if factor is None or criterion is None:
                continue
            if factor < 1.0:
                damping[criterion] = min(damping.get(criterion, 1.0), factor)
            else:
                stress[criterion] = max(stress.get(criterion, 1.0), factor)
    priorities = requirements.priorities
    weights = {Criterion.TASK_FIT: knowledge.scoring.task_fit_weight}
    for criterion in CRITERIA[1:]:
        relevance = damping.get(criterion, 1.0) * stress.get(criterion, 1.0)
        weights[criterion] = getattr(priorities, criterion.value) * relevance
    return weights


def criterion_relevance(
    requirements: Requirements, knowledge: Knowledge | None = None
) -> dict[Criterion, float]:
    """How much each criterion counts for these answers before priorities (priority-1 weights).

    The robustness analysis needs it where a priority is 0 and the weight hides the relevance.
    """
    kb = knowledge_in_force(knowledge)
    fired = [compiled for compiled in kb.rules if compiled.applies(requirements)]
    ones = requirements.priorities.model_copy(
        update=dict.fromkeys(type(requirements.priorities).model_fields, 1)
    )
    return _weights(requirements.model_copy(update={"priorities": ones}), kb, fired)


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


class _Scored(NamedTuple):
    profile: FrameworkProfile
    criteria: list[CriterionScore]
    evidence: list[RuleEvidence]
    caveats: list[Caveat]
    score: float


def _score_framework(
    framework: str,
    knowledge: Knowledge,
    prepared: _Prepared,
    fired: frozenset[str],
    weights: Mapping[Criterion, float],
    calibrated: Mapping[Criterion, float],
    calibration_caveats: list[Caveat],
    inherited: Mapping[Criterion, float] | None = None,
    backend: str | None = None,
    rule_scale: Mapping[tuple[str, Criterion], float] | None = None,
    measured_evidence: Mapping[Criterion, str] | None = None,
) -> _Scored:
    """One framework's scores; a front-end is scored on one `backend`, its inheriting priors
    starting from that backend's scores for these answers (`inherited`). `rule_scale` scales a
    rule's delta on a criterion (a measurement that replaces the rule's guess);
    `measured_evidence` names the measurement behind a calibrated score."""
    rule_scale = rule_scale or {}
    measured_evidence = measured_evidence or {}
    profile = knowledge.frameworks[framework]
    inherited = inherited or {}
    low, high = knowledge.scoring.score_min, knowledge.scoring.score_max
    total_weight = sum(weights.values())
    points_per_unit = 100.0 / (high * total_weight)

    deltas: dict[Criterion, list[tuple[str, float]]] = {}
    levels: dict[Criterion, tuple[str, float]] = {}
    caveats: list[Caveat] = []
    touching: list[CompiledRule] = []
    for compiled, effects in prepared.by_framework.get(framework, ()):
        if compiled.rule.id not in fired:
            continue
        touches = False
        for effect in effects:
            if effect.backend is not None and effect.backend != backend:
                continue
            touches = True
            if effect.delta is not None and effect.criterion is not None:
                factor = rule_scale.get((compiled.rule.id, effect.criterion), 1.0)
                deltas.setdefault(effect.criterion, []).append(
                    (compiled.rule.id, effect.delta * factor)
                )
            elif effect.level is not None and effect.criterion is not None:
                current = levels.get(effect.criterion)
                if current is None or effect.level < current[1]:
                    levels[effect.criterion] = (compiled.rule.id, effect.level)
            elif effect.caveat is not None:
                caveats.append(
                    _make(
                        Caveat,
                        message=effect.caveat,
                        rule=compiled.rule.id,
                        claims=list(compiled.rule.claims),
                    )
                )
        if touches:
            touching.append(compiled)

    criteria: list[CriterionScore] = []
    effective: dict[str, float] = {}
    total = 0.0
    for criterion in CRITERIA:
        prior = profile.priors[criterion]
        prior_value = prior.base(inherited.get(criterion))
        base = calibrated.get(criterion, prior_value)
        level = levels.get(criterion)
        if level is not None:
            # The weakest required level replaces the prior; it shows as an adjustment so
            # prior + adjustments still add up to the score.
            deltas.setdefault(criterion, []).insert(0, (level[0], level[1] - base))
        applied = deltas.get(criterion, [])
        raw_sum = sum(d for _, d in applied)
        final = _clamp(base + raw_sum, low, high)
        # Clamping can absorb part of the deltas; scale them so base + adjustments = final and
        # every point of the score stays attributed to a prior or a rule.
        scale = (final - base) / raw_sum if raw_sum else 0.0
        adjustments = [
            _make(Adjustment, rule=rule_id, delta=round(d * scale, 4)) for rule_id, d in applied
        ]
        weight = weights[criterion]
        contribution = weight * final * points_per_unit
        for rule_id, d in applied:
            effective[rule_id] = effective.get(rule_id, 0.0) + d * scale * weight * points_per_unit
        total += contribution
        criteria.append(
            _make(
                CriterionScore,
                criterion=criterion,
                prior=round(prior_value, 4),
                calibrated=calibrated.get(criterion),
                adjustments=adjustments,
                score=round(final, 4),
                weight=round(weight, 4),
                contribution=round(contribution, 4),
                prior_claims=list(prior.claims),
                measured=measured_evidence.get(criterion),
            )
        )

    evidence = [
        _make(
            RuleEvidence,
            rule=compiled.rule.id,
            rationale=compiled.rule.rationale,
            effects=prepared.effects[(compiled.rule.id, framework)],
            impact=round(effective.get(compiled.rule.id, 0.0), 4),
            claims=list(prepared.rule_claims[compiled.rule.id]),
        )
        for compiled in touching
    ]
    if profile.lifecycle is Lifecycle.RETIRED:
        caveats.insert(
            0,
            _make(
                Caveat,
                message=f"Retired: {profile.lifecycle_note}",
                rule=None,
                claims=list(profile.lifecycle_claims),
            ),
        )
    caveats.extend(
        _make(Caveat, message=c.message, rule=None, claims=list(c.claims))
        for c in profile.standing_caveats
    )
    caveats.extend(calibration_caveats)
    return _Scored(
        profile=profile, criteria=criteria, evidence=evidence, caveats=caveats, score=total
    )


def _reasons(
    scored: _Scored,
    rival: _Scored | None,
    prepared: _Prepared,
) -> list[Reason]:
    """The criteria where a framework gains most over its closest rival, each with its evidence."""
    rival_by = {c.criterion: c for c in rival.criteria} if rival else {}
    candidates: list[tuple[float, CriterionScore]] = []
    for mine in scored.criteria:
        theirs = rival_by.get(mine.criterion)
        advantage = mine.contribution - (theirs.contribution if theirs else 0.0)
        if advantage > 0.005:
            candidates.append((advantage, mine))
    candidates.sort(key=lambda pair: (-pair[0], pair[1].criterion.value))
    reasons: list[Reason] = []
    for advantage, mine in candidates[:_REASONS_PER_FRAMEWORK]:
        label = LABELS[mine.criterion]
        versus = ""
        if rival is not None:
            theirs = rival_by[mine.criterion]
            versus = f" vs {rival.profile.name} {theirs.score:.1f}"
        best_rule = max(mine.adjustments, key=lambda a: a.delta, default=None)
        if best_rule is not None and best_rule.delta > 0:
            why = prepared.rules[best_rule.rule].rationale
            claims = list(prepared.rule_claims[best_rule.rule])
        else:
            prior = scored.profile.priors[mine.criterion]
            claims = [prepared.claims[c] for c in prior.claims]
            why = prior.note or claims[0].text
        reasons.append(
            _make(
                Reason,
                summary=f"{label} {mine.score:.1f}/5{versus}: {why}",
                points=round(advantage, 2),
                claims=claims,
            )
        )
    return reasons


def recommend(
    requirements: Requirements,
    measurements: Measurements | None = None,
    *,
    knowledge: Knowledge | None = None,
) -> Recommendation:
    """Rank the frameworks for a questionnaire; deterministic and free of I/O.

    `measurements` (probe records and the time of asking) calibrate runtime and memory scores;
    `knowledge` defaults to the shipped knowledge base.
    """
    kb = knowledge_in_force(knowledge)
    _check_known(requirements, kb)
    prepared = _prepare(kb)
    fired = [compiled for compiled in kb.rules if compiled.applies(requirements)]
    fired_ids = frozenset(compiled.rule.id for compiled in fired)
    excluded = _exclusions(requirements, kb, fired)
    # Backends a front-end may run on: everything not ruled out, whether or not it is among the
    # candidates to pick from (choosing among Keras and PyTorch still lets Keras run on JAX).
    usable = _usable(requirements, kb, fired, excluded)
    natives = [fw for fw in kb.frameworks if fw in usable and kb.frameworks[fw].kind == "framework"]
    weights = _weights(requirements, kb, fired)

    priors = {
        fw: {c: p.score for c, p in kb.frameworks[fw].priors.items() if p.score is not None}
        for fw in natives
    }
    calibrated: Mapping[str, Mapping[Criterion, float]] = {}
    calibration = _make(
        Calibration,
        used=False,
        reason="no measurements given (run `advisor probe`)",
        frameworks=[],
        caveats=[],
        by_framework={},
    )
    if measurements is not None:
        from advisor.core.calibration import calibrate

        owners = kb.registry.codebase_owners(requirements.team.existing_codebase)
        calibrated, calibration = calibrate(
            requirements,
            measurements,
            priors,
            natives,
            policy=kb.calibration,
            names={fw: kb.frameworks[fw].name for fw in natives},
            leaving_codebase=bool(owners)
            and not any(kb.frameworks[fw].maintained for fw in owners),
        )
    calibration_caveats = _calibration_caveats(calibration)
    deployment = _deployment_evidence(requirements, measurements, kb)

    collective = _collective_evidence(measurements)
    scored: dict[str, _Scored] = {}
    for fw in natives:
        deployed, deploy_caveats, _ = deployment(fw, None)
        collected, collective_caveats = collective(fw)
        scored[fw] = _score_framework(
            fw,
            kb,
            prepared,
            fired_ids,
            weights,
            calibrated.get(fw, {}),
            calibration_caveats.get(fw, []) + deploy_caveats + collective_caveats,
            measured_evidence={**deployed, **collected},
        )
    options: dict[str, list[tuple[str, _Scored]]] = {}
    for fw, profile in kb.frameworks.items():
        if profile.kind != "frontend" or fw not in usable:
            continue
        backends = [b for b in profile.backends if b in scored]
        if not backends:
            excluded[fw] = _make(
                Exclusion,
                framework=fw,
                name=profile.name,
                reasons=["every backend it runs on is ruled out: " + ", ".join(profile.backends)],
                rules=[],
            )
            continue
        measured = _frontend_measured(requirements, measurements, kb, fw, backends)
        scored_options = []
        for b in backends:
            inherited = {c.criterion: c.score for c in scored[b].criteria}
            own = _frontend_option(kb, fw, b, measured, inherited)
            evidence, deploy_caveats, _ = deployment(fw, b)
            scored_options.append(
                (
                    b,
                    _score_framework(
                        fw, kb, prepared, fired_ids, weights, own.calibrated,
                        [_make(Caveat, message=m, rule="calibration", claims=[]) for m in own.caveats]
                        + deploy_caveats,
                        inherited=inherited, backend=b, rule_scale=own.rule_scale,
                        measured_evidence={**own.evidence, **evidence},
                    ),
                )
            )  # fmt: skip
        options[fw] = sorted(
            scored_options,
            key=lambda option: (-round(option[1].score, 6), kb.frameworks[option[0]].order),
        )
        scored[fw] = options[fw][0][1]
    eligible = [fw for fw in kb.frameworks if fw in scored and fw not in excluded]
    order = sorted(
        eligible,
        key=lambda fw: (
            -round(scored[fw].score, 6),
            -next(
                c.score for c in scored[fw].criteria if c.criterion is Criterion.LONG_TERM_SUPPORT
            ),
            kb.frameworks[fw].order,
        ),
    )
    ranking: list[RankedFramework] = []
    for rank, fw in enumerate(order, start=1):
        entry = scored[fw]
        rival_fw = order[1] if rank == 1 and len(order) > 1 else (order[0] if rank > 1 else None)
        rival = scored[rival_fw] if rival_fw is not None else None
        backend = options[fw][0][0] if fw in options else None
        ranking.append(
            _make(
                RankedFramework,
                rank=rank,
                framework=fw,
                name=_display_name(kb, fw, backend),
                backend=backend,
                options=[
                    _make(
                        BackendOption,
                        backend=b,
                        name=_display_name(kb, fw, b),
                        score=round(_clamp(option.score, 0.0, 100.0), 2),
                        criteria=option.criteria,
                    )
                    for b, option in options.get(fw, [])
                ],
                version=entry.profile.latest_version,
                lifecycle=entry.profile.lifecycle.value,
                score=round(_clamp(entry.score, 0.0, 100.0), 2),
                criteria=entry.criteria,
                evidence=entry.evidence,
                caveats=entry.caveats,
                reasons=_reasons(entry, rival, prepared),
                deployment=deployment(fw, backend)[2],
            )
        )
    margin = round(ranking[0].score - ranking[1].score, 2) if len(ranking) > 1 else None
    return _make(
        Recommendation,
        output_version=OUTPUT_VERSION,
        knowledge_version=kb.version,
        top_pick=ranking[0].framework if ranking else None,
        margin=margin,
        ranking=ranking,
        excluded=[excluded[fw] for fw in kb.frameworks if fw in excluded],
        calibration=calibration,
        overrides=_overrides(kb, prepared, fired, eligible),
        requirements=requirements,
    )


def _frontend_measured(
    requirements: Requirements,
    measurements: Measurements | None,
    knowledge: Knowledge,
    frontend: str,
    backends: list[str],
) -> Any:
    """The front-end's measured overheads per backend (None without measurements)."""
    if measurements is None or knowledge.calibration.frontend is None:
        return None
    from advisor.core.frontend_calibration import frontend_measurements

    return frontend_measurements(
        requirements, measurements, frontend, backends, policy=knowledge.calibration
    )


def _frontend_option(
    knowledge: Knowledge,
    frontend: str,
    backend: str,
    measured: Any,
    inherited: Mapping[Criterion, float],
) -> Any:
    """Calibrated runtime, rule scaling and caveats of a front-end on one backend."""
    from advisor.core.frontend_calibration import (
        OptionCalibration,
        option_calibration,
        summary_caveats,
    )

    if measured is None:
        return OptionCalibration({}, {}, [], {})
    names = {fw: p.name for fw, p in knowledge.frameworks.items()}
    runtime = Criterion.RUNTIME_PERFORMANCE
    prior = knowledge.frameworks[frontend].priors[runtime].base(inherited.get(runtime))
    label = names[frontend]
    own = option_calibration(
        measured,
        backend,
        inherited=inherited.get(runtime, prior),
        prior=prior,
        policy=knowledge.calibration,
        names=names,
        frontend_name=label,
    )
    others = summary_caveats(measured, names, label, besides=backend)
    return own._replace(caveats=[*own.caveats, *others])


def _display_name(knowledge: Knowledge, framework: str, backend: str | None) -> str:
    """'Keras 3 on JAX' for a front-end on a backend, else the framework's name."""
    name = knowledge.frameworks[framework].name
    return f"{name} on {knowledge.frameworks[backend].name}" if backend else name


def _usable(
    requirements: Requirements,
    knowledge: Knowledge,
    fired: Iterable[CompiledRule],
    excluded: Mapping[str, Exclusion],
) -> set[str]:
    """Frameworks not ruled out by anything but `constraints.candidates`."""
    if not requirements.constraints.candidates:
        return {fw for fw in knowledge.frameworks if fw not in excluded}
    open_set = requirements.model_copy(
        update={"constraints": requirements.constraints.model_copy(update={"candidates": []})}
    )
    blocked = _exclusions(open_set, knowledge, fired)
    return {fw for fw in knowledge.frameworks if fw not in blocked}


DeploymentFound = tuple[dict[Criterion, str], list[Caveat], list[DeploymentPathResult]]
DeploymentLookup = Callable[[str, str | None], DeploymentFound]


def _collective_evidence(
    measurements: Measurements | None,
) -> Callable[[str], tuple[dict[Criterion, str], list[Caveat]]]:
    """Per framework: the distributed-training criterion's measured line from the all-reduce
    probe, and a caveat when it failed (advisor.core.collective_evidence)."""
    if measurements is None:
        return lambda fw: ({}, [])
    from advisor.core.collective_evidence import collective_evidence

    def lookup(fw: str) -> tuple[dict[Criterion, str], list[Caveat]]:
        line, caveats = collective_evidence(fw, measurements.records)
        evidence = {Criterion.DISTRIBUTED_TRAINING: line} if line else {}
        return evidence, [_make(Caveat, message=m, rule="probe", claims=[]) for m in caveats]

    return lookup


def _deployment_evidence(
    requirements: Requirements, measurements: Measurements | None, kb: Knowledge
) -> DeploymentLookup:
    """Per framework (and backend): the deployment criterion's measured evidence and the
    caveats of claimed paths that failed here (advisor.core.deployment_evidence)."""
    targets = [t for t in requirements.deployment.targets if t.value != "none"]
    if kb.deployment is None or not targets:
        return lambda fw, backend: ({}, [], [])
    from advisor.core.deployment_evidence import deployment_evidence
    from advisor.core.deployment_paths import catalogue_of

    catalogue = catalogue_of(kb)

    names = {fw: profile.name for fw, profile in kb.frameworks.items()}
    found: dict[tuple[str, str | None], DeploymentFound] = {}

    def lookup(fw: str, backend: str | None) -> DeploymentFound:
        if (fw, backend) not in found:
            evidence = deployment_evidence(
                requirements, measurements, catalogue, fw, names=names, backend=backend
            )
            claims = sorted({c for o in evidence.outcomes for c in o.path.claims})
            paths = [
                _make(
                    DeploymentPathResult,
                    probe=o.path.probe,
                    label=o.path.label,
                    runtime=o.path.runtime,
                    state=o.state,
                    summary=summary,
                    claims=list(o.path.claims),
                )
                for o, summary in zip(evidence.outcomes, evidence.summaries, strict=True)
            ]
            found[(fw, backend)] = (
                {Criterion.DEPLOYMENT: evidence.measured} if evidence.measured else {},
                [
                    _make(Caveat, message=m, rule="deployment-probe", claims=claims)
                    for m in evidence.caveats
                ],
                paths,
            )
        return found[(fw, backend)]

    return lookup


def _calibration_caveats(calibration: Calibration) -> dict[str, list[Caveat]]:
    """Calibration caveats about one framework go to that framework's caveats."""
    return {
        fw: [_make(Caveat, message=m, rule="calibration", claims=[]) for m in messages]
        for fw, messages in calibration.by_framework.items()
    }


def _check_known(requirements: Requirements, knowledge: Knowledge) -> None:
    """Answers validated against another registry may name frameworks this knowledge lacks."""
    named = [
        *requirements.constraints.exclude,
        *requirements.constraints.candidates,
        *requirements.team.experience,
    ]
    unknown: list[str] = sorted({fw for fw in named if fw not in knowledge.frameworks})
    if requirements.team.existing_codebase not in knowledge.registry.codebases:
        unknown.append(requirements.team.existing_codebase)
    if unknown:
        raise ValueError(
            f"the answers name frameworks this knowledge base does not know: {', '.join(unknown)}"
        )


def _overrides(
    knowledge: Knowledge,
    prepared: _Prepared,
    fired: Iterable[CompiledRule],
    eligible: list[str],
) -> list[ClaimEvidence]:
    """Seed claims the advice overturns: those corrected by the claims it actually used."""
    used: set[str] = set()
    for compiled in fired:
        if any(e.framework in eligible or e.framework is None for e in compiled.rule.effects):
            used.update(compiled.rule.claims)
    for fw in eligible:
        used.update(knowledge.frameworks[fw].lifecycle_claims)
    seen: dict[str, ClaimEvidence] = {}
    for claim_id in sorted(used):
        for seed_claim in knowledge.overridden_by.get(claim_id, ()):
            seen.setdefault(seed_claim, prepared.claims[seed_claim])
    return [seen[k] for k in sorted(seen)]
