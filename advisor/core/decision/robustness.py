"""How sure is the pick? SMAA-2 over uncertain scores and weights, crossovers, and a second method.

Stochastic multicriteria acceptability analysis (SMAA-2, Lahdelma & Salminen 2001) with both
sides uncertain:

- **scores**: every criterion score is drawn from a normal distribution truncated to 0-5, centred
  on the engine's score, with the spread its evidence gives it (`uncertainty`: claims by standing
  and age, measurements by their CV, rules by their claims; a front-end's inherited score moves
  with its backend's draw);
- **weights**: the answered priorities, each drawn uniformly within +/- the policy's spread (kept
  in 0-5) and multiplied by the relevance the rules give it; task fit keeps its fixed weight. A
  second set of draws has every priority uniform in 0-5: the no-preference case.

From them: each framework's rank-acceptability indices, central weight vector, confidence factor
and pairwise winning indices (`smaa`). The verdict follows the numbers: "robust" only when the
top pick ranks first in at least the policy's share of draws (95%); otherwise it names the
runner-up and the one or two crossovers (`crossover`) that decide between them.

TOPSIS (closeness to the ideal and distance from the worst framework) runs on the same scores and
weights as a second aggregation method; a different pick is a caveat.

Pure, seeded and vectorised: the same recommendation, seed and date give the same report, byte
for byte; 10,000 draws take a few tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from advisor.core.criteria import CRITERIA, LABELS, Criterion
from advisor.core.decision import smaa
from advisor.core.decision.crossover import (
    CrossoverReport,
    PriorityCrossover,
    ScoreCrossover,
    crossovers,
    deciding,
)
from advisor.core.decision.matrix import DecisionMatrix, decision_matrix, relevance
from advisor.core.decision.uncertainty import (
    ScoreSpread,
    ScoreUncertainty,
    policy_of,
    score_uncertainty,
)
from advisor.core.in_force import knowledge_in_force
from advisor.core.knowledge import Knowledge
from advisor.core.recommendation import Recommendation

SAMPLES = 10_000
CHUNK = 2_000
"""draws processed at a time: 10,000 at once spill the CPU caches and run twice as slow"""
MEASURED = (Criterion.RUNTIME_PERFORMANCE, Criterion.MEMORY_EFFICIENCY)
DIGITS = 4
LEANS = 1.1
"""a central weight this many times the mean weight is what a framework leans on"""

FloatArray = np.ndarray
_SHORT = {
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


class NoPreference(BaseModel):
    """SMAA-2 indices of one framework when every priority is drawn uniformly in 0-5."""

    model_config = ConfigDict(frozen=True)

    rank_shares: list[float] = Field(description="share of draws in which it ranks 1st, 2nd, ...")
    central_weights: dict[Criterion, float] | None = Field(
        None, description="mean normalised weights of the draws in which it ranks first (sum 1)"
    )
    confidence_factor: float | None = Field(
        None, description="share of score draws it wins with its central weights"
    )


class Acceptability(BaseModel):
    """One framework's SMAA-2 indices."""

    model_config = ConfigDict(frozen=True)

    framework: str = Field(description="the framework's registry id")
    name: str = Field(description="display name (a front-end's names its recommended backend)")
    rank_shares: list[float] = Field(
        description="rank-acceptability indices: share of draws (scores and your priorities, "
        "both within their uncertainty) in which it ranks 1st, 2nd, ... (sums to 1)"
    )
    first_with_uniform_weights: float = Field(
        description="share of draws in which it ranks first with no preferences (every "
        "priority uniform in 0-5) and scores within their uncertainty"
    )
    topsis_closeness: float = Field(description="TOPSIS closeness to the ideal (0-1), as scored")
    central_weights: dict[Criterion, float] | None = Field(
        None,
        description="central weight vector: the mean normalised weights (sum 1) of the draws "
        "in which it ranks first; null if it never does",
    )
    confidence_factor: float | None = Field(
        None,
        description="share of score draws in which it ranks first when the weights are its "
        "central weights; null if it never ranks first",
    )
    pairwise_winning: dict[str, float] = Field(
        default_factory=dict,
        description="pairwise winning index against each other framework: the share of draws "
        "in which it ranks above that one (index of A over B plus B over A is 1)",
    )
    no_preference: NoPreference | None = Field(
        None, description="the same indices with no preference information"
    )


