"""The robustness report in words: hand-built reports (no sampling) render exactly as written,
percentages never round a doubt away, and the verdict, TOPSIS and leaning read the numbers."""

from __future__ import annotations

import numpy as np
import pytest

from advisor.core.criteria import LABELS, Criterion
from advisor.core.decision.crossover import CrossoverReport, PriorityCrossover
from advisor.core.decision.robustness import (
    Acceptability,
    NoPreference,
    RobustnessReport,
    _deciding_criteria,
    _ordinal,
    _pct,
    _verdict,
    topsis,
)
from advisor.core.decision.uncertainty import ScoreSpread

DEV, ECO, PERF = Criterion.DEVELOPMENT_SPEED, Criterion.ECOSYSTEM, Criterion.RUNTIME_PERFORMANCE


def _report(**changes: object) -> RobustnessReport:
    """Two frameworks, Alpha ahead of Bravo, every number chosen by hand."""
    alpha = Acceptability(
        framework="alpha", name="Alpha", rank_shares=[0.8, 0.2], first_with_uniform_weights=0.997,
        topsis_closeness=0.614, confidence_factor=0.9, pairwise_winning={"bravo": 0.8},
        no_preference=NoPreference(
            rank_shares=[0.6, 0.4], central_weights={DEV: 0.6, ECO: 0.3, PERF: 0.1}
        ),
    )  # fmt: skip
    bravo = Acceptability(
        framework="bravo", name="Bravo", rank_shares=[0.2, 0.8], first_with_uniform_weights=0.003,
        topsis_closeness=0.386, confidence_factor=None, pairwise_winning={"alpha": 0.2},
        no_preference=NoPreference(
            rank_shares=[0.4, 0.6], central_weights={DEV: 0.2, ECO: 0.45, PERF: 0.35}
        ),
    )  # fmt: skip
    fields: dict[str, object] = {
        "verdict": "Fairly robust: Alpha.", "level": "fairly_robust", "top_pick": "alpha",
        "first_share": 0.8, "margin": 1.5, "runner_up": "bravo",
        "rank_acceptability": [alpha, bravo], "topsis_ranking": ["alpha", "bravo"],
        "topsis_agreement": True, "measured_spread_used": False, "caveats": ["Mind the gap."],
        "mean_weights": {DEV: 0.4, ECO: 0.4, PERF: 0.2}, "samples": 10_000,
        "no_preference_samples": 2_500, "seed": 3, "perturbation": 1.5, "as_of": "2026-12-01",
        "score_uncertainty": [
            ScoreSpread(framework="alpha", criterion=DEV, score=4.0, sd=0.5, own_sd=0.5, text="-"),
            ScoreSpread(framework="alpha", criterion=ECO, score=3.25, sd=0.125, own_sd=0.125,
                        text="-"),
            ScoreSpread(framework="bravo", backend="alpha", criterion=DEV, score=2.0, sd=1.0,
                        own_sd=0.5, text="-"),
            ScoreSpread(framework="bravo", backend="other", criterion=DEV, score=1.0, sd=1.0,
                        own_sd=1.0, text="-"),
            ScoreSpread(framework="gone", criterion=DEV, score=1.0, sd=1.0, own_sd=1.0, text="-"),
        ],
    }  # fmt: skip
    fields.update(changes)
    return RobustnessReport.model_validate(fields)


def test_the_text_report_reads_as_written() -> None:
    assert _report().text_lines() == [
        "Robustness: Fairly robust: Alpha.",
        "  SMAA-2 over 10,000 draws of scores (each within its evidence's uncertainty) and "
        "priorities (+/-1.5 of yours), seed 3, claims aged as of 2026-12-01; conf. = confidence "
        "factor; no pref. = first with any priorities:",
        "                   1st   2nd   conf.  no pref.  TOPSIS",
        "    Alpha          80%   20%     90%      >99%    0.61",
        "    Bravo          20%   80%       -       <1%    0.39",
        "  Alpha ranks above Bravo in 80% of draws",
        "  Central weights (the typical weights under which each ranks first):",
        "    Alpha leans on development speed (60% vs 40% on average)",
        "    Bravo leans on runtime performance (35% vs 20% on average), ecosystem (45% vs 40% "
        "on average)",
        " ! Mind the gap.",
    ]


