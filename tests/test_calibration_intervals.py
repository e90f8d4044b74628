"""Calibration with the uncertainty of each figure: a lead inside the 95 % intervals moves no
score, a real gap counts only as far as the intervals allow, and a figure taken on a busy
machine is used only where no quiet one exists, for less. Worked by hand below with the shipped
policy (see tests/test_calibration_figures.py for the rest of the arithmetic)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from advisor.core.calibration import probe_family
from advisor.core.engine import recommend
from probes.records import ProbeRecord, Spread
from tests.test_calibration import (
    ALL,
    PRIORS,
    RUNTIME,
    account,
    answers,
    calibrate,
    measured,
    rec,
)


def with_ci(record: ProbeRecord, low: float, high: float, **details: Any) -> ProbeRecord:
    spread = Spread(cv=record.spread.cv, repeats=record.spread.repeats, ci95=(low, high))
    return record.model_copy(update={"spread": spread, "details": {**record.details, **details}})


def _relative(data: Any, fw: str, probe: str = "conv_train_step") -> float:
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    return next(f.relative for f in account(calibration, fw).figures if f.probe == probe)


def test_overlapping_intervals_tie_and_a_real_gap_shrinks_by_the_intervals() -> None:
    # a 5 % lead, intervals 8 % wide: a tie
    close = measured(
        with_ci(rec("pytorch", "conv_train_step", 105), 101, 109),
        with_ci(rec("tensorflow", "conv_train_step", 100), 96, 104),
    )
    assert _relative(close, "tensorflow") == 1.0
    # twice as fast, intervals 80-120 and 190-210: 120 / 190, not 100 / 200
    apart = measured(
        with_ci(rec("pytorch", "conv_train_step", 200), 190, 210),
        with_ci(rec("tensorflow", "conv_train_step", 100), 80, 120),
    )
    assert _relative(apart, "tensorflow") == pytest.approx(120 / 190, abs=1e-4)
    assert _relative(apart, "pytorch") == 1.0
    # no interval on either side: the medians, as before
    bare = measured(
        rec("pytorch", "conv_train_step", 200), rec("tensorflow", "conv_train_step", 100)
    )
    assert _relative(bare, "tensorflow") == 0.5


def test_for_lower_is_better_the_leaders_worst_case_meets_the_others_best() -> None:
    data = measured(
        with_ci(rec("pytorch", "inference_latency", 1.0, unit="ms", higher=False), 0.9, 1.1),
        with_ci(rec("tensorflow", "inference_latency", 2.0, unit="ms", higher=False), 1.6, 2.4),
    )
    assert _relative(data, "tensorflow", "inference_latency") == pytest.approx(1.1 / 1.6, abs=1e-4)
    assert _relative(data, "pytorch", "inference_latency") == 1.0


def test_intervals_reach_the_score_and_the_figures_carry_them() -> None:
    plain = measured(
        rec("pytorch", "conv_train_step", 105), rec("tensorflow", "conv_train_step", 100)
    )
    scores, _ = calibrate(answers(), plain, PRIORS, ALL)
    assert scores["tensorflow"][RUNTIME] < scores["pytorch"][RUNTIME]
    tied = measured(
        with_ci(rec("pytorch", "conv_train_step", 105), 101, 109),
        with_ci(rec("tensorflow", "conv_train_step", 100), 96, 104),
    )
    scores, calibration = calibrate(answers(), tied, PRIORS, ALL)
    assert scores["tensorflow"][RUNTIME] == scores["pytorch"][RUNTIME]
    (figure,) = account(calibration, "tensorflow").figures
    assert figure.ci95 == (96, 104) and figure.noisy is None


def test_a_quiet_figure_beats_a_newer_noisy_one_and_a_lone_noisy_one_counts_for_less() -> None:
    busy = "the reference matmul ran 3.0x slower than this machine's quiet figure"
    quiet_old = rec("tensorflow", "conv_train_step", 100, days_old=3)
    noisy_new = rec("tensorflow", "conv_train_step", 10, days_old=1).model_copy(
        update={"details": {"noisy": busy}}
    )
    leader = rec("pytorch", "conv_train_step", 100)
    assert _relative(measured(leader, quiet_old, noisy_new), "tensorflow") == 1.0
    # only the noisy figure: it is used, confidence loses half of its weight share, a caveat says so
    _, calibration = calibrate(answers(), measured(leader, noisy_new), PRIORS, ALL)
    tf, pt = account(calibration, "tensorflow"), account(calibration, "pytorch")
    assert tf.figures[0].relative == pytest.approx(0.1)
    assert tf.figures[0].noisy == busy
    assert tf.confidence == pytest.approx(pt.confidence * 0.5, abs=1e-4)
    own = calibration.by_framework
    assert any("measured while the machine was busy" in c for c in own["tensorflow"])
    assert not any("busy" in c for c in own.get("pytorch", []))


def test_new_probes_fall_in_their_families() -> None:
    assert probe_family("transformer", {"mode": "eager", "pass": "train"}) == "transformer"
    assert probe_family("transformer", {"pass": "train", "figure": "first_call"}) == "compile_time"
    assert probe_family("allreduce", {"bytes": 4096}) == "collective"
    assert probe_family("thread_scaling", {"mode": "eager"}) == "scaling"


def test_the_transformer_weighs_on_nlp_and_the_all_reduce_on_no_runtime_score() -> None:
    nlp = answers(project={"tasks": ["nlp"]})
    data = measured(
        rec("pytorch", "transformer", 50.0, unit="ms", higher=False, params={"pass": "train"}),
        rec("tensorflow", "transformer", 100.0, unit="ms", higher=False, params={"pass": "train"}),
        rec("pytorch", "allreduce", 500.0, unit="µs", higher=False, params={"bytes": 4096}),
        rec("tensorflow", "allreduce", 2000.0, unit="µs", higher=False, params={"bytes": 4096}),
    )
    _, calibration = calibrate(nlp, data, PRIORS, ALL)
    figures = {f.probe: f for f in account(calibration, "tensorflow").figures}
    assert set(figures) == {"transformer"}  # the all-reduce is distributed-training evidence
    assert figures["transformer"].weight == pytest.approx(0.5 + 3.0)
    assert figures["transformer"].relative == 0.5


def test_all_reduce_records_reach_distributed_training_as_measured_evidence() -> None:
    data = measured(
        with_ci(
            rec("pytorch", "allreduce", 520.0, unit="µs", higher=False,
                params={"bytes": 4096, "processes": 2}),
            480.0, 560.0, busbw_gb_s=0.0079, transport="torch.distributed all_reduce (Gloo)",
        ),
        rec("pytorch", "allreduce", 2500.0, unit="µs", higher=False,
            params={"bytes": 1048576, "processes": 2}).model_copy(
            update={"details": {"busbw_gb_s": 0.42}}
        ),
    )  # fmt: skip
    result = recommend(answers(), data)
    pytorch = next(r for r in result.ranking if r.framework == "pytorch")
    (line,) = [c.measured for c in pytorch.criteria if c.criterion.value == "distributed_training"]
    assert line is not None
    assert "over 2 local processes with torch.distributed all_reduce (Gloo)" in line
    assert "4 KiB 520 µs [480 µs-560 µs], busbw 0.0079 GB/s; 1 MiB 2.5 ms, busbw 0.42 GB/s" in line
    assert "Single-machine evidence" in line and "multi-node scaling" in line
    # evidence beside the claims: the score is what it is without the records
    before = next(r for r in recommend(answers(), measured()).ranking if r.framework == "pytorch")
    assert math.isclose(pytorch.score, before.score)


def test_a_failed_all_reduce_is_a_caveat_of_that_framework() -> None:
    from probes.records import ProbeStatus

    data = measured(
        rec("tensorflow", "allreduce", None, status=ProbeStatus.FAILED,
            params={"bytes": 4096, "processes": 2}, error="CollectiveError: rank 1 exited"),
    )  # fmt: skip
    result = recommend(answers(), data)
    tf = next(r for r in result.ranking if r.framework == "tensorflow")
    assert any("all-reduce probe failed here (4 KiB, 2 processes)" in c.message for c in tf.caveats)
    pt = next(r for r in result.ranking if r.framework == "pytorch")
    assert not any("all-reduce" in c.message for c in pt.caveats)


def test_only_a_positive_ordered_finite_interval_is_used() -> None:
    leader = with_ci(rec("pytorch", "conv_train_step", 200), 190, 210)

    def against(low: float, high: float) -> float:
        other = with_ci(rec("tensorflow", "conv_train_step", 100), low, high)
        return _relative(measured(leader, other), "tensorflow")

    assert against(100, 100) == pytest.approx(100 / 190, abs=1e-4)  # a point: still an interval
    assert against(0, 120) == 0.5  # no lower end above 0: the medians
    assert against(-5, 120) == 0.5


def test_an_interval_on_one_side_only_compares_the_medians() -> None:
    for leader, other in (
        (
            with_ci(rec("pytorch", "conv_train_step", 200), 190, 210),
            rec("tensorflow", "conv_train_step", 100),
        ),
        (
            rec("pytorch", "conv_train_step", 200),
            with_ci(rec("tensorflow", "conv_train_step", 100), 80, 120),
        ),
    ):
        assert _relative(measured(leader, other), "tensorflow") == 0.5
    for leader, other in (
        (with_ci(rec("pytorch", "inference_latency", 1.0, unit="ms", higher=False), 0.9, 1.1),
         rec("tensorflow", "inference_latency", 2.0, unit="ms", higher=False)),
        (rec("pytorch", "inference_latency", 1.0, unit="ms", higher=False),
         with_ci(rec("tensorflow", "inference_latency", 2.0, unit="ms", higher=False), 1.6, 2.4)),
    ):  # fmt: skip
        assert _relative(measured(leader, other), "tensorflow", "inference_latency") == 0.5


def test_of_two_equally_quiet_figures_of_the_same_age_the_first_is_kept() -> None:
    leader = rec("pytorch", "conv_train_step", 100)
    first, second = (
        rec("tensorflow", "conv_train_step", 100),
        rec("tensorflow", "conv_train_step", 50),
    )
    assert first.measured_at == second.measured_at
    assert _relative(measured(leader, first, second), "tensorflow") == 1.0


def test_the_busy_machine_caveat_in_its_exact_words() -> None:
    busy = "the reference matmul ran 3.0x slower than this machine's quiet figure"
    noisy = rec("tensorflow", "conv_train_step", 10).model_copy(update={"details": {"noisy": busy}})
    _, calibration = calibrate(
        answers(), measured(rec("pytorch", "conv_train_step", 100), noisy), PRIORS, ALL
    )
    (note,) = [c for c in calibration.by_framework["tensorflow"] if "busy" in c]
    assert note.endswith(
        f"1 of its probe figures were measured while the machine was busy ({busy}); no quiet "
        "figure exists for them, so they count for less: re-run `advisor probe` on a quiet machine."
    )
