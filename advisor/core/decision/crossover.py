"""Crossover points: where the top pick would change, one answer or one score at a time.

- **Priority crossovers.** For each criterion, the priority at which another framework overtakes
  the top pick, holding every other answer: raising it and lowering it. A priority only moves its
  criterion's weight (no rule looks at priorities), so each alternative's total is a ratio of
  lines in the priority with a common denominator, and the crossing is solved exactly; `whole` is
  the first whole priority (what the questionnaire takes) at which the other is strictly ahead.
- **Score crossovers.** For each score that carries the decision (the top pick's, lowered, and
  each rival's, raised), the value at which the pick changes, how many of its standard deviations
  away that is, and the evidence that would move it there: a probe to run (runtime and memory
  are measured) or the least certain claims behind it to check.

Pure; the numbers come from the decision matrix and the score spreads.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from advisor.core.criteria import LABELS, Criterion
from advisor.core.decision.matrix import DecisionMatrix, Row
from advisor.core.decision.uncertainty import (
    ScoreSpread,
    ScoreUncertainty,
    least_certain,
    policy_of,
)
from advisor.core.knowledge import Knowledge
from advisor.core.questionnaire import Requirements

EPS = 1e-9
WINNING_LEAD = 0.005
"""points a framework must be ahead by to win (the engine rounds margins to 0.01)"""
MAX_SCORE_CROSSOVERS = 8
MAX_SCORE_Z = 6.0
TIE = 0.1
"""points between the first two under which the pick is a tie as scored"""
MIN_SCORE_MOVE = 0.01
"""a score crossover nearer than this is a tie as scored, not a finding"""


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Evidence(_Out):
    """What would move a score: a probe to run or a claim to check."""

    kind: str = Field(description="probe | claim")
    what: str = Field(description="the probes' names (comma-separated), or the claim's id")
    standing: str | None = Field(None, description="for a claim: its standing (see ClaimStanding)")
    stale: bool = Field(False, description="for a claim: older than its shelf life")
    command: str | None = Field(None, description="the command that gathers it")
    text: str = Field(description="one line saying what to do")


class PriorityCrossover(_Out):
    """Where moving one priority, all else as answered, changes the top pick."""

    criterion: Criterion = Field(description="the criterion whose priority moves")
    current: int = Field(description="the priority as answered (0-5)")
    direction: str = Field(description="raise | lower")
    at: float = Field(description="the exact priority at which the top pick loses the lead")
    whole: int = Field(description="the first whole priority at which the new winner is ahead")
    winner: str = Field(description="who wins at `whole`")
    winner_name: str = Field(description="its display name")
    lead: float = Field(description="points the winner is ahead by at `whole`")
    verified: bool | None = Field(
        None, description="true when the engine was re-run at `whole` and agreed (what-if)"
    )

    def sentence(self) -> str:
        return (
            f"{self.direction} {LABELS[self.criterion].lower()} from {self.current} to "
            f"{self.whole} and {self.winner_name} wins"
        )


class ScoreCrossover(_Out):
    """Where one score, all else as scored, changes the top pick."""

    framework: str = Field(description="whose score it is")
    name: str = Field(description="its display name")
    backend: str | None = Field(None, description="for a front-end: the backend row")
    criterion: Criterion = Field(description="the criterion of the score")
    direction: str = Field(description="lower (the top pick's score) | raise (a rival's)")
    score: float = Field(description="the score now (0-5)")
    sd: float = Field(description="its standard deviation")
    at: float = Field(description="past this value the pick changes")
    z: float = Field(description="how many standard deviations away `at` is")
    carries: bool = Field(description="within the policy's `within_sd`: the decision rests on it")
    winner: str = Field(description="who would win")
    winner_name: str = Field(description="its display name")
    evidence: list[Evidence] = Field(
        default_factory=list, description="what would move the score: a probe, claims to check"
    )

    def sentence(self) -> str:
        label = LABELS[self.criterion].lower()
        now = f"now {self.score:.2f} ± {self.sd:.2f}"
        if self.direction == "lower":
            return (
                f"if {self.name}'s {label} score were below {self.at:.2f} ({now}), "
                f"{self.winner_name} would win"
            )
        return f"if {self.name}'s {label} score were above {self.at:.2f} ({now}), it would win"

    def settle(self) -> str:
        """What would settle it, in a few words."""
        parts = [e.text for e in self.evidence if e.kind != "claim"]
        claims = [e for e in self.evidence if e.kind == "claim"]
        if claims:
            listed = ", ".join(
                f"{e.what} ({e.standing}{', stale' if e.stale else ''})" for e in claims
            )
            parts.append(f"check claim{'s' if len(claims) > 1 else ''} {listed}")
        return "; ".join(parts)


class CrossoverReport(_Out):
    """What would change the pick, one priority or one score at a time."""

    top_pick: str | None = Field(description="the engine's pick the crossovers are about")
    priorities: list[PriorityCrossover] = Field(
        default_factory=list, description="per criterion and direction, nearest first"
    )
    steady: list[Criterion] = Field(
        default_factory=list, description="criteria no priority of which changes the pick"
    )
    ignored: list[Criterion] = Field(
        default_factory=list, description="criteria that count for nothing with these answers"
    )
    scores: list[ScoreCrossover] = Field(
        default_factory=list, description="score crossovers, fewest standard deviations first"
    )

    def text_lines(self, indent: str = "  ", limit: int = 4) -> list[str]:
        """The nearest `limit` priority and score crossovers (the JSON and Markdown have all)."""
        lines = []
        for p in self.priorities[:limit]:
            lines.append(
                f"{indent}priority: {p.sentence()} (crosses at {p.at:.2f}; ahead by "
                f"{p.lead:.1f} points{', checked' if p.verified else ''})"
            )
        for s in [s for s in self.scores if s.carries][:limit]:
            settle = f"; {s.settle()}" if s.evidence else ""
            lines.append(f"{indent}score: {s.sentence()}, {s.z:.1f} sd away{settle}")
        if self.steady:
            lines.append(
                f"{indent}no priority of "
                + ", ".join(LABELS[c].lower() for c in self.steady)
                + " changes the pick"
            )
        return lines

    def markdown_lines(self) -> list[str]:
        lines: list[str] = []
        if self.priorities:
            lines += [
                "| Priority | Now | Change | Crosses at | New winner | Ahead by |",
                "|---|---:|---|---:|---|---:|",
            ]
            lines += [
                f"| {LABELS[p.criterion]} | {p.current} | {p.direction} to {p.whole} | "
                f"{p.at:.2f} | {p.winner_name} | {p.lead:.1f} |"
                for p in self.priorities
            ]
            lines.append("")
        if self.scores:
            lines += [
                "| Score | Now | Pick changes past | sd away | New winner | To settle it |",
                "|---|---:|---:|---:|---|---|",
            ]
            lines += [
                f"| {s.name}: {LABELS[s.criterion]} | {s.score:.2f} ± {s.sd:.2f} | "
                f"{'<' if s.direction == 'lower' else '>'} {s.at:.2f} | {s.z:.1f} | "
                f"{s.winner_name} | {s.settle()} |"
                for s in self.scores
            ]
            lines.append("")
        if self.steady:
            lines.append(
                "*No priority of " + ", ".join(LABELS[c].lower() for c in self.steady)
                + " changes the pick.*"
            )  # fmt: skip
        return lines


def _row_name(knowledge: Knowledge, framework: str, backend: str | None) -> str:
    name = knowledge.frameworks[framework].name
    return f"{name} on {knowledge.frameworks[backend].name}" if backend else name


def _first_integer(at: float, current: int, step: int) -> list[int]:
    """Whole priorities from the crossing onwards, in the direction of travel."""
    if step > 0:
        return list(range(max(current + 1, int(np.ceil(at - EPS))), 6))
    return list(range(min(current - 1, int(np.floor(at + EPS))), -1, -1))


def priority_crossovers(
    matrix: DecisionMatrix, knowledge: Knowledge
) -> tuple[list[PriorityCrossover], list[Criterion], list[Criterion]]:
    """Per criterion, the nearest priority (up and down) that changes the top pick; the criteria
    whose every priority keeps it; the criteria that count for nothing."""
    found: list[PriorityCrossover] = []
    steady: list[Criterion] = []
    ignored: list[Criterion] = []
    if len(matrix.frameworks) < 2:
        return found, steady, ignored
    for j, criterion in enumerate(matrix.criteria):
        if criterion is Criterion.TASK_FIT:
            continue
        r = float(matrix.relevance[j])
        if r <= 0:
            ignored.append(criterion)
            continue
        others = matrix.weights.copy()
        others[j] = 0.0
        base = matrix.scores @ others  # each row's numerator without criterion j
        slope = matrix.scores[:, j] * r
        rest = float(others.sum())
        current = int(matrix.answered[j])

        def numerators(p: float, base: np.ndarray = base, slope: np.ndarray = slope) -> np.ndarray:
            return np.asarray(np.maximum.reduceat(base + p * slope, matrix.starts))

        def totals(p: float, rest: float = rest, r: float = r) -> np.ndarray:
            return numerators(p) * 100.0 / (5.0 * (rest + p * r))

        # Numerators are piecewise linear in p, with breaks where two rows' lines cross; the
        # common denominator is positive, so the lead changes where numerators cross.
        points = {0.0, 5.0}
        for a in range(len(base)):
            for b in range(a + 1, len(base)):
                if abs(slope[a] - slope[b]) > EPS:
                    x = (base[b] - base[a]) / (slope[a] - slope[b])
                    if 0.0 < x < 5.0:
                        points.add(float(x))
        any_change = False
        for step, direction in ((1, "raise"), (-1, "lower")):
            path = sorted(
                (p for p in points if (p > current if step > 0 else p < current)),
                reverse=step < 0,
            )
            previous, prev_gap = float(current), _gap(numerators(float(current)))
            at: float | None = None
            for p in path:
                gap = _gap(numerators(p))
                if gap > EPS:
                    at = previous
                    if prev_gap < 0:  # linear on this piece: where it crosses zero
                        at = previous + (p - previous) * (-prev_gap) / (gap - prev_gap)
                    break
                previous, prev_gap = p, gap
            if at is None:
                continue
            for whole in _first_integer(at, current, step):
                scores = totals(float(whole))
                winner = int(np.argmax(scores))
                lead = float(scores[winner] - scores[0])
                if winner != 0 and lead > WINNING_LEAD:
                    row = _best_row(matrix, winner, float(whole), base, slope)
                    found.append(
                        PriorityCrossover(
                            criterion=criterion,
                            current=current,
                            direction=direction,
                            at=round(at, 2),
                            whole=whole,
                            winner=matrix.frameworks[winner],
                            winner_name=_row_name(knowledge, row.framework, row.backend),
                            lead=round(lead, 2),
                        )
                    )
                    any_change = True
                    break
        if not any_change:
            steady.append(criterion)
    found.sort(key=lambda c: (abs(c.whole - c.current), -c.lead, c.criterion.value))
    return found, steady, ignored


def _gap(values: np.ndarray) -> float:
    """How far the best other alternative is ahead of the top pick (index 0)."""
    return float(np.max(values[1:]) - values[0])


def _best_row(
    matrix: DecisionMatrix, alternative: int, p: float, base: np.ndarray, slope: np.ndarray
) -> Row:
    indices = [i for i, row in enumerate(matrix.rows) if row.alternative == alternative]
    best = max(indices, key=lambda i: (base[i] + p * slope[i], -i))
    return matrix.rows[best]


def _probe_evidence(
    framework: str,
    backend: str | None,
    criterion: Criterion,
    requirements: Requirements,
    knowledge: Knowledge,
) -> list[Evidence]:
    """The probes that feed a measured criterion, for these answers."""
    policy = policy_of(knowledge)
    target = framework if knowledge.frameworks[framework].probe is not None else backend
    if target is None or knowledge.frameworks[target].probe is None:
        return []
    if criterion is Criterion.MEMORY_EFFICIENCY:
        probes = [policy.probes["memory"]]
    else:
        weights = knowledge.calibration.family_weights(requirements)
        ranked = sorted(
            (f for f in weights if f in policy.probes and f != "import_time"),
            key=lambda f: (-weights[f], f),
        )
        probes = list(dict.fromkeys(policy.probes[f] for f in ranked))[:2]
    if not probes:
        return []
    command = f"advisor probe --framework {target} " + " ".join(f"--probe {p}" for p in probes)
    return [
        Evidence(
            kind="probe", what=", ".join(probes), command=command, text=f"measure it: `{command}`"
        )
    ]


def _evidence(
    spread: ScoreSpread | None,
    framework: str,
    backend: str | None,
    criterion: Criterion,
    requirements: Requirements,
    knowledge: Knowledge,
) -> list[Evidence]:
    found: list[Evidence] = []
    if criterion in (Criterion.RUNTIME_PERFORMANCE, Criterion.MEMORY_EFFICIENCY):
        found += _probe_evidence(framework, backend, criterion, requirements, knowledge)
    for claim in least_certain(spread.claims if spread else [], 1 if found else 2):
        notes = claim.standing + (", stale" if claim.stale else "")
        found.append(
            Evidence(
                kind="claim",
                what=claim.id,
                standing=claim.standing,
                stale=claim.stale,
                command=f"advisor explain {framework}",
                text=f"check claim {claim.id} ({notes})",
            )
        )
    return found


def score_crossovers(
    matrix: DecisionMatrix,
    uncertainty: ScoreUncertainty,
    requirements: Requirements,
    knowledge: Knowledge,
) -> list[ScoreCrossover]:
    """The scores whose change, alone, would change the top pick, nearest (in sd) first."""
    if len(matrix.frameworks) < 2:
        return []
    policy = policy_of(knowledge)
    low, high = knowledge.scoring.score_min, knowledge.scoring.score_max
    w = matrix.weights
    per_row = matrix.scores @ w
    alt = np.maximum.reduceat(per_row, matrix.starts)
    points = 100.0 / (5.0 * float(w.sum()))
    rows_of = [
        [i for i, row in enumerate(matrix.rows) if row.alternative == a]
        for a in range(len(matrix.frameworks))
    ]
    found: list[ScoreCrossover] = []

    def add(row_index: int, j: int, direction: str, delta: float, winner: int) -> None:
        row = matrix.rows[row_index]
        criterion = matrix.criteria[j]
        spread = uncertainty.of(row.framework, criterion, row.backend)
        score = float(matrix.scores[row_index, j])
        at = score - delta if direction == "lower" else score + delta
        if not low <= at <= high or delta < MIN_SCORE_MOVE:
            return  # out of range, or a tie as scored that any hair would break
        sd = spread.sd if spread else 0.0
        z = delta / sd if sd > 0 else float("inf")
        if z > MAX_SCORE_Z:
            return
        winner_row = matrix.rows[rows_of[winner][0]]
        found.append(
            ScoreCrossover(
                framework=row.framework,
                name=_row_name(knowledge, row.framework, row.backend),
                backend=row.backend,
                criterion=criterion,
                direction=direction,
                score=round(score, 2),
                sd=round(sd, 2),
                at=round(at, 2),
                z=round(z, 2),
                carries=z <= policy.verdict.within_sd,
                winner=winner_row.framework,
                winner_name=_row_name(knowledge, winner_row.framework, winner_row.backend),
                evidence=_evidence(
                    spread, row.framework, row.backend, criterion, requirements, knowledge
                ),
            )
        )

    top_row = rows_of[0][0]
    top_others = max((per_row[i] for i in rows_of[0][1:]), default=-np.inf)
    rival = int(np.argmax(alt[1:])) + 1
    for j in range(len(matrix.criteria)):
        if w[j] <= 0:
            continue
        # lower the top pick's score until the best rival is ahead by a winning lead
        if top_others < alt[rival]:
            delta = (per_row[top_row] - alt[rival]) / w[j] + WINNING_LEAD / (points * w[j])
            add(top_row, j, "lower", float(delta), rival)
        # raise each rival's score until it is ahead of everyone
        for a in range(1, len(matrix.frameworks)):
            best_other = float(np.max(np.delete(alt, a)))
            row_index = rows_of[a][0]
            delta = (best_other - per_row[row_index]) / w[j] + WINNING_LEAD / (points * w[j])
            add(row_index, j, "raise", float(delta), a)
    found.sort(key=lambda c: (c.z, c.framework, c.criterion.value))
    return found[:MAX_SCORE_CROSSOVERS]


def crossovers(
    matrix: DecisionMatrix,
    uncertainty: ScoreUncertainty,
    requirements: Requirements,
    knowledge: Knowledge,
) -> CrossoverReport:
    priorities, steady, ignored = priority_crossovers(matrix, knowledge)
    return CrossoverReport(
        top_pick=matrix.frameworks[0] if matrix.frameworks else None,
        priorities=priorities,
        steady=steady,
        ignored=ignored,
        scores=score_crossovers(matrix, uncertainty, requirements, knowledge),
    )


def deciding(
    report: CrossoverReport,
    runner_up: str | None,
    spread: float,
    count: int,
    margin: float | None = None,
) -> Sequence[PriorityCrossover | ScoreCrossover]:
    """The crossovers that decide between the pick and the runner-up, nearest first: priority
    moves counted in units of the priorities' own uncertainty, scores in their sd. On a tie as
    scored (`margin` under TIE points) a hair's change of almost any score would decide, so only
    the priorities are named."""
    options: list[tuple[float, int, PriorityCrossover | ScoreCrossover]] = []
    for p in report.priorities:
        options.append((abs(p.whole - p.current) / spread, 0 if p.winner == runner_up else 1, p))
    tied = margin is not None and abs(margin) < TIE
    for s in [] if tied and report.priorities else report.scores:
        options.append((s.z, 0 if s.winner == runner_up else 1, s))
    options.sort(key=lambda o: (o[1], o[0]))
    return [o[2] for o in options[:count]]
