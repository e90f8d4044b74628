"""The decision as a matrix: the ranked alternatives, their score rows, and the weights.

A recommendation ranks alternatives (frameworks); a front-end over backends is scored once per
backend it can run on, and counts with its best option. So the matrix has one *row* per scored
option (a plain framework has one), grouped by alternative in ranking order, the recommended
option first in each group; an alternative's total is the best of its rows.

Weights: task fit has its fixed weight; every other criterion weighs priority x relevance, where
relevance is what the rules that fire for the answers make of it (no rule looks at priorities, so
holding relevance fixed while priorities move is exact).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from advisor.core.criteria import CRITERIA, Criterion
from advisor.core.engine import criterion_relevance
from advisor.core.knowledge import Knowledge
from advisor.core.recommendation import CriterionScore, Recommendation

FloatArray = np.ndarray


@dataclass(frozen=True)
class Row:
    """One scored option of an alternative."""

    alternative: int
    framework: str
    backend: str | None
    criteria: Sequence[CriterionScore]


@dataclass(frozen=True)
class DecisionMatrix:
    frameworks: tuple[str, ...]
    """alternatives in ranking order"""
    names: tuple[str, ...]
    rows: tuple[Row, ...]
    starts: np.ndarray
    """index of each alternative's first row (rows are grouped by alternative)"""
    criteria: tuple[Criterion, ...]
    scores: FloatArray
    """rows x criteria, the engine's final 0-5 scores"""
    weights: FloatArray
    """criteria, as answered"""
    relevance: FloatArray
    """weight per priority point (task fit: 1, never sampled)"""
    answered: FloatArray
    """the answered priority per criterion (task fit: 0)"""
    fixed: FloatArray
    """1 for the fixed-weight criterion (task fit), else 0"""
    task_weight: float
    margin: float | None

    def weights_from(self, priorities: FloatArray) -> FloatArray:
        """Weights for priority vectors (... x criteria); task fit keeps its fixed weight."""
        return np.asarray(
            priorities * self.relevance * (1 - self.fixed) + self.fixed * self.task_weight
        )

    def alternative_totals(self, row_totals: FloatArray) -> FloatArray:
        """Each alternative's total (the best of its rows) from row totals (... x rows)."""
        return np.asarray(np.maximum.reduceat(row_totals, self.starts, axis=-1))

    def row_index(self, framework: str, backend: str | None = None) -> int | None:
        for index, row in enumerate(self.rows):
            if row.framework == framework and (backend is None or row.backend == backend):
                return index
        return None


def relevance(
    recommendation: Recommendation, criteria: Sequence[Criterion], knowledge: Knowledge | None
) -> FloatArray:
    """How much the answers make each criterion count: its weight per priority point.

    Where the priority is above 0 this is read off the recommendation (weight / priority), so it
    matches whatever knowledge produced it. A priority of 0 leaves no weight to divide, so the
    relevance is derived again from the rules that fire for these answers: a criterion a rule
    switched off (relevance 0) stays off when its priority is nudged up, and one a rule stressed
    counts that much more."""
    requirements = recommendation.requirements
    priorities = requirements.priorities
    derived: dict[Criterion, float] | None = None
    weight_of = {c.criterion: c.weight for c in recommendation.ranking[0].criteria}
    out = []
    for criterion in criteria:
        if criterion is Criterion.TASK_FIT:
            out.append(1.0)  # fixed weight, never perturbed
            continue
        priority = getattr(priorities, criterion.value)
        if priority > 0:
            out.append(weight_of[criterion] / priority)
            continue
        if derived is None:
            derived = criterion_relevance(requirements, knowledge)
        out.append(derived[criterion])
    return np.array(out)


def decision_matrix(
    recommendation: Recommendation, knowledge: Knowledge | None = None
) -> DecisionMatrix:
    """The matrix of a recommendation with at least one ranked framework."""
    criteria = tuple(CRITERIA)
    rows: list[Row] = []
    starts: list[int] = []
    for index, ranked in enumerate(recommendation.ranking):
        starts.append(len(rows))
        if ranked.options:
            # the recommended option is the ranked entry itself (its scores are the entry's)
            rows.append(Row(index, ranked.framework, ranked.options[0].backend, ranked.criteria))
            rows.extend(
                Row(index, ranked.framework, option.backend, option.criteria)
                for option in ranked.options[1:]
            )
        else:
            rows.append(Row(index, ranked.framework, None, ranked.criteria))
    scores = np.array(
        [[{c.criterion: c.score for c in row.criteria}[k] for k in criteria] for row in rows]
    )
    weight_of = {c.criterion: c.weight for c in recommendation.ranking[0].criteria}
    weights = np.array([weight_of[k] for k in criteria])
    answered = np.array([
        0.0 if k is Criterion.TASK_FIT else float(getattr(recommendation.requirements.priorities, k.value))
        for k in criteria
    ])  # fmt: skip
    return DecisionMatrix(
        frameworks=tuple(r.framework for r in recommendation.ranking),
        names=tuple(r.name for r in recommendation.ranking),
        rows=tuple(rows),
        starts=np.array(starts, dtype=np.intp),
        criteria=criteria,
        scores=scores,
        weights=weights,
        relevance=relevance(recommendation, criteria, knowledge),
        answered=answered,
        fixed=np.array([1.0 if k is Criterion.TASK_FIT else 0.0 for k in criteria]),
        task_weight=float(weight_of[Criterion.TASK_FIT]),
        margin=recommendation.margin,
    )