def test_the_markdown_report_reads_as_written() -> None:
    assert _report().markdown_lines() == [
        "**Fairly robust: Alpha.**",
        "",
        "| Framework | 1st | 2nd | confidence factor | first, no preferences | TOPSIS closeness |",
        "|---|---:|---:|---:|---:|---:|",
        "| Alpha | 80% | 20% | 90% | >99% | 0.61 |",
        "| Bravo | 20% | 80% | – | <1% | 0.39 |",
        "",
        "*SMAA-2: 10,000 draws of scores within their uncertainty and of priorities within ±1.5 "
        "of yours (plus 2,500 with no preferences), seed 3, claim ages as of 2026-12-01.*",
        "",
        "Pairwise winning indices (row ranks above column):",
        "",
        "| | Alpha | Bravo |",
        "|---|---:|---:|",
        "| Alpha | – | 80% |",
        "| Bravo | 20% | – |",
        "",
        "Central weights with no preferences (the typical weights under which each ranks first; "
        "normalised):",
        "",
        "| | Dev | Eco | Perf |",
        "|---|---:|---:|---:|",
        "| mean of all draws | 40% | 40% | 20% |",
        "| Alpha | 60% | 30% | 10% |",
        "| Bravo | 20% | 45% | 35% |",
        "",
        "Score uncertainty (score ± sd, 0-5; `advisor explain` says what each rests on):",
        "",
        "| | Task | Dev | Perf | Mem | Dist | Depl | Eco | HW | Lang | LTS | Team |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        "| Alpha |  | 4.00 ± 0.50 |  |  |  |  | 3.25 ± 0.12 |  |  |  |  |",
        "| Bravo |  | 2.00 ± 1.00 |  |  |  |  |  |  |  |  |  |",
        "",
        "",
        "- ⚠ Mind the gap.",
    ]


@pytest.mark.parametrize(
    ("share", "text"),
    [(0.0, "0%"), (0.001, "<1%"), (0.005, "<1%"), (0.0051, "1%"), (0.5, "50%"),
     (0.9949, "99%"), (0.995, ">99%"), (0.9999, ">99%"), (1.0, "100%")],
)  # fmt: skip
def test_a_share_never_rounds_a_doubt_away(share: float, text: str) -> None:
    """50 draws in 10,000 (0.005) are a doubt: not '0%', as Python's half-to-even would write."""
    assert _pct(share) == text


def test_ordinals() -> None:
    assert [_ordinal(n) for n in range(1, 6)] == ["1st", "2nd", "3rd", "4th", "5th"]


DRAWS = "of draws of scores and priorities within their uncertainty"


def test_the_verdict_says_what_each_level_means() -> None:
    names = ["Alpha", "Bravo", "Charlie"]
    first = np.array([0.97, 0.03, 0.0])
    assert _verdict("robust", names, first, 1, 3.25, ["ignored"]) == (
        f"Alpha ranks first in 97% {DRAWS}, 3.2 points ahead as answered."
    )
    assert _verdict("robust", names, first, 1, None, []) == f"Alpha ranks first in 97% {DRAWS}."
    first = np.array([0.8, 0.05, 0.15])
    assert _verdict("fairly_robust", names, first, 2, 1.04, ["x (+)", "y (-)"]) == (
        f"Fairly robust: Alpha ranks first in 80% {DRAWS}, 1.0 points ahead as answered; "
        "runner-up Charlie (15%). What decides it: x (+); or y (-)."
    )
    assert _verdict("fairly_robust", names, first, 2, 0.004, []) == (
        f"Fairly robust: Alpha ranks first in 80% {DRAWS}, 0.0 points ahead as answered (tied "
        "on points: the engine breaks ties by long-term support, then listing order); runner-up "
        "Charlie (15%)."
    )
    first = np.array([0.4, 0.6, 0.0])
    assert _verdict("too_close", names, first, 1, 0.3, ["z (+)"]) == (
        "Too close to call: Bravo 60%, Alpha 40% first across draws of scores and priorities "
        "within their uncertainty; Alpha is 0.3 points ahead as answered, runner-up Bravo. "
        "What decides it: z (+)."
    )
    assert _verdict("too_close", names, first, 1, None, []).startswith(
        "Too close to call: Bravo 60%, Alpha 40% first"
    )
    assert "Alpha is 0.0 points ahead as answered, runner-up Bravo." in _verdict(
        "too_close", names, first, 1, None, []
    )
    # a margin of exactly 0.005 points is no longer a tie; -0.001 still is
    assert "tied" not in _verdict("fairly_robust", names, first, 1, 0.005, [])
    assert "tied on points" in _verdict("too_close", names, first, 1, -0.001, [])