class RobustnessReport(BaseModel):
    """How sure the pick is: SMAA-2 over uncertain scores and weights, and what would change it."""

    model_config = ConfigDict(frozen=True)

    verdict: str = Field(description="one or two sentences that follow the numbers")
    level: str = Field(description="robust | fairly_robust | too_close | single | none")
    top_pick: str | None = Field(description="the engine's pick")
    first_share: float | None = Field(
        description="the top pick's first-rank acceptability under score and weight uncertainty"
    )
    margin: float | None = Field(description="points between the first two, as answered")
    runner_up: str | None = Field(
        None, description="the framework most often first besides the top pick"
    )
    deciding: list[str] = Field(
        default_factory=list,
        description="the crossovers that decide between the pick and the runner-up, in words",
    )
    rank_acceptability: list[Acceptability] = Field(
        description="SMAA-2 indices per framework, in the engine's ranking order"
    )
    topsis_ranking: list[str] = Field(description="the order a second method (TOPSIS) gives")
    topsis_agreement: bool = Field(description="TOPSIS picks the same framework")
    measured_spread_used: bool = Field(description="some score's spread comes from measurements")
    caveats: list[str] = Field(description="what the numbers warn about, in words")
    crossovers: CrossoverReport | None = Field(
        None, description="priority and score crossover points (what would change the pick)"
    )
    score_uncertainty: list[ScoreSpread] = Field(
        default_factory=list,
        description="mean and sd of every score the draws are made from, with what it rests on",
    )
    mean_weights: dict[Criterion, float] | None = Field(
        None, description="mean normalised weights over the no-preference draws"
    )
    samples: int = Field(description="draws of scores and your priorities")
    no_preference_samples: int = Field(0, description="draws with no preference information")
    seed: int = Field(description="seed of the random draws (the same seed, the same numbers)")
    perturbation: float = Field(1.0, description="each answered priority is drawn within +/- this")
    as_of: str | None = Field(None, description="the date claim ages are measured at")
    method: str = Field(
        "SMAA-2",
        description="SMAA-2 (Lahdelma & Salminen 2001): truncated-normal scores, uniform "
        "priorities around the answers, plus a no-preference set",
    )

    # -- rendering ----------------------------------------------------------------------------

    def _width(self) -> int:
        return max([12, *(len(r.name) + 2 for r in self.rank_acceptability)])

    def _table(self) -> list[str]:
        ranks = len(self.rank_acceptability)
        width = self._width()
        header = "".join(f"{_ordinal(i + 1):>6}" for i in range(ranks))
        lines = [f"    {'':{width}}{header}   conf.  no pref.  TOPSIS"]
        for row in self.rank_acceptability:
            shares = "".join(f"{_pct(s):>6}" for s in row.rank_shares)
            confidence = _pct(row.confidence_factor) if row.confidence_factor is not None else "-"
            lines.append(
                f"    {row.name:{width}}{shares}   {confidence:>5}  "
                f"{_pct(row.first_with_uniform_weights):>8}  {row.topsis_closeness:>6.2f}"
            )
        return lines

    def _leaning(self, row: Acceptability) -> str | None:
        central = row.no_preference.central_weights if row.no_preference else None
        if not central or not self.mean_weights:
            return None
        mean = self.mean_weights
        lean = sorted(
            (
                k
                for k in central
                if mean.get(k, 0) > 0 and central[k] >= 0.05 and central[k] >= LEANS * mean[k]
            ),
            key=lambda k: (-central[k] / mean[k], k.value),
        )[:2]
        if not lean:
            return None
        return ", ".join(
            f"{LABELS[k].lower()} ({central[k]:.0%} vs {mean[k]:.0%} on average)" for k in lean
        )

    def text_lines(self) -> list[str]:
        lines = [f"Robustness: {self.verdict}"]
        if len(self.rank_acceptability) > 1:
            when = f", claims aged as of {self.as_of}" if self.as_of else ""
            lines.append(
                f"  SMAA-2 over {self.samples:,} draws of scores (each within its evidence's "
                f"uncertainty) and priorities (+/-{self.perturbation:g} of yours), seed "
                f"{self.seed}{when}; conf. = confidence factor; no pref. = first with any "
                "priorities:"
            )
            lines.extend(self._table())
            top = self.rank_acceptability[0]
            if top.pairwise_winning:
                names = {r.framework: r.name for r in self.rank_acceptability}
                lines.append(
                    f"  {top.name} ranks above "
                    + ", ".join(f"{names[k]} in {_pct(v)}" for k, v in top.pairwise_winning.items())
                    + " of draws"
                )
            leaning = [(r.name, self._leaning(r)) for r in self.rank_acceptability]
            leaning = [(n, text) for n, text in leaning if text]
            if leaning:
                lines.append(
                    "  Central weights (the typical weights under which each ranks first):"
                )
                lines.extend(f"    {name} leans on {text}" for name, text in leaning)
            if self.crossovers is not None:
                crossing = self.crossovers.text_lines("    ")
                if crossing:
                    lines.append("  Crossover points (holding your other answers):")
                    lines.extend(crossing)
        lines.extend(f" ! {c}" for c in self.caveats)
        return lines

    def markdown_lines(self) -> list[str]:
        lines = [f"**{self.verdict}**", ""]
        if len(self.rank_acceptability) > 1:
            ranks = len(self.rank_acceptability)
            heads = " | ".join(_ordinal(i + 1) for i in range(ranks))
            lines += [
                f"| Framework | {heads} | confidence factor | first, no preferences "
                "| TOPSIS closeness |",
                "|---" + "|---:" * (ranks + 3) + "|",
            ]
            for row in self.rank_acceptability:
                shares = " | ".join(_pct(s) for s in row.rank_shares)
                confidence = (
                    _pct(row.confidence_factor) if row.confidence_factor is not None else "–"
                )
                lines.append(
                    f"| {row.name} | {shares} | {confidence} | "
                    f"{_pct(row.first_with_uniform_weights)} | {row.topsis_closeness:.2f} |"
                )
            when = f", claim ages as of {self.as_of}" if self.as_of else ""
            lines += [
                "",
                f"*SMAA-2: {self.samples:,} draws of scores within their uncertainty and of "
                f"priorities within ±{self.perturbation:g} of yours (plus "
                f"{self.no_preference_samples:,} with no preferences), seed {self.seed}{when}.*",
                "",
                "Pairwise winning indices (row ranks above column):",
                "",
                "| | " + " | ".join(r.name for r in self.rank_acceptability) + " |",
                "|---" + "|---:" * ranks + "|",
            ]
            for row in self.rank_acceptability:
                cells = [
                    "–" if other.framework == row.framework
                    else _pct(row.pairwise_winning.get(other.framework, 0.0))
                    for other in self.rank_acceptability
                ]  # fmt: skip
                lines.append(f"| {row.name} | " + " | ".join(cells) + " |")
            lines += ["", *self._central_table(), *self._spread_table()]
            if self.crossovers is not None:
                crossing = self.crossovers.markdown_lines()
                if crossing:
                    lines += ["Crossover points (holding your other answers):", "", *crossing]
        if self.caveats:
            lines += ["", *(f"- ⚠ {c}" for c in self.caveats)]
        return lines

    def _central_table(self) -> list[str]:
        rows = [
            r
            for r in self.rank_acceptability
            if r.no_preference and r.no_preference.central_weights
        ]
        if not rows or not self.mean_weights:
            return []
        criteria = list(self.mean_weights)
        lines = [
            "Central weights with no preferences (the typical weights under which each ranks "
            "first; normalised):",
            "",
            "| | " + " | ".join(_SHORT[c] for c in criteria) + " |",
            "|---" + "|---:" * len(criteria) + "|",
            "| mean of all draws | " + " | ".join(f"{self.mean_weights[c]:.0%}" for c in criteria) + " |",
        ]  # fmt: skip
        for row in rows:
            central = row.no_preference.central_weights if row.no_preference else None
            if central:
                lines.append(
                    f"| {row.name} | " + " | ".join(f"{central.get(c, 0.0):.0%}" for c in criteria) + " |"
                )  # fmt: skip
        return [*lines, ""]

    def _spread_table(self) -> list[str]:
        names = {r.framework: r.name for r in self.rank_acceptability}
        shown = [s for s in self.score_uncertainty if s.framework in names]
        if not shown:
            return []
        recommended: dict[str, str | None] = {}
        for s in shown:
            recommended.setdefault(s.framework, s.backend)
        lines = [
            "Score uncertainty (score ± sd, 0-5; `advisor explain` says what each rests on):",
            "",
            "| | " + " | ".join(_SHORT[c] for c in CRITERIA) + " |",
            "|---" + "|---:" * len(CRITERIA) + "|",
        ]
        for framework, backend in recommended.items():
            cells = {
                s.criterion: f"{s.score:.2f} ± {s.sd:.2f}"
                for s in shown
                if s.framework == framework and s.backend == backend
            }
            lines.append(
                f"| {names[framework]} | " + " | ".join(cells.get(c, "") for c in CRITERIA) + " |"
            )
        return [*lines, ""]


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _pct(share: float) -> str:
    """A share as a percentage that never rounds a doubt away: 99.7% is '>99%', not '100%'."""
    if 0.995 <= share < 1.0:
        return ">99%"
    if 0.0 < share <= 0.005:  # 0.005 would format as "0%" (half rounds to even)
        return "<1%"
    return f"{share:.0%}"


