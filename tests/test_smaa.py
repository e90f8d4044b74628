"""The mathematics of SMAA-2 and of the score spreads, pinned.

Closed forms (a normal difference, uniform weights over two criteria, a truncated normal's mean),
a dominated alternative that never ranks first, central weights that lean on the criterion an
alternative wins on, pairwise indices that sum to 1, and agreement with a brute-force Monte Carlo
written out here, draw by draw, within its sampling error.
"""

from __future__ import annotations

import math
import random
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.core.criteria import CRITERIA, Criterion
from advisor.core.decision import smaa
from advisor.core.decision.robustness import analyse_robustness
from advisor.core.decision.uncertainty import claim_standing, combine, policy_of, score_uncertainty
from advisor.core.engine import recommend
from advisor.core.in_force import knowledge_in_force
from advisor.core.knowledge import KnowledgeError
from advisor.core.questionnaire import Requirements
from advisor.files.answer_files import load_answers
from advisor.files.knowledge_files import knowledge_dir, load_knowledge

ROOT = Path(__file__).resolve().parents[1]
POLICY = policy_of(knowledge_in_force())


def phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _se(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 1e-4) / n)


# -- closed forms --------------------------------------------------------------------------------


def test_two_alternatives_with_normal_scores_match_the_closed_form() -> None:
    """A ~ N(3, 0.5), B ~ N(2.5, 0.5) on the one weighted criterion (0-5 bounds 5 sd away):
    P(A first) = Phi(0.5 / sqrt(0.5^2 + 0.5^2))."""
    n = 200_000
    rng = np.random.default_rng(3)
    mean = np.array([[3.0, 1.0], [2.5, 4.0]])
    sd = np.array([[0.5, 0.0], [0.5, 0.0]])
    draws = smaa.sample_scores(mean, sd, sd, np.full(mean.shape, -1), rng, n)
    weights = np.tile([1.0, 0.0], (n, 1))
    indices = smaa.smaa2(draws, weights, np.array([0, 1]))
    expected = phi(0.5 / math.sqrt(0.5))
    assert indices.acceptability[0, 0] == pytest.approx(expected, abs=4 * _se(expected, n))
    assert indices.acceptability[1, 0] == pytest.approx(1 - expected, abs=4 * _se(expected, n))
    assert indices.pairwise[0, 1] == pytest.approx(indices.acceptability[0, 0])


def test_uniform_priorities_over_two_criteria_match_the_closed_form() -> None:
    """Fixed scores A = (4, 1), B = (1, 3): A wins iff 3 w1 > 2 w2; with w1, w2 iid uniform
    (the no-preference draws), P = 1 - integral_0^(2/3) (1 - 1.5 w) dw = 2/3."""
    n = 200_000
    rng = np.random.default_rng(5)
    weights = smaa.any_priorities(2, rng, n)
    scores = np.array([[4.0, 1.0], [1.0, 3.0]])
    indices = smaa.smaa2(scores, weights, np.array([0, 1]))
    assert indices.acceptability[0, 0] == pytest.approx(2 / 3, abs=4 * _se(2 / 3, n))
    # A's central weights lean on the criterion it is better at
    assert indices.central_weights[0, 0] > 0.5 > indices.central_weights[1, 0]


def test_a_truncated_normal_has_the_truncated_mean() -> None:
    """N(5, 1) truncated to [0, 5]: mean 5 - phi(0) / (Phi(0) - Phi(-5))."""
    rng = np.random.default_rng(7)
    draws = smaa.truncated_normal(
        np.array([5.0, 2.5]), np.array([1.0, 0.0]), rng, 0.0, 5.0, 100_000
    )
    assert draws.min() >= 0.0 and draws.max() <= 5.0
    density = 1 / math.sqrt(2 * math.pi)
    expected = 5 - density / (0.5 - phi(-5))
    assert draws[:, 0].mean() == pytest.approx(expected, abs=0.01)
    assert np.all(draws[:, 1] == 2.5)  # no spread, no draw


def test_an_inherited_score_moves_with_its_backend() -> None:
    """A front-end row whose cell names a parent row keeps its offset from the parent's draw."""
    rng = np.random.default_rng(11)
    mean = np.array([[3.0], [3.5]])
    sd = np.array([[0.5], [0.5]])
    own = np.array([[0.5], [0.0]])
    parent = np.array([[-1], [0]])
    draws = smaa.sample_scores(mean, sd, own, parent, rng, 20_000)
    inside = (draws[:, 0, 0] < 4.4) & (draws[:, 0, 0] > 0.6)
    assert np.allclose(draws[inside, 1, 0] - draws[inside, 0, 0], 0.5)