def test_the_deciding_criteria_are_the_largest_weighted_gaps() -> None:
    """Between the first two: the three largest |score gap x weight|, signed, none that is 0."""
    from advisor.core.criteria import CRITERIA

    criteria = list(CRITERIA)[:5]
    scores = np.array([[3.0, 5.0, 1.0, 2.0, 4.0], [3.0, 4.0, 3.0, 1.0, 4.0]])
    weights = np.array([5.0, 1.0, 1.0, 3.0, 2.0])
    assert _deciding_criteria(scores, weights, criteria) == [
        f"{LABELS[criteria[3]].lower()} (+)",  # +1 x 3
        f"{LABELS[criteria[2]].lower()} (-)",  # -2 x 1
        f"{LABELS[criteria[1]].lower()} (+)",  # +1 x 1
    ]
    assert _deciding_criteria(scores[:, [0, 4]], weights[[0, 4]], [criteria[0], criteria[4]]) == []


def test_topsis_closeness_on_hand_computed_cases() -> None:
    """Two criteria, two frameworks trading one for the other: closeness is the distance to the
    worst over the sum of both distances, computed on vector-normalised, weighted scores."""
    scores = np.array([[4.0, 3.0], [3.0, 4.0]])
    closeness = topsis(np.array([3.0, 1.0]), scores)
    # columns normalised by 5; weights 3/4 and 1/4: alpha is 0.15 better on the first and 0.05
    # worse on the second, so its distances are 0.05 to the ideal and 0.15 to the worst
    assert closeness == pytest.approx([0.75, 0.25])
    same = topsis(np.array([1.0, 1.0]), np.array([[2.0, 2.0], [2.0, 2.0]]))
    assert same == pytest.approx([0.5, 0.5])  # nothing apart: neither is closer
    zero = topsis(np.array([0.0, 0.0]), np.array([[0.0, 1.0], [0.0, 3.0]]))
    assert zero == pytest.approx([0.5, 0.5])  # no weight at all: no preference
    one_zero = topsis(np.array([1.0, 1.0]), np.array([[0.0, 1.0], [0.0, 3.0]]))
    assert one_zero == pytest.approx([0.0, 1.0])  # a column of zeros stays zero, not NaN


def test_crossovers_and_plain_reports_render_their_parts_only() -> None:
    point = PriorityCrossover(
        criterion=ECO, current=3, direction="raise", at=4.25, whole=5, winner="bravo",
        winner_name="Bravo", lead=1.25, verified=True,
    )  # fmt: skip
    crossing = CrossoverReport(top_pick="alpha", priorities=[point])
    report = _report(crossovers=crossing, caveats=[], as_of=None, mean_weights=None)
    text = report.text_lines()
    assert text[-2:] == [
        "  Crossover points (holding your other answers):",
        "    priority: raise ecosystem from 3 to 5 and Bravo wins (crosses at 4.25; ahead by 1.2 "
        "points, checked)",
    ]
    assert "seed 3; conf." in text[1]  # no date: no "claims aged as of"
    assert not any("leans on" in line for line in text)  # no mean weights: no leaning
    markdown = report.markdown_lines()
    assert markdown[-4:] == [
        "| Priority | Now | Change | Crosses at | New winner | Ahead by |",
        "|---|---:|---|---:|---|---:|",
        "| Ecosystem | 3 | raise to 5 | 4.25 | Bravo | 1.2 |",
        "",
    ]
    assert "Crossover points (holding your other answers):" in markdown
    assert "seed 3.*" in markdown[7] and "Central weights" not in "\n".join(markdown)
    assert "⚠" not in "\n".join(markdown)
    # no crossover found at all: no heading for one
    empty = _report(crossovers=CrossoverReport(top_pick="alpha"))
    assert "Crossover points" not in "\n".join(empty.text_lines() + empty.markdown_lines())


def test_a_single_framework_report_is_the_verdict_and_its_caveats() -> None:
    alone = Acceptability(framework="alpha", name="Alpha", rank_shares=[1.0],
                          first_with_uniform_weights=1.0, topsis_closeness=1.0)  # fmt: skip
    report = _report(rank_acceptability=[alone], verdict="Only Alpha is eligible.")
    assert report.text_lines() == ["Robustness: Only Alpha is eligible.", " ! Mind the gap."]
    assert report.markdown_lines() == ["**Only Alpha is eligible.**", "", "", "- ⚠ Mind the gap."]
    assert _report(rank_acceptability=[alone], caveats=[]).markdown_lines() == [
        "**Fairly robust: Alpha.**",
        "",
    ]


def test_no_pairwise_indices_no_pairwise_line_and_long_names_widen_the_table() -> None:
    rows = _report().rank_acceptability
    long = rows[0].model_copy(update={"name": "A very long name", "pairwise_winning": {}})
    text = _report(rank_acceptability=[long, rows[1]]).text_lines()
    assert not any(" ranks above " in line for line in text)
    assert text[2] == "    " + " " * 18 + "   1st   2nd   conf.  no pref.  TOPSIS"
    assert text[3].startswith("    A very long name     80%")
    assert text[4].startswith("    Bravo                20%")


