"""Rank acceptability: a built tie is too close to call, a lopsided case is robust."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from advisor.answers import load_answers
from advisor.criteria import Criterion
from advisor.engine import recommend
from advisor.questionnaire import Requirements
from advisor.recommendation import Recommendation
from advisor.robustness import analyse_robustness, topsis
from tests.conftest import example_files

ROOT_EXAMPLES = {p.stem: p for p in example_files()}


def _with_scores(rec: Recommendation, scores: dict[int, dict[Criterion, float]]) -> Recommendation:
    """The recommendation with some frameworks' criterion scores replaced (totals recomputed)."""
    ranking = []
    for index, ranked in enumerate(rec.ranking):
        changed = scores.get(index, {})
        criteria = [
            c.model_copy(update={"score": changed.get(c.criterion, c.score)})
            for c in ranked.criteria
        ]
        total = sum(c.weight * c.score for c in criteria) / (5 * sum(c.weight for c in criteria))
        ranking.append(ranked.model_copy(update={"criteria": criteria, "score": 100 * total}))
    return rec.model_copy(
        update={"ranking": ranking, "margin": ranking[0].score - ranking[1].score}
    )


def test_two_frameworks_built_to_tie_are_too_close_to_call() -> None:
    """Same scores everywhere except two equally weighted criteria, mirrored: an exact tie."""
    rec = recommend(Requirements.model_validate({"project": {"tasks": ["nlp"]}}))
    first = {c.criterion: c.score for c in rec.ranking[0].criteria}
    mirrored = {
        **first,
        Criterion.DEVELOPMENT_SPEED: 5.0,
        Criterion.ECOSYSTEM: 1.0,
    }
    swapped = {**mirrored, Criterion.DEVELOPMENT_SPEED: 1.0, Criterion.ECOSYSTEM: 5.0}
    tied = _with_scores(rec, {0: mirrored, 1: swapped})
    assert tied.margin == pytest.approx(0.0, abs=1e-9)

    report = analyse_robustness(tied, samples=4000, seed=1)
    assert report.level == "too_close"
    assert report.verdict.startswith("Too close to call")
    first_shares = [row.rank_shares[0] for row in report.rank_acceptability[:2]]
    assert first_shares[0] == pytest.approx(0.5, abs=0.05)
    assert first_shares[1] == pytest.approx(0.5, abs=0.05)
    assert any("What decides it" in c for c in report.caveats)


def test_a_lopsided_questionnaire_is_robust() -> None:
    requirements = load_answers(ROOT_EXAMPLES["nlp-research-lab"])
    report = analyse_robustness(recommend(requirements), samples=2000)
    assert report.level == "robust"
    assert report.first_share is not None and report.first_share > 0.95
    assert report.verdict.startswith(f"{report.rank_acceptability[0].name} ranks first in")
    assert report.topsis_agreement


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_shares_are_distributions_and_deterministic_for_a_seed(path: Any) -> None:
    rec = recommend(load_answers(path))
    report = analyse_robustness(rec, samples=500, seed=7)
    again = analyse_robustness(rec, samples=500, seed=7)
    assert report == again
    n = len(rec.ranking)
    if n < 2:
        return
    matrix = np.array([row.rank_shares for row in report.rank_acceptability])
    assert matrix.shape == (n, n)
    assert np.allclose(matrix.sum(axis=0), 1.0) and np.allclose(matrix.sum(axis=1), 1.0)
    assert report.top_pick == rec.top_pick


def test_a_different_seed_changes_the_samples_but_not_a_clear_verdict() -> None:
    rec = recommend(load_answers(ROOT_EXAMPLES["nlp-research-lab"]))
    a, b = analyse_robustness(rec, seed=1), analyse_robustness(rec, seed=2)
    assert a.level == b.level == "robust"


def test_topsis_prefers_the_dominating_alternative() -> None:
    scores = np.array([[5.0, 4.0, 3.0], [1.0, 1.0, 1.0], [3.0, 3.0, 3.0]])
    closeness = topsis(np.array([1.0, 1.0, 1.0]), scores)
    assert list(np.argsort(-closeness)) == [0, 2, 1]
    assert closeness[0] > 0.9 and closeness[1] == pytest.approx(0.0)


def test_one_eligible_framework_needs_no_sampling() -> None:
    rec = recommend(
        Requirements.model_validate(
            {"project": {"tasks": ["nlp"]}, "constraints": {"exclude": ["tensorflow", "mxnet"]}}
        )
    )
    report = analyse_robustness(rec)
    assert report.level == "single" and report.first_share == 1.0


def test_two_thousand_samples_take_well_under_200_ms() -> None:
    """Not a timing test of the machine: a guard against losing the vectorisation (100x)."""
    rec = recommend(load_answers(ROOT_EXAMPLES["mobile-vision-app"]))
    analyse_robustness(rec)
    started = time.perf_counter()
    analyse_robustness(rec, samples=2000)
    assert time.perf_counter() - started < 1.0