# -- properties ---------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.5, 4.5), min_size=4, max_size=4),
    st.lists(st.floats(0.0, 0.5), min_size=4, max_size=4),
    st.integers(0, 2**16),
)
def test_a_dominated_alternative_never_ranks_first(
    better: list[float], gaps: list[float], seed: int
) -> None:
    """D scores no better than A anywhere (worse somewhere) and is listed first, so it would win
    every tie: with any positive weights, it still never ranks first."""
    a = np.array(better)
    d = a - np.array(gaps)
    d[int(np.argmax(gaps)) if max(gaps) > 0 else 0] -= 0.1
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(4, 0.3), 5000) + 1e-9
    scores = np.stack([d, a, rng.uniform(0, 5, 4)])
    indices = smaa.smaa2(scores, weights, np.array([0, 1, 2]))
    assert indices.acceptability[0, 0] == 0.0
    assert np.isnan(indices.central_weights[0]).all() and np.isnan(indices.confidence[0])


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 6), st.integers(0, 2**16))
def test_indices_are_distributions_and_pairwise_indices_sum_to_one(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    mean = rng.uniform(0, 5, (n, 3))
    sd = rng.uniform(0, 1, (n, 3))
    draws = smaa.sample_scores(mean, sd, sd, np.full(mean.shape, -1), rng, 2000)
    indices = smaa.smaa2(draws, smaa.any_priorities(3, rng, 2000), np.arange(n))
    assert np.allclose(indices.acceptability.sum(axis=0), 1) and np.allclose(
        indices.acceptability.sum(axis=1), 1
    )
    off = ~np.eye(n, dtype=bool)
    assert np.allclose((indices.pairwise + indices.pairwise.T)[off], 1.0)
    winners = ~np.isnan(indices.confidence)
    assert np.allclose(indices.central_weights[winners].sum(axis=1), 1.0)
    assert ((indices.confidence[winners] >= 0) & (indices.confidence[winners] <= 1)).all()


def test_central_weights_lean_on_the_criterion_an_alternative_wins_on() -> None:
    scores = np.array([[5.0, 1.0, 1.0], [1.0, 3.0, 3.0], [2.0, 2.5, 2.5]])
    rng = np.random.default_rng(2)
    indices = smaa.smaa2(scores, smaa.any_priorities(3, rng, 50_000), np.arange(3))
    central = indices.central_weights
    assert central[0, 0] == max(central[:, 0])
    assert central[0, 0] > indices.mean_weights[0] * 1.3
    assert central[1, 0] < indices.mean_weights[0]
    # at its own central weights, each wins at least as often as overall (scores are fixed here)
    assert indices.confidence[0] == 1.0


# -- against a brute-force Monte Carlo ---------------------------------------------------------


def _truncated(rand: random.Random, mean: float, sd: float) -> float:
    if sd <= 0:
        return min(5.0, max(0.0, mean))
    for _ in range(1000):
        x = rand.gauss(mean, sd)
        if 0.0 <= x <= 5.0:
            return x
    return min(5.0, max(0.0, mean))


def _brute_force_first(rec: Any, n: int, seed: int) -> dict[str, float]:
    """SMAA-2 as the README describes it, one draw at a time in plain Python."""
    rand = random.Random(seed)
    spreads = score_uncertainty(rec)
    criteria = list(CRITERIA)
    weight_of = {c.criterion: c.weight for c in rec.ranking[0].criteria}
    answered = rec.requirements.priorities
    relevance = {
        k: 1.0 if k is Criterion.TASK_FIT else weight_of[k] / getattr(answered, k.value)
        for k in criteria
    }
    rows = []  # (alternative, framework, backend, scores)
    for index, ranked in enumerate(rec.ranking):
        options = [(ranked.options[0].backend, ranked.criteria)] if ranked.options else []
        options += [(o.backend, o.criteria) for o in ranked.options[1:]]
        for backend, scores in options or [(None, ranked.criteria)]:
            rows.append((index, ranked.framework, backend, {c.criterion: c.score for c in scores}))
    wins = dict.fromkeys((r.framework for r in rec.ranking), 0)
    for _ in range(n):
        weights = {}
        for k in criteria:
            if k is Criterion.TASK_FIT:
                weights[k] = weight_of[k]
            else:
                p = getattr(answered, k.value) + rand.uniform(-1, 1)
                weights[k] = min(5.0, max(0.0, p)) * relevance[k]
        drawn: dict[tuple[str, str | None], dict[Criterion, float]] = {}
        for _, framework, backend, scores in sorted(rows, key=lambda r: r[2] is not None):
            cell = {}
            for k in criteria:
                spread = spreads.of(framework, k, backend)
                assert spread is not None
                parent = drawn.get((spread.shared_with, None)) if spread.shared_with else None
                if parent is not None:
                    base = next(r[3] for r in rows if r[1] == spread.shared_with)
                    cell[k] = _truncated(rand, parent[k] + scores[k] - base[k], spread.own_sd)
                else:
                    cell[k] = _truncated(rand, scores[k], spread.sd)
            drawn[(framework, backend)] = cell
        total = sum(weights.values())
        best: dict[int, tuple[float, float]] = {}  # alternative -> (known total, drawn total)
        for alternative, framework, backend, scores in rows:
            known = sum(weights[k] * scores[k] for k in criteria) / total
            value = sum(weights[k] * drawn[(framework, backend)][k] for k in criteria) / total
            if alternative not in best or known > best[alternative][0]:
                best[alternative] = (known, value)
        winner = max(best, key=lambda a: (best[a][1], -a))
        wins[rec.ranking[winner].framework] += 1
    return {fw: count / n for fw, count in wins.items()}


@pytest.mark.parametrize("example", ["jax-science-group", "web-tabular-widget"])
def test_smaa_agrees_with_a_brute_force_monte_carlo(example: str) -> None:
    rec = recommend(load_answers(ROOT / "examples" / f"{example}.toml"))
    n_brute, n_fast = 4000, 20_000
    brute = _brute_force_first(rec, n_brute, seed=1)
    report = analyse_robustness(rec, samples=n_fast, seed=4)
    for row in report.rank_acceptability:
        p = brute[row.framework]
        tolerance = 4 * math.sqrt(_se(p, n_brute) ** 2 + _se(p, n_fast) ** 2)
        assert row.rank_shares[0] == pytest.approx(p, abs=tolerance), row.framework


# -- score spreads ----------------------------------------------------------------------------


def _claim(**fields: Any) -> Any:
    base = {"id": "c", "verdict": SimpleNamespace(value="holds"), "references": ["r"],
            "corrected_by": [], "checked": None, "shelf": None}  # fmt: skip
    return SimpleNamespace(**{**base, **fields})


def test_a_claims_standing_follows_its_verdict_and_check_date() -> None:
    from datetime import date

    day = date(2026, 12, 2)
    current = claim_standing(_claim(checked="2026-11-20"), POLICY, day)
    assert current.standing == "current" and not current.stale
    assert claim_standing(_claim(), POLICY, day).standing == "unverified"
    assert claim_standing(_claim(references=[]), POLICY, day).standing == "unverified"
    outdated = claim_standing(_claim(verdict=SimpleNamespace(value="outdated")), POLICY, day)
    assert outdated.standing == "outdated" and outdated.sd > current.sd
    # an unknown verdict (say, one added later) gets the fallback spread, not an error
    assert claim_standing(_claim(verdict=SimpleNamespace(value="disputed")), POLICY, day).sd == (
        POLICY.fallback
    )


def test_an_aging_claim_turns_stale_and_its_spread_widens() -> None:
    """Age the clock: the same claim, checked once, seen later and later."""
    from datetime import date, timedelta

    checked = date(2026, 6, 1)
    claim = _claim(checked=checked.isoformat(), shelf="version")
    shelf = POLICY.age.shelf_life("version")
    seen = [claim_standing(claim, POLICY, checked + timedelta(days=d)) for d in (0, 90, 200, 400)]
    assert [s.sd for s in seen] == sorted(s.sd for s in seen) and seen[0].sd < seen[-1].sd
    assert [s.stale for s in seen] == [False, False, True, True]
    assert seen[0].sd == pytest.approx(POLICY.spread["current"])
    grown = POLICY.spread["current"] * (1 + POLICY.age.growth * 200 / shelf)
    assert seen[2].sd == pytest.approx(grown, abs=1e-4)  # reported to 4 decimals
    capped = claim_standing(claim, POLICY, checked + timedelta(days=100 * 365))
    assert capped.sd == pytest.approx(POLICY.spread["current"] * POLICY.age.max_factor, abs=1e-4)


def test_claims_combine_as_the_policy_says() -> None:
    assert combine([0.25, 0.5], POLICY) == pytest.approx(math.sqrt((0.0625 + 0.25) / 2))
    assert combine([], POLICY) == POLICY.fallback
    other = POLICY.model_copy(update={"combine": "inverse_variance"})
    assert combine([0.5, 0.5], other) == pytest.approx(0.5 / math.sqrt(2))


def test_every_score_has_a_spread_and_a_short_text() -> None:
    rec = recommend(load_answers(ROOT / "examples" / "mobile-vision-app.toml"))
    spreads = score_uncertainty(rec)
    rows = sum(max(1, len(r.options)) for r in rec.ranking)
    assert len(spreads.spreads) == rows * len(CRITERIA)
    for spread in spreads.spreads:
        assert 0 < spread.sd <= POLICY.max_sd and spread.own_sd <= spread.sd + 1e-9
        assert spread.text.startswith(f"{spread.score:.2f} ± {spread.sd:.2f} — ")
    texts = [s.text for s in spreads.spreads]
    assert any("from two unverified claims" in t or "from two claims" in t for t in texts)
    assert any("set by rule " in t for t in texts) and any("from the backend" in t for t in texts)


# -- the policy is data -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("current = 0.25", "current = 0", "every spread must be above 0"),
        ("unverified = 0.5  ", "unverfied = 0.5  ", "spread lacks: unverified"),
        ('combine = "rms"', 'combine = "median"', "combine"),
        ("robust = 0.95", "robust = 0.9", "robust"),
        ("default = 365\n", "", "shelf_life_days needs a `default`"),
    ],
)
def test_a_bad_uncertainty_policy_fails_at_load_naming_the_file(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    folder = tmp_path / "knowledge"
    shutil.copytree(knowledge_dir(), folder)
    policy = folder / "uncertainty.toml"
    text = policy.read_text(encoding="utf-8")
    assert old in text
    policy.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"uncertainty\.toml") as caught:
        load_knowledge(folder)
    assert message in str(caught.value)