def _ranks(totals: FloatArray) -> FloatArray:
    """Rank (0 = best) of each framework in each row; ties go to the engine's order."""
    return smaa.ranks(totals)


def topsis(weights: FloatArray, scores: FloatArray) -> FloatArray:
    """TOPSIS closeness (0-1, higher is better) of each framework; every criterion is a benefit."""
    norms = np.linalg.norm(scores, axis=0)
    weighted = scores / np.where(norms > 0, norms, 1.0) * (weights / max(weights.sum(), 1e-12))
    best, worst = weighted.max(axis=0), weighted.min(axis=0)
    to_best = np.linalg.norm(weighted - best, axis=1)
    to_worst = np.linalg.norm(weighted - worst, axis=1)
    total = to_best + to_worst
    return np.where(total > 0, to_worst / np.where(total > 0, total, 1.0), 0.5)


def _relevance(
    recommendation: Recommendation, criteria: Sequence[Criterion], knowledge: Knowledge | None
) -> FloatArray:
    """How much the answers make each criterion count (see `matrix.relevance`)."""
    return relevance(recommendation, criteria, knowledge)


def _distributions(
    matrix: DecisionMatrix, uncertainty: ScoreUncertainty
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """sd, own sd and parent row of every cell of the matrix."""
    shape = matrix.scores.shape
    sd, own = np.zeros(shape), np.zeros(shape)
    parent = np.full(shape, -1, dtype=np.intp)
    for r, row in enumerate(matrix.rows):
        for c, criterion in enumerate(matrix.criteria):
            spread = uncertainty.of(row.framework, criterion, row.backend)
            if spread is None:
                continue
            sd[r, c], own[r, c] = spread.sd, spread.own_sd
            if spread.shared_with is not None:
                index = matrix.row_index(spread.shared_with)
                if index is not None and matrix.rows[index].backend is None:
                    parent[r, c] = index
    return sd, own, parent


def _round(value: float) -> float:
    return round(float(value), DIGITS)


def _weights_dict(
    vector: FloatArray, criteria: Sequence[Criterion]
) -> dict[Criterion, float] | None:
    if np.isnan(vector).any():
        return None
    return {k: _round(v) for k, v in zip(criteria, vector, strict=True)}


def _sentence(crossing: PriorityCrossover | ScoreCrossover) -> str:
    if isinstance(crossing, ScoreCrossover) and crossing.evidence:
        return f"{crossing.sentence()} ({crossing.settle()})"
    return crossing.sentence()


def _single(recommendation: Recommendation, samples: int, seed: int) -> RobustnessReport:
    ranked = recommendation.ranking
    only = ranked[0] if ranked else None
    return RobustnessReport(
        verdict=f"Only {only.name} is eligible: nothing to compare."
        if only
        else "Every framework is excluded: nothing to rank.",
        level="single" if only else "none",
        top_pick=only.framework if only else None,
        first_share=1.0 if only else None,
        margin=recommendation.margin,
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
        samples=samples,
        seed=seed,
    )


def analyse_robustness(
    recommendation: Recommendation,
    *,
    samples: int = SAMPLES,
    seed: int = 0,
    knowledge: Knowledge | None = None,
    as_of: date | None = None,
) -> RobustnessReport:
    """SMAA-2 of the eligible frameworks under score and weight uncertainty, with crossovers.

    `knowledge` must be the one the recommendation was made with (default: the knowledge in
    force); `as_of` is the date claim ages are measured at (default: the newest check date in the
    knowledge, so that nothing but the inputs decides the result)."""
    if samples < 1:
        raise ValueError("samples must be at least 1")
    if len(recommendation.ranking) < 2:
        return _single(recommendation, samples, seed)
    kb = knowledge_in_force(knowledge)
    policy = policy_of(kb)
    matrix = decision_matrix(recommendation, kb)
    uncertainty = score_uncertainty(recommendation, knowledge=kb, as_of=as_of)
    criteria = list(matrix.criteria)
    frameworks, names = list(matrix.frameworks), list(matrix.names)
    low, high = kb.scoring.score_min, kb.scoring.score_max

    rng = np.random.default_rng(seed)
    sd, own, parent = _distributions(matrix, uncertainty)
    spread = policy.weights.priority_spread
    free_samples = max(1, int(samples * policy.weights.no_preference_share))
    active = (matrix.relevance > 0) | (matrix.fixed > 0)  # a criterion no draw weighs is not drawn
    answered_acc = smaa.Accumulator(matrix.starts, matrix.scores)
    free_acc = smaa.Accumulator(matrix.starts, matrix.scores)
    done = free_done = 0
    while done < samples:  # in chunks that stay in the CPU caches
        n = min(CHUNK, samples - done)
        draws = smaa.sample_scores(matrix.scores, sd, own, parent, rng, n, low, high, active)
        near = smaa.nearby_priorities(matrix.answered, spread, rng, n)
        answered_acc.add(draws, matrix.weights_from(near))
        m = min(n, free_samples - free_done)
        if m > 0:  # the no-preference set reuses the first score draws
            free = smaa.any_priorities(len(criteria), rng, m)
            free_acc.add(draws[:m], matrix.weights_from(free))
            free_done += m
        done += n
    indices = answered_acc.indices()
    free_indices = free_acc.indices()

    recommended = matrix.scores[matrix.starts]
    closeness = topsis(matrix.weights, recommended)
    topsis_order = [frameworks[i] for i in np.argsort(-closeness, kind="stable")]
    # The cross-check is about the pick: close runners-up may swap places between methods
    # without changing the advice (with four or more candidates they often do).
    agreement = topsis_order[0] == frameworks[0]

    crossing = crossovers(matrix, uncertainty, recommendation.requirements, kb)
    first = indices.acceptability[:, 0]
    runner = 1 + int(np.argmax(first[1:])) if first[1:].max() > 0 else 1
    top_share = float(first[0])
    if top_share >= policy.verdict.robust:
        level = "robust"
    elif top_share >= policy.verdict.fairly_robust:
        level = "fairly_robust"
    else:
        level = "too_close"
    decisive = (
        deciding(
            crossing, frameworks[runner], spread, policy.verdict.deciding, recommendation.margin
        )
        if level != "robust"
        else []
    )
    words = [_sentence(c) for c in decisive] or (
        _deciding_criteria(recommended, matrix.weights, criteria) if level != "robust" else []
    )
    verdict = _verdict(level, names, first, runner, recommendation.margin, words)

    caveats = []
    if not agreement:
        caveats.append(
            f"A second method (TOPSIS) would pick {names[frameworks.index(topsis_order[0])]}: "
            + " > ".join(names[frameworks.index(f)] for f in topsis_order)
            + "; read the per-criterion scores before deciding."
        )
    free_first = free_indices.acceptability[:, 0]
    if level != "robust" and free_first[0] < 0.5:
        caveats.append(
            f"With no preferences at all, {names[0]} would rank first only "
            f"{_pct(float(free_first[0]))} of the time: the pick rests on your priorities."
        )
    caveats.extend(_shared_runtime(matrix, runner, kb))

    acceptability = [
        Acceptability(
            framework=fw,
            name=names[i],
            rank_shares=[_round(s) for s in indices.acceptability[i]],
            first_with_uniform_weights=_round(free_first[i]),
            topsis_closeness=_round(closeness[i]),
            central_weights=_weights_dict(indices.central_weights[i], criteria),
            confidence_factor=None
            if np.isnan(indices.confidence[i])
            else _round(indices.confidence[i]),
            pairwise_winning={
                other: _round(indices.pairwise[i, k])
                for k, other in enumerate(frameworks)
                if k != i
            },
            no_preference=NoPreference(
                rank_shares=[_round(s) for s in free_indices.acceptability[i]],
                central_weights=_weights_dict(free_indices.central_weights[i], criteria),
                confidence_factor=None
                if np.isnan(free_indices.confidence[i])
                else _round(free_indices.confidence[i]),
            ),
        )
        for i, fw in enumerate(frameworks)
    ]
    return RobustnessReport(
        verdict=verdict,
        level=level,
        top_pick=frameworks[0],
        first_share=_round(top_share),
        margin=recommendation.margin,
        runner_up=frameworks[runner],
        deciding=words,
        rank_acceptability=acceptability,
        topsis_ranking=topsis_order,
        topsis_agreement=agreement,
        measured_spread_used=any(s.measured for s in uncertainty.spreads),
        caveats=caveats,
        crossovers=crossing,
        score_uncertainty=uncertainty.spreads,
        mean_weights=_weights_dict(free_indices.mean_weights, criteria),
        samples=samples,
        no_preference_samples=free_samples,
        seed=seed,
        perturbation=spread,
        as_of=uncertainty.as_of,
    )


def _verdict(
    level: str,
    names: list[str],
    first: FloatArray,
    runner: int,
    margin: float | None,
    deciding_words: list[str],
) -> str:
    points = f", {margin:.1f} points ahead as answered" if margin is not None else ""
    draws = "of draws of scores and priorities within their uncertainty"
    top, share = names[0], float(first[0])
    if level == "robust":
        return f"{top} ranks first in {_pct(share)} {draws}{points}."
    decides = f" What decides it: {'; or '.join(deciding_words)}." if deciding_words else ""
    tied = (
        " (tied on points: the engine breaks ties by long-term support, then listing order)"
        if margin is not None and abs(margin) < 0.005
        else ""
    )
    if level == "fairly_robust":
        return (
            f"Fairly robust: {top} ranks first in {_pct(share)} {draws}{points}{tied}; "
            f"runner-up {names[runner]} ({_pct(float(first[runner]))}).{decides}"
        )
    order = np.argsort(-first, kind="stable")
    listed = ", ".join(f"{names[i]} {_pct(float(first[i]))}" for i in order if first[i] > 0)
    return (
        f"Too close to call: {listed} first across draws of scores and priorities within their "
        f"uncertainty; {top} is {margin or 0.0:.1f} points ahead as answered{tied}, runner-up "
        f"{names[runner]}.{decides}"
    )


def _shared_runtime(matrix: DecisionMatrix, runner: int, knowledge: Knowledge) -> list[str]:
    """A front-end on the other one's framework: the choice is the API, not the runtime."""
    top_row = matrix.rows[matrix.starts[0]]
    runner_row = matrix.rows[matrix.starts[runner]]
    pairs = ((top_row, runner_row), (runner_row, top_row))
    for front, native in pairs:
        if (
            front.backend is not None
            and front.backend == native.framework
            and native.backend is None
        ):
            name = knowledge.frameworks[native.framework].name
            return [
                f"{matrix.names[front.alternative]} runs on {name}: between these two the choice "
                "is the API you write (and keep portable), not the runtime."
            ]
    return []


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
