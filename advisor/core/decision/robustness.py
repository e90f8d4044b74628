"""How sure is the pick? Rank acceptability under nearby weightings, and a second method.

Stochastic multicriteria acceptability analysis (SMAA) in its simplest useful form: the criterion
scores stay as the engine computed them, the user's priorities are redrawn many times within
+/-1 of their answers (clipped to 0-5), and we count how often each framework ranks first, second,
third. Where probe measurements calibrated runtime and memory, those two scores are also redrawn
within the measured spread. A separate set of samples with priorities drawn uniformly from 0-5
shows how the frameworks fare with no preference information at all.

TOPSIS (closeness to the ideal and distance from the worst framework, per criterion) is run on the
same scores and weights as a second aggregation method; a different order is a caveat.

Pure and vectorised with numpy: about 2,000 samples in a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from advisor.core.criteria import CRITERIA, LABELS, Criterion
from advisor.core.engine import criterion_relevance
from advisor.core.knowledge import Knowledge
from advisor.core.recommendation import Recommendation

PERTURBATION = 1.0
UNIFORM_SHARE = 0.25
"""uniform-weight samples drawn besides the nearby ones, as a share of `samples`"""
ROBUST = 0.95
FAIRLY_ROBUST = 0.75
MEASURED = (Criterion.RUNTIME_PERFORMANCE, Criterion.MEMORY_EFFICIENCY)

FloatArray = np.ndarray


class Acceptability(BaseModel):
    model_config = ConfigDict(frozen=True)

    framework: str
    name: str
    rank_shares: list[float]
    """share of nearby weightings in which it ranks 1st, 2nd, ... (sums to 1)"""
    first_with_uniform_weights: float
    topsis_closeness: float


class RobustnessReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    verdict: str
    level: str
    """robust | fairly_robust | too_close | single | none"""
    top_pick: str | None
    first_share: float | None
    margin: float | None
    rank_acceptability: list[Acceptability]
    topsis_ranking: list[str]
    topsis_agreement: bool
    measured_spread_used: bool
    caveats: list[str]
    samples: int
    seed: int
    perturbation: float = PERTURBATION

    def _table(self) -> list[str]:
        ranks = len(self.rank_acceptability)
        header = "".join(f"{_ordinal(i + 1):>7}" for i in range(ranks))
        lines = [f"    {'':14}{header}   uniform  TOPSIS"]
        for row in self.rank_acceptability:
            shares = "".join(f"{s:>7.0%}" for s in row.rank_shares)
            lines.append(
                f"    {row.name:14}{shares}   {row.first_with_uniform_weights:>7.0%}"
                f"  {row.topsis_closeness:>6.2f}"
            )
        return lines

    def text_lines(self) -> list[str]:
        lines = [f"Robustness: {self.verdict}"]
        if len(self.rank_acceptability) > 1:
            lines.append(
                f"  rank shares over {self.samples} weightings within +/-{self.perturbation:g} of "
                f"your priorities (seed {self.seed}); uniform = first with random weights:"
            )
            lines.extend(self._table())
        lines.extend(f" ! {c}" for c in self.caveats)
        return lines

    def markdown_lines(self) -> list[str]:
        lines = [f"**{self.verdict}**", ""]
        if len(self.rank_acceptability) > 1:
            ranks = len(self.rank_acceptability)
            heads = " | ".join(_ordinal(i + 1) for i in range(ranks))
            lines += [
                f"| Framework | {heads} | first, uniform weights | TOPSIS closeness |",
                "|---" * (ranks + 3) + "|",
            ]
            for row in self.rank_acceptability:
                shares = " | ".join(f"{s:.0%}" for s in row.rank_shares)
                lines.append(
                    f"| {row.name} | {shares} | {row.first_with_uniform_weights:.0%} "
                    f"| {row.topsis_closeness:.2f} |"
                )
            lines += [
                "",
                f"*{self.samples} weightings within ±{self.perturbation:g} of your priorities, "
                f"seed {self.seed}.*",
            ]
        lines.extend(f"- ⚠ {c}" for c in self.caveats)
        return lines


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _ranks(totals: FloatArray) -> FloatArray:
    """Rank (0 = best) of each framework in each row; ties go to the engine's order."""
    order = np.argsort(-totals, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(totals.shape[0])[:, None]
    ranks[rows, order] = np.arange(totals.shape[1])[None, :]
    return ranks


def _totals(weights: FloatArray, scores: FloatArray) -> FloatArray:
    """Weighted-sum scores (0-100): weights (samples x criteria), scores (frameworks x criteria)
    or (samples x frameworks x criteria)."""
    norm = 5.0 * np.maximum(weights.sum(axis=1), 1e-12)
    if scores.ndim == 2:
        return np.asarray(100.0 * (weights @ scores.T) / norm[:, None])
    return np.asarray(100.0 * np.einsum("sc,sfc->sf", weights, scores) / norm[:, None])


def topsis(weights: FloatArray, scores: FloatArray) -> FloatArray:
    """TOPSIS closeness (0-1, higher is better) of each framework; every criterion is a benefit."""
    norms = np.linalg.norm(scores, axis=0)
    weighted = scores / np.where(norms > 0, norms, 1.0) * (weights / max(weights.sum(), 1e-12))
    best, worst = weighted.max(axis=0), weighted.min(axis=0)
    to_best = np.linalg.norm(weighted - best, axis=1)
    to_worst = np.linalg.norm(weighted - worst, axis=1)
    total = to_best + to_worst
    return np.where(total > 0, to_worst / np.where(total > 0, total, 1.0), 0.5)


def _criterion_weights(recommendation: Recommendation, criteria: Sequence[Criterion]) -> FloatArray:
    """The weight of each criterion as ranked (the same for every framework)."""
    weight_of = {c.criterion: c.weight for c in recommendation.ranking[0].criteria}
    return np.array([weight_of[k] for k in criteria])


def _relevance(
    recommendation: Recommendation, criteria: Sequence[Criterion], knowledge: Knowledge | None
) -> FloatArray:
    """How much the answers make each criterion count: its weight per priority point.

    Where the priority is above 0 this is read off the recommendation (weight / priority), so it
    matches whatever knowledge produced it. A priority of 0 leaves no weight to divide, so the
    relevance is derived again from the rules that fire for these answers: a criterion a rule
    switched off (relevance 0) stays off when its priority is nudged up, and one a rule stressed
    counts that much more. The rules are those that fire for the answers as given; no rule looks
    at priorities today, so holding them fixed while priorities move is exact."""
    requirements = recommendation.requirements
    priorities = requirements.priorities
    derived: dict[Criterion, float] | None = None
    out = []
    weights = _criterion_weights(recommendation, criteria)
    for criterion, weight in zip(criteria, weights, strict=True):
        if criterion is Criterion.TASK_FIT:
            out.append(1.0)  # fixed weight, never perturbed
            continue
        priority = getattr(priorities, criterion.value)
        if priority > 0:
            out.append(weight / priority)
            continue
        if derived is None:
            derived = criterion_relevance(requirements, knowledge)
        out.append(derived[criterion])
    return np.array(out)


def _verdict(names: list[str], shares: FloatArray, margin: float | None) -> tuple[str, str]:
    order = np.argsort(-shares, kind="stable")
    lead, lead_share = names[order[0]], shares[order[0]]
    points = f", {margin:.1f} points ahead as answered" if margin is not None else ""
    if lead_share >= ROBUST:
        return "robust", f"{lead} ranks first in {lead_share:.0%} of nearby weightings{points}."
    if lead_share >= FAIRLY_ROBUST:
        others = ", ".join(f"{names[i]} {shares[i]:.0%}" for i in order[1:] if shares[i] > 0)
        return "fairly_robust", (
            f"fairly robust: {lead} ranks first in {lead_share:.0%} of nearby weightings "
            f"({others}){points}."
        )
    listed = ", ".join(f"{names[i]} {shares[i]:.0%}" for i in order if shares[i] > 0)
    return "too_close", f"too close to call: {listed} first across nearby weightings{points}."


def analyse_robustness(
    recommendation: Recommendation,
    *,
    samples: int = 2000,
    seed: int = 0,
    knowledge: Knowledge | None = None,
) -> RobustnessReport:
    """Rank acceptability of the eligible frameworks around the user's priorities.

    `knowledge` is only read when a priority is 0 (to recover that criterion's relevance); pass
    the one the recommendation was made with if it is not the default."""
    ranked = recommendation.ranking
    base = {"samples": samples, "seed": seed, "margin": recommendation.margin}
    if len(ranked) < 2:
        only = ranked[0] if ranked else None
        return RobustnessReport(
            verdict=f"only {only.name} is eligible: nothing to compare."
            if only
            else "every framework is excluded: nothing to rank.",
            level="single" if only else "none",
            top_pick=only.framework if only else None,
            first_share=1.0 if only else None,
            rank_acceptability=[
                Acceptability(
                    framework=only.framework,
                    name=only.name,
                    rank_shares=[1.0],
                    first_with_uniform_weights=1.0,
                    topsis_closeness=1.0,
                )
            ]
            if only
            else [],
            topsis_ranking=[only.framework] if only else [],
            topsis_agreement=True,
            measured_spread_used=False,
            caveats=[],
            **base,
        )

    criteria = list(CRITERIA)
    frameworks = [r.framework for r in ranked]
    names = [r.name for r in ranked]
    score_of = [{c.criterion: c.score for c in r.criteria} for r in ranked]
    scores = np.array([[row[k] for k in criteria] for row in score_of])
    weights = _criterion_weights(recommendation, criteria)
    fixed = np.array([1.0 if k is Criterion.TASK_FIT else 0.0 for k in criteria])
    answered = np.array([
        0.0 if k is Criterion.TASK_FIT else getattr(recommendation.requirements.priorities, k.value)
        for k in criteria
    ])  # fmt: skip
    relevance = _relevance(recommendation, criteria, knowledge)
    task_weight = weights[criteria.index(Criterion.TASK_FIT)]
    rng = np.random.default_rng(seed)

    def weights_from(priorities: FloatArray) -> FloatArray:
        return np.asarray(priorities * relevance * (1 - fixed) + fixed * task_weight)

    nearby = np.clip(
        answered + rng.uniform(-PERTURBATION, PERTURBATION, (samples, len(criteria))), 0.0, 5.0
    )
    uniform = rng.uniform(0.0, 5.0, (max(1, int(samples * UNIFORM_SHARE)), len(criteria)))

    sampled_scores: FloatArray = scores
    spread_used = False
    sd = np.zeros_like(scores)
    for fc in recommendation.calibration.frameworks if recommendation.calibration.used else []:
        if fc.framework not in frameworks or not fc.figures:
            continue
        cvs = [f.cv for f in fc.figures if f.cv is not None]
        if not cvs:
            continue
        row = frameworks.index(fc.framework)
        for criterion in MEASURED:
            if criterion in fc.calibrated:
                column = criteria.index(criterion)
                sd[row, column] = fc.confidence * fc.calibrated[criterion] * float(np.median(cvs))
                spread_used = True
    if spread_used:
        noise = rng.standard_normal((samples, *scores.shape)) * sd
        sampled_scores = np.clip(scores[None, :, :] + noise, 0.0, 5.0)

    ranks = _ranks(_totals(weights_from(nearby), sampled_scores))
    shares = np.stack([(ranks == k).mean(axis=0) for k in range(len(frameworks))], axis=1)
    uniform_first = (_ranks(_totals(weights_from(uniform), scores)) == 0).mean(axis=0)

    closeness = topsis(weights, scores)
    topsis_order = [frameworks[i] for i in np.argsort(-closeness, kind="stable")]
    # The cross-check is about the pick: close runners-up may swap places between methods
    # without changing the advice (with four or more candidates they often do).
    agreement = topsis_order[0] == frameworks[0]

    level, verdict = _verdict(names, shares[:, 0], recommendation.margin)
    caveats = []
    if not agreement:
        caveats.append(
            f"A second method (TOPSIS) would pick {names[frameworks.index(topsis_order[0])]}: "
            + " > ".join(names[frameworks.index(f)] for f in topsis_order)
            + "; read the per-criterion scores before deciding."
        )
    if level != "robust" and uniform_first[0] < 0.5:
        caveats.append(
            f"With no preferences at all, {names[0]} would rank first only "
            f"{uniform_first[0]:.0%} of the time: the pick rests on your priorities."
        )
    deciding = _deciding_criteria(scores, weights, criteria)
    if level == "too_close" and deciding:
        caveats.append("What decides it: " + ", ".join(deciding) + ".")
    return RobustnessReport(
        verdict=verdict[0].upper() + verdict[1:],
        level=level,
        top_pick=frameworks[0],
        first_share=float(shares[0, 0]),
        rank_acceptability=[
            Acceptability(
                framework=fw,
                name=names[i],
                rank_shares=[float(s) for s in shares[i]],
                first_with_uniform_weights=float(uniform_first[i]),
                topsis_closeness=float(closeness[i]),
            )
            for i, fw in enumerate(frameworks)
        ],
        topsis_ranking=topsis_order,
        topsis_agreement=agreement,
        measured_spread_used=spread_used,
        caveats=caveats,
        **base,
    )


def _deciding_criteria(
    scores: FloatArray, weights: FloatArray, criteria: Sequence[Criterion]
) -> list[str]:
    """The criteria on which the first two frameworks differ most, weighted: where to look."""
    gap = (scores[0] - scores[1]) * weights
    order = np.argsort(-np.abs(gap))
    return [
        f"{LABELS[criteria[i]].lower()} ({'+' if gap[i] > 0 else '-'})"
        for i in order[:3]
        if abs(gap[i]) > 1e-9
    ]