def test_the_policy_survives_the_compiled_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ADVISOR_NO_CACHE", raising=False)
    built = load_knowledge()
    cached = load_knowledge()  # read back from the cache file
    monkeypatch.setenv("ADVISOR_NO_CACHE", "1")
    uncached = load_knowledge()
    assert built.uncertainty == cached.uncertainty == uncached.uncertainty
    assert policy_of(cached) == policy_of(uncached) == POLICY
    rec = recommend(Requirements.model_validate({"project": {"tasks": ["nlp"]}}), knowledge=cached)
    assert analyse_robustness(rec, knowledge=cached, samples=500) == analyse_robustness(
        rec, knowledge=uncached, samples=500
    )


def _undocumented(schema: dict[str, Any]) -> list[str]:
    """Properties without a description, in every model of a JSON Schema."""
    missing = []
    for name, model in {"(root)": schema, **schema.get("$defs", {})}.items():
        for prop, spec in model.get("properties", {}).items():
            if "description" not in spec:
                missing.append(f"{name}.{prop}")
    return missing


def test_every_json_field_of_the_analyses_is_documented_in_its_schema() -> None:
    from advisor.core.decision.robustness import RobustnessReport
    from advisor.core.decision.whatif import WhatIfReport

    for model in (RobustnessReport, WhatIfReport):
        assert _undocumented(model.model_json_schema(mode="serialization")) == []