LANG, HW = Criterion.LANGUAGE_SUPPORT, Criterion.HARDWARE_SUPPORT


def test_what_a_framework_leans_on_reads_the_central_and_mean_weights() -> None:
    """At most two criteria, strongest first; one counts from 1.1 times its mean weight and 5%
    up; a criterion with no mean weight or none at all is never one (and breaks nothing)."""
    rows = _report().rank_acceptability
    central = {DEV: 0.55, ECO: 0.05, PERF: 0.3, LANG: 0.1}  # LANG has no mean weight at all
    mean = {DEV: 0.5, ECO: 0.01, PERF: 0.2, HW: 0.0}
    alpha = rows[0].model_copy(
        update={"no_preference": NoPreference(rank_shares=[1.0, 0.0], central_weights=central)}
    )
    bravo = rows[1].model_copy(update={"no_preference": None})
    report = _report(rank_acceptability=[alpha, bravo], mean_weights=mean)
    # ECO: 5% is 5x its mean; PERF 1.5x; DEV exactly 1.1x (0.55 vs 0.5) would be third
    assert [line for line in report.text_lines() if "leans on" in line] == [
        "    Alpha leans on ecosystem (5% vs 1% on average), runtime performance (30% vs 20% on "
        "average)"
    ]
    dev_only = alpha.model_copy(update={"no_preference": NoPreference(
        rank_shares=[1.0, 0.0], central_weights={DEV: 0.55, ECO: 0.049, HW: 0.3})})  # fmt: skip
    lines = _report(rank_acceptability=[dev_only, bravo], mean_weights=mean).text_lines()
    assert [line for line in lines if "leans on" in line] == [
        "    Alpha leans on development speed (55% vs 50% on average)"
    ]
    # the Markdown table: a criterion missing from a central weight vector is 0%, and a
    # framework without one has no row
    markdown = report.markdown_lines()
    start = markdown.index("| | Dev | Eco | Perf | HW |")
    assert markdown[start + 2 : start + 5] == [
        "| mean of all draws | 50% | 1% | 20% | 0% |",
        "| Alpha | 55% | 5% | 30% | 0% |",
        "",
    ]
    no_central = [r.model_copy(update={"no_preference": NoPreference(rank_shares=[0.5, 0.5])})
                  for r in rows]  # fmt: skip
    text = "\n".join(_report(rank_acceptability=no_central).markdown_lines())
    assert "Central weights" not in text and "leans on" not in text


def test_the_deciding_criteria_stop_at_three_and_ignore_a_gap_of_a_billionth() -> None:
    from advisor.core.criteria import CRITERIA

    criteria = list(CRITERIA)[:5]
    scores = np.array([[4.0, 4.0, 4.0, 4.0, 1e-9], [0.0, 1.0, 2.0, 3.0, 0.0]])
    words = _deciding_criteria(scores, np.ones(5), criteria)
    assert words == [f"{LABELS[c].lower()} (+)" for c in criteria[:3]]
    assert _deciding_criteria(scores[:, 4:], np.ones(1), criteria[4:]) == []


def test_pairwise_indices_with_three_frameworks_and_one_missing() -> None:
    rows = _report().rank_acceptability
    alpha = rows[0].model_copy(update={"pairwise_winning": {"bravo": 0.8, "charlie": 0.9}})
    charlie = rows[1].model_copy(update={"framework": "charlie", "name": "Charlie",
                                         "pairwise_winning": {"alpha": 0.1}})  # fmt: skip
    report = _report(rank_acceptability=[alpha, rows[1], charlie])
    assert "  Alpha ranks above Bravo in 80%, Charlie in 90% of draws" in report.text_lines()
    markdown = report.markdown_lines()
    start = markdown.index("| | Alpha | Bravo | Charlie |")
    assert markdown[start + 1 : start + 5] == [
        "|---|---:|---:|---:|",
        "| Alpha | – | 80% | 90% |",
        "| Bravo | 20% | – | 0% |",  # no index against Charlie: none counted
        "| Charlie | 10% | 0% | – |",
    ]


def test_the_markdown_crossover_heading_is_followed_by_a_blank_line() -> None:
    point = PriorityCrossover(
        criterion=ECO, current=3, direction="raise", at=4.25, whole=5, winner="bravo",
        winner_name="Bravo", lead=1.25,
    )  # fmt: skip
    report = _report(crossovers=CrossoverReport(top_pick="alpha", priorities=[point]))
    markdown = report.markdown_lines()
    at = markdown.index("Crossover points (holding your other answers):")
    assert markdown[at + 1 : at + 3] == [
        "",
        "| Priority | Now | Change | Crosses at | New winner | Ahead by |",
    ]