def test_dated_checks_narrow_the_scores_and_ageing_widens_them_again() -> None:
    """The same knowledge with every claim checked on one day, analysed the next day and a year
    and a half later: fresh checks beat undated claims, and stale ones lose the gain."""
    import dataclasses
    from datetime import date

    kb = knowledge_in_force()

    def variant(checked: str | None) -> Any:
        claims = {
            k: SimpleNamespace(id=c.id, verdict=c.verdict, references=c.references,
                               corrected_by=c.corrected_by, checked=checked, shelf="version")
            for k, c in kb.claims.items()
        }  # fmt: skip
        return dataclasses.replace(kb, claims=claims)

    rec = recommend(load_answers(ROOT / "examples" / "apple-silicon-startup.toml"))
    dated = variant("2026-06-01")
    undated = analyse_robustness(rec, knowledge=variant(None), samples=4000)
    fresh = analyse_robustness(rec, knowledge=dated, samples=4000, as_of=date(2026, 6, 2))
    stale = analyse_robustness(rec, knowledge=dated, samples=4000, as_of=date(2027, 12, 1))

    def mean_sd(report: Any) -> float:
        return float(np.mean([s.sd for s in report.score_uncertainty]))

    assert mean_sd(fresh) < mean_sd(undated) and mean_sd(fresh) < mean_sd(stale)
    assert all(c.stale for s in stale.score_uncertainty for c in s.claims)
    assert not any(c.stale for s in fresh.score_uncertainty for c in s.claims)
    assert fresh.first_share is not None and undated.first_share is not None
    assert fresh.first_share >= undated.first_share
    assert stale.as_of == "2027-12-01"
