"""Calibration's numbers, worked out by hand: confidence factors, the blend, and where caveats go.

The shipped policy (knowledge/calibration.toml) says: confidence = 0.6 (max) x spread (1 - 2 x
weighted CV, floor 0.2; 5 % where a figure has no CV) x hardware (1 when the probed device is all
the team declares, 0.7 when it declares more, 0.3 when none of it) x age (1 up to 30 days, falling
linearly to 0.7 at 90 days, 0.4 beyond) x coverage (the share of the figure weight a framework has
figures for). Calibrated = (1 - c) x prior + c x measured, measured = 5 x the weighted geometric
mean of the relative figures. The expectations below are those rules applied on paper to the
records each test builds, with the probe names the real worker sends (probes/catalogue.py).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

from advisor.core.calibration import CAPABILITIES, FRAMEWORK_PROBE, probe_family
from advisor.core.criteria import Criterion
from advisor.core.engine import recommend
from advisor.core.in_force import knowledge_in_force
from probes.catalogue import CAPABILITY_PROBES, COMPUTE_PROBES, FRONTEND_PROBES
from probes.records import Measurements, ProbeStatus
from tests.test_calibration import (
    ALL,
    MEMORY,
    NOW,
    POLICY,
    PRIORS,
    RUNTIME,
    account,
    answers,
    calibrate,
    measured,
    rec,
    speeds,
)

# speeds(100, 50, 25): conv_train_step, matmul and mlp_train for pytorch, tensorflow, mxnet, CV 2 %.
# For the default answers (computer vision, prototype, CPU) the weights are conv 0.5 + 3.0 = 3.5,
# matmul 0.5, mlp_train 0.5 (prototype stresses dispatch and mlp_eager, which have no figure here).
# Every framework has all three: coverage 1. Spread 1 - 2 x 0.02 = 0.96, so the confidence at
# full hardware match and fresh data is 0.6 x 0.96 = 0.576.
FULL = 0.576


def _confidences(requirements: Any, data: Measurements) -> dict[str, float]:
    _, calibration = calibrate(requirements, data, PRIORS, ALL)
    return {fw: account(calibration, fw).confidence for fw in ALL}


# --- the blend ---------------------------------------------------------------------------------


def test_blend_of_prior_and_measured_by_hand() -> None:
    scores, calibration = calibrate(answers(), measured(*speeds(100, 50, 25)), PRIORS, ALL)
    # pytorch is best everywhere (measured 5), tensorflow half (2.5), mxnet a quarter (1.25)
    assert scores["pytorch"][RUNTIME] == pytest.approx(0.424 * 3.5 + 0.576 * 5.0, abs=1e-4)
    assert scores["tensorflow"][RUNTIME] == pytest.approx(0.424 * 3.5 + 0.576 * 2.5, abs=1e-4)
    assert scores["mxnet"][RUNTIME] == pytest.approx(0.424 * 3.5 + 0.576 * 1.25, abs=1e-4)
    for fw in ALL:
        assert account(calibration, fw).confidence == pytest.approx(FULL, abs=1e-4)
    weights = {f.probe: f.weight for f in account(calibration, "mxnet").figures}
    assert weights == pytest.approx({"conv_train_step": 3.5, "matmul": 0.5, "mlp_train": 0.5})
    assert calibration.reason == (
        "runtime and memory blended with 3 probe figures from this machine "
        "(PyTorch, TensorFlow, MXNet)"
    )


def test_geometric_mean_weighs_each_figure_by_its_family() -> None:
    """Vision: conv weighs 3.5, matmul 0.5. TensorFlow is half as fast on conv and the fastest
    on matmul: measured 5 x 0.5 ** (3.5 / 4) = 2.726; PyTorch 5 x 0.5 ** (0.5 / 4) = 4.585."""
    data = measured(
        rec("pytorch", "conv_train_step", 100),
        rec("tensorflow", "conv_train_step", 50),
        rec("pytorch", "matmul", 50),
        rec("tensorflow", "matmul", 100),
    )
    scores, calibration = calibrate(answers(), data, PRIORS, ALL)
    tf_measured = 5 * 0.5 ** (3.5 / 4.0)
    pt_measured = 5 * 0.5 ** (0.5 / 4.0)
    assert scores["tensorflow"][RUNTIME] == pytest.approx(
        0.424 * 3.5 + 0.576 * tf_measured, abs=1e-4
    )
    assert scores["pytorch"][RUNTIME] == pytest.approx(0.424 * 3.5 + 0.576 * pt_measured, abs=1e-4)
    assert "mxnet" not in scores
    assert account(calibration, "mxnet").confidence == 0.0
    assert account(calibration, "mxnet").calibrated == {}


def test_memory_blend_by_hand_and_runtime_untouched() -> None:
    """Peak memory, lower is better: 400 MiB vs 800 MiB -> relative 1 and 0.5, measured 5 and
    2.5; CV unknown counts as 5 %: spread 0.9, confidence 0.6 x 0.9 = 0.54."""
    data = measured(
        rec("pytorch", "train_peak_memory", 400.0, unit="MiB", higher=False, cv=None),
        rec("tensorflow", "train_peak_memory", 800.0, unit="MiB", higher=False, cv=None),
    )
    scores, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert scores["pytorch"] == pytest.approx({MEMORY: 0.46 * 3.5 + 0.54 * 5.0}, abs=1e-4)
    assert scores["tensorflow"] == pytest.approx({MEMORY: 0.46 * 3.5 + 0.54 * 2.5}, abs=1e-4)
    assert account(calibration, "tensorflow").confidence == pytest.approx(0.54, abs=1e-4)
    (figure,) = account(calibration, "tensorflow").figures
    assert (figure.relative, figure.weight, figure.value, figure.unit) == (0.5, 1.0, 800.0, "MiB")


def test_the_newest_record_of_a_figure_counts() -> None:
    data = measured(
        rec("pytorch", "matmul", 10, days_old=5),
        rec("pytorch", "matmul", 100, days_old=1),
        rec("tensorflow", "matmul", 50, days_old=1),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert account(calibration, "tensorflow").figures[0].relative == 0.5
    assert account(calibration, "pytorch").figures[0].value == 100


def test_unusable_records_give_no_figure() -> None:
    """Zero, infinite and failed values never count: only the two good records compare. (The
    record model refuses such values; calibration still guards against records built without
    validation, hence model_copy.)"""
    records = [
        rec("pytorch", "matmul", 100),
        rec("tensorflow", "matmul", 50),
        rec("mxnet", "matmul", 1).model_copy(update={"value": 0.0}),
        rec("pytorch", "mlp_train", 1).model_copy(update={"value": math.inf}),
        rec("tensorflow", "mlp_train", 10),
        rec("mxnet", "mlp_train", 1).model_copy(update={"value": -3.0}),
        rec("mxnet", "conv_train_step", 5, status=ProbeStatus.FAILED, error="boom"),
        rec("pytorch", "conv_train_step", 5),
    ]
    data = measured().model_copy(update={"records": records})
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert [f.probe for f in account(calibration, "pytorch").figures] == ["matmul"]
    assert account(calibration, "mxnet").figures == []


# --- confidence: age ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "age_factor"),
    [
        (0, 1.0),
        (29, 1.0),
        (30, 1.0),  # fresh up to 30 days
        (36, 1.0 - 0.3 * 6 / 60),  # 0.97
        (45, 0.925),  # a quarter of the way down to 0.7
        (60, 0.85),
        (75, 0.775),
        (89, 1.0 - 0.3 * 59 / 60),  # 0.705
        (90, 0.7),  # the last day before stale
        (91, 0.4),  # stale: the floor, not a continued slope
        (365, 0.4),
    ],
)
def test_confidence_decays_with_the_age_of_the_figures(days: float, age_factor: float) -> None:
    confidences = _confidences(answers(), measured(*speeds(100, 50, 25, days_old=days)))
    for fw in ALL:
        assert confidences[fw] == pytest.approx(FULL * age_factor, abs=1e-4), fw


def test_the_oldest_figure_sets_the_age_and_a_stale_one_says_so() -> None:
    records = speeds(100, 50, 25, days_old=1)
    old = [
        rec(r.framework, r.probe, r.value, days_old=120) if r.probe == "matmul" else r
        for r in records
    ]
    _, calibration = calibrate(answers(), measured(*old), PRIORS, ALL)
    mx = account(calibration, "mxnet")
    assert mx.age_days == pytest.approx(120)
    assert mx.confidence == pytest.approx(FULL * 0.4, abs=1e-4)
    assert mx.measured_at == (NOW - timedelta(days=120)).isoformat()
    assert (
        "MXNet probe figures are stale: 120 days old (measured 2026-07-27); re-run `advisor probe` "
        "(confidence lowered)." in calibration.by_framework["mxnet"]
    )


def test_data_from_the_future_counts_as_fresh() -> None:
    confidences = _confidences(answers(), measured(*speeds(100, 50, 25, days_old=-3)))
    assert confidences["pytorch"] == pytest.approx(FULL, abs=1e-4)


def test_no_stale_caveat_at_ninety_days() -> None:
    _, calibration = calibrate(answers(), measured(*speeds(100, 50, 25, days_old=90)), PRIORS, ALL)
    assert not any("stale" in c for c in calibration.caveats)


# --- confidence: hardware ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "accelerators", "hardware"),
    [
        ("cpu", ["cpu"], 1.0),
        ("cpu", ["cpu", "nvidia_gpu"], 0.7),  # probed on CPU, the team also trains on GPUs
        ("cpu", ["nvidia_gpu", "cpu"], 0.7),
        ("cpu", ["nvidia_gpu"], 0.3),  # none of what the team uses was probed
        ("cpu", ["amd_gpu", "tpu"], 0.3),
        ("cuda", ["nvidia_gpu"], 1.0),
        ("cuda", ["cpu", "nvidia_gpu"], 0.7),
        ("cuda", ["cpu"], 0.3),
        ("cuda", ["apple_silicon"], 0.3),
    ],
)
def test_confidence_follows_the_hardware_match(
    device: str, accelerators: list[str], hardware: float
) -> None:
    requirements = answers(hardware={"accelerators": accelerators})
    confidences = _confidences(requirements, measured(*speeds(100, 50, 25, device=device)))
    for fw in ALL:
        assert confidences[fw] == pytest.approx(FULL * hardware, abs=1e-4), fw


def test_probes_on_cpu_and_cuda_match_a_team_with_both() -> None:
    records = speeds(100, 50, 25, device="cpu") + [
        rec(fw, "inference_latency", ms, unit="ms", higher=False, device="cuda")
        for fw, ms in (("pytorch", 1.0), ("tensorflow", 2.0), ("mxnet", 4.0))
    ]
    requirements = answers(hardware={"accelerators": ["cpu", "nvidia_gpu"]})
    _, calibration = calibrate(requirements, measured(*records), PRIORS, ALL)
    assert account(calibration, "pytorch").confidence == pytest.approx(FULL, abs=1e-4)
    assert not any("Probes ran on" in c for c in calibration.caveats)


def test_partial_match_caveat_names_what_was_not_measured() -> None:
    requirements = answers(hardware={"accelerators": ["cpu", "nvidia_gpu", "amd_gpu"]})
    _, calibration = calibrate(requirements, measured(*speeds(100, 50, 25)), PRIORS, ALL)
    assert calibration.caveats[0] == (
        "Probes ran on CPU only; figures for nvidia_gpu, amd_gpu are not measured "
        "(confidence x0.7)."
    )
    assert account(calibration, "pytorch").confidence == pytest.approx(FULL * 0.7, abs=1e-4)
    # the hardware caveat is about every framework, so it is attached to none
    assert all("Probes ran on" not in c for own in calibration.by_framework.values() for c in own)


def test_mismatch_caveat_text() -> None:
    requirements = answers(hardware={"accelerators": ["nvidia_gpu"]})
    _, calibration = calibrate(requirements, measured(*speeds(100, 50, 25)), PRIORS, ALL)
    assert calibration.caveats[0].startswith(
        "Probes ran on CPU, but you declare nvidia_gpu: measured runtime and memory say little "
        "about that hardware, so they count for little (confidence x0.3)."
    )


# --- confidence: spread and coverage -----------------------------------------------------------


@pytest.mark.parametrize(
    ("cv", "spread", "noisy"),
    [
        (0.0, 1.0, False),
        (0.1, 0.8, False),
        (0.15, 0.7, False),  # the noisy threshold itself is not noisy
        (0.16, 0.68, True),
        (0.3, 0.4, True),
        (0.4, 0.2, True),  # 1 - 0.8 = 0.2: the floor
        (0.45, 0.2, True),  # would be 0.1: floored
        (None, 0.9, False),  # unknown CV counts as 5 %
    ],
)
def test_spread_factor_and_noise_caveat(cv: float | None, spread: float, noisy: bool) -> None:
    _, calibration = calibrate(answers(), measured(*speeds(100, 50, 25, cv=cv)), PRIORS, ALL)
    for fw in ALL:
        assert account(calibration, fw).confidence == pytest.approx(0.6 * spread, abs=1e-4)
    said = [c for c in calibration.caveats if "varied a lot" in c]
    assert len(said) == (3 if noisy else 0)
    if noisy:
        assert f"PyTorch probe timings varied a lot (weighted CV {cv:.0%})" in said[0]


def test_spread_is_weighted_by_figure_weight() -> None:
    """conv (3.5) at CV 0.1 and matmul, mlp_train (0.5 each) at CV 0.3: weighted CV
    (3.5 x 0.1 + 1.0 x 0.3) / 4.5 = 0.1444, spread 0.7111, confidence 0.4267."""
    records = [
        rec(r.framework, r.probe, r.value, cv=0.1 if r.probe == "conv_train_step" else 0.3)
        for r in speeds(100, 50, 25)
    ]
    confidences = _confidences(answers(), measured(*records))
    weighted_cv = (3.5 * 0.1 + 1.0 * 0.3) / 4.5
    assert confidences["mxnet"] == pytest.approx(0.6 * (1 - 2 * weighted_cv), abs=1e-4)


def test_coverage_is_the_share_of_figure_weight() -> None:
    """MXNet without its conv figure has 0.5 + 0.5 of the 4.5 weight: confidence 0.576 x 1/4.5;
    its measured runtime comes from matmul and mlp_train alone (relative 0.25: 1.25)."""
    records = [
        r
        for r in speeds(100, 50, 25)
        if not (r.framework == "mxnet" and r.probe == "conv_train_step")
    ]
    scores, calibration = calibrate(answers(), measured(*records), PRIORS, ALL)
    c = FULL / 4.5
    assert account(calibration, "mxnet").confidence == pytest.approx(c, abs=1e-4)
    assert scores["mxnet"][RUNTIME] == pytest.approx((1 - c) * 3.5 + c * 1.25, abs=1e-4)
    assert account(calibration, "pytorch").confidence == pytest.approx(FULL, abs=1e-4)


# --- the probe names the worker sends ----------------------------------------------------------


def test_lstm_figures_are_weighed_as_rnn_for_sequence_tasks() -> None:
    """Speech: rnn 0.5 + 2.0 = 2.5, conv 0.5. TensorFlow's LSTM is twice PyTorch's speed, PyTorch
    twice TensorFlow's on conv: PyTorch measures 5 x 0.5 ** (2.5 / 3) = 2.806, TensorFlow
    5 x 0.5 ** (0.5 / 3) = 4.454."""
    lstm_params = {"batch": 16, "steps": 32, "inputs": 64, "hidden": 128, "dtype": "float32"}
    data = measured(
        rec("pytorch", "lstm_forward", 50, unit="sequences/s", params=lstm_params),
        rec("tensorflow", "lstm_forward", 100, unit="sequences/s", params=lstm_params),
        rec("pytorch", "conv_train_step", 100),
        rec("tensorflow", "conv_train_step", 50),
    )
    speech = answers(project={"tasks": ["speech"]})
    scores, calibration = calibrate(speech, data, PRIORS, ALL)
    weights = {f.probe: f.weight for f in account(calibration, "pytorch").figures}
    assert weights == pytest.approx({"lstm_forward": 2.5, "conv_train_step": 0.5})
    assert scores["pytorch"][RUNTIME] == pytest.approx(
        0.424 * 3.5 + 0.576 * 5 * 0.5 ** (2.5 / 3), abs=1e-4
    )
    assert scores["tensorflow"][RUNTIME] == pytest.approx(
        0.424 * 3.5 + 0.576 * 5 * 0.5 ** (0.5 / 3), abs=1e-4
    )


WORKER_PARAMS: dict[str, list[dict[str, Any]]] = {
    "mlp_train": [{"mode": "eager"}, {"mode": "compiled"}],
    "inference_latency": [{"mode": "eager"}],
    "dispatch_overhead": [{"mode": "eager"}],
    "transformer": [{"mode": "eager", "pass": "train"}, {"pass": "train", "figure": "first_call"}],
}


UNSCORED = {"allreduce": "collective"}
"""probes whose figures are evidence for another criterion, not runtime speed: the all-reduce
feeds distributed training's measured line (advisor.core.collective_evidence)"""


@pytest.mark.parametrize("probe", COMPUTE_PROBES)
def test_every_catalogue_probe_falls_in_a_weighted_family(probe: str) -> None:
    """A probe the worker runs must land in a family calibration weighs (not "other"), or in
    the family its evidence belongs to."""
    policy = knowledge_in_force().calibration
    for params in WORKER_PARAMS.get(probe, [{}]):
        family = probe_family(probe, params)
        assert family != "other", probe
        if probe in UNSCORED:
            assert family == UNSCORED[probe] and family not in policy.base_weight
            continue
        assert family == "memory" or family in policy.base_weight, (probe, family)


def test_every_probe_name_the_policy_reads_is_in_the_catalogue() -> None:
    kb = knowledge_in_force()
    frontend = kb.calibration.frontend
    assert frontend is not None and frontend.probe in FRONTEND_PROBES
    # the probe behind each family, as knowledge/uncertainty.toml names it, is one the worker
    # runs and falls in that family
    modes = {"mlp_eager": {"mode": "eager"}, "mlp_compiled": {"mode": "compiled"}}
    for family, probe in kb.uncertainty["probes"].items():
        assert probe in COMPUTE_PROBES, (family, probe)
        if family != "mlp_train":  # see test_tabular_mlp_weight_reaches_the_worker_records
            assert probe_family(probe, modes.get(family, {})) == family, (family, probe)
    # capability probes: calibration names each capability it reads
    assert {f"capability.{name}" for name in CAPABILITIES} == set(CAPABILITY_PROBES)
    assert FRAMEWORK_PROBE not in COMPUTE_PROBES


def test_tabular_mlp_weight_reaches_the_worker_records() -> None:
    """Tabular work adds 2.0 to mlp_train, speech adds nothing to MLP families: PyTorch, faster on
    the MLP step the worker times, should gain more from it for tabular answers."""
    data = [
        rec(fw, "mlp_train", v, unit="steps/s", params={"mode": mode})
        for fw, v in (("pytorch", 100), ("tensorflow", 50))
        for mode in ("eager", "compiled")
    ] + [rec(fw, "conv_train_step", v) for fw, v in (("pytorch", 50), ("tensorflow", 100))]
    tabular, _ = calibrate(answers(project={"tasks": ["tabular"]}), measured(*data), PRIORS, ALL)
    speech, _ = calibrate(answers(project={"tasks": ["speech"]}), measured(*data), PRIORS, ALL)
    assert tabular["pytorch"][RUNTIME] > speech["pytorch"][RUNTIME]


# --- where caveats go --------------------------------------------------------------------------


def test_caveats_about_one_framework_are_listed_under_it() -> None:
    data = measured(
        *[r for r in speeds(100, 50, 25, cv=0.3) if r.framework != "mxnet"],
        rec("pytorch", "lstm_forward", None, status=ProbeStatus.TIMEOUT, error="slow"),
        rec("tensorflow", "capability.compile", 0.0, unit=""),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    by = calibration.by_framework
    assert set(by) == set(ALL)
    assert by["mxnet"] == ["MXNet probes: none stored for this machine (run `advisor probe`)."]
    assert by["pytorch"][0] == "PyTorch probes without a figure: lstm_forward (timeout)."
    assert any("PyTorch probe timings varied" in c for c in by["pytorch"])
    assert any(
        "TensorFlow 1.0 as installed here lacks graph compilation" in c for c in by["tensorflow"]
    )
    for fw, own in by.items():
        others = [
            n
            for f, n in (("pytorch", "PyTorch"), ("tensorflow", "TensorFlow"), ("mxnet", "MXNet"))
            if f != fw
        ]
        assert not any(name in c for c in own for name in others), fw
    # every framework's caveat is also among all caveats, in framework order
    assert calibration.caveats == [c for fw in ALL for c in by[fw]]


def test_a_framework_without_caveats_has_no_entry() -> None:
    _, calibration = calibrate(answers(), measured(*speeds(100, 50, 25)), PRIORS, ALL)
    assert calibration.by_framework == {}
    assert calibration.caveats == []


def test_engine_attaches_calibration_caveats_to_their_framework() -> None:
    """Through recommend: PyTorch and TensorFlow measured, MXNet's interpreter missing, JAX not
    probed at all. Each caveat shows on its own framework's entry, marked as calibration's."""
    data = measured(
        *[r for r in speeds(100, 50, 25) if r.framework != "mxnet"],
        rec("mxnet", "*", None, status=ProbeStatus.MISSING, error="interpreter not found"),
        rec("pytorch", "dispatch_overhead", None, status=ProbeStatus.FAILED, error="boom"),
    )
    result = recommend(answers(), data)
    entries = {e.framework: e for e in result.ranking}
    calib = {
        fw: [c.message for c in e.caveats if c.rule == "calibration"] for fw, e in entries.items()
    }
    assert calib["mxnet"] == [
        "Apache MXNet probes: no usable figures: missing (interpreter not found)."
    ]
    assert calib["pytorch"] == ["PyTorch probes without a figure: dispatch_overhead (failed)."]
    assert calib["jax"] == ["JAX probes: none stored for this machine (run `advisor probe`)."]
    assert calib["tensorflow"] == []
    assert all(
        c.claims == [] for e in entries.values() for c in e.caveats if c.rule == "calibration"
    )
    # the front-end gets its own measured-overhead caveats, never a native's
    assert not any("probes" in m and "Keras" not in m for m in calib.get("keras", []))


def test_engine_uses_the_calibrated_runtime_scores() -> None:
    """Priors from the knowledge: PyTorch 3.5, TensorFlow 3.5 runtime. Blend as above."""
    data = measured(*[r for r in speeds(100, 50, 25) if r.framework != "mxnet"])
    result = recommend(answers(), data)
    assert result.calibration.used
    runtime = {
        e.framework: next(c for c in e.criteria if c.criterion is Criterion.RUNTIME_PERFORMANCE)
        for e in result.ranking
    }
    assert runtime["pytorch"].calibrated == pytest.approx(0.424 * 3.5 + 0.576 * 5.0, abs=1e-4)
    assert runtime["pytorch"].score == pytest.approx(0.424 * 3.5 + 0.576 * 5.0, abs=1e-4)
    assert runtime["pytorch"].prior == 3.5
    assert runtime["tensorflow"].score == pytest.approx(0.424 * 3.5 + 0.576 * 2.5, abs=1e-4)
    assert runtime["jax"].calibrated is None and runtime["jax"].score == 4.0
    assert runtime["mxnet"].calibrated is None and runtime["mxnet"].score == 2.5


# --- details of figures, summaries and capability caveats ----------------------------------------


@pytest.mark.parametrize(
    ("probe", "params", "family"),
    [
        ("Conv_Train_Step", {}, "conv"),  # case does not matter
        ("cnn_block", {}, "conv"),
        ("gru_forward", {}, "rnn"),
        ("rnn_step", {}, "rnn"),
        ("bilstm", {}, "rnn"),
        ("gemm_fp32", {}, "matmul"),
        ("mlp_train", {"execution": "jit"}, "mlp_compiled"),
        ("mlp_train", {"execution": "Graph"}, "mlp_compiled"),
        ("mlp_train", {"mode": "hybridized"}, "mlp_compiled"),
        ("mlp_function_step", {}, "mlp_compiled"),
        ("mlp_train", {"execution": "eager"}, "mlp_eager"),
        ("mlp_eager_step", {}, "mlp_eager"),
        ("mlp_train", {"note": "compiled eager"}, "mlp_train"),  # only mode/execution count
        ("mlp_train", {"mode": "compiled", "execution": "eager"}, "mlp_compiled"),
        ("peak_rss", {}, "memory"),
        ("alloc_bytes", {}, "memory"),
        ("bytes_moved", {}, "other"),  # a suffix, not anywhere in the name
        ("keras_overhead", {}, "dispatch"),
        ("batch1_inference", {}, "inference_latency"),
        ("capability.gpu", {"mode": "eager"}, "capability"),
        # the first match wins: the order of the checks
        ("memory_import", {}, "memory"),
        ("conv_import", {}, "import_time"),
        ("latency_overhead", {}, "dispatch"),
        ("dispatch_latency", {}, "dispatch"),
        ("conv_latency", {}, "inference_latency"),
        ("lstm_conv", {}, "conv"),
        ("matmul_lstm", {}, "rnn"),
        ("mlp_matmul", {}, "matmul"),
        ("capability_memory", {}, "capability"),
    ],
)
def test_probe_family_details(probe: str, params: dict[str, Any], family: str) -> None:
    assert probe_family(probe, params) == family


def test_figures_of_one_family_share_its_weight() -> None:
    """Three matrix sizes split matmul's 0.5 for vision: 1/6 each."""
    records = [
        rec(fw, "matmul", v * n, params={"n": n})
        for n in (128, 512, 1024)
        for fw, v in (("pytorch", 2), ("tensorflow", 1))
    ]
    _, calibration = calibrate(answers(), measured(*records), PRIORS, ALL)
    figures = account(calibration, "tensorflow").figures
    assert [f.weight for f in figures] == pytest.approx([0.5 / 3] * 3, abs=1e-4)
    assert sorted(f.params["n"] for f in figures) == [128, 512, 1024]
    assert {f.relative for f in figures} == {0.5}
    assert {f.cv for f in figures} == {0.02}
    assert account(calibration, "tensorflow").confidence == pytest.approx(FULL, abs=1e-4)


def test_a_figure_only_one_framework_has_is_no_figure() -> None:
    data = measured(
        *speeds(100, 50, 25),
        rec("pytorch", "inference_latency", 1.0, unit="ms", higher=False),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert "inference_latency" not in {f.probe for f in account(calibration, "pytorch").figures}
    assert account(calibration, "pytorch").confidence == pytest.approx(FULL, abs=1e-4)


def test_a_figure_a_framework_lacks_dilutes_only_its_coverage() -> None:
    """Latency for PyTorch and TensorFlow only: weight 1.0 of 5.5 in all; MXNet covers 4.5/5.5."""
    latency = [
        rec(fw, "inference_latency", ms, unit="ms", higher=False)
        for fw, ms in (("pytorch", 1.0), ("tensorflow", 2.0))
    ]
    _, calibration = calibrate(answers(), measured(*speeds(100, 50, 25), *latency), PRIORS, ALL)
    assert account(calibration, "mxnet").confidence == pytest.approx(FULL * 4.5 / 5.5, abs=1e-4)
    assert account(calibration, "pytorch").confidence == pytest.approx(FULL, abs=1e-4)
    tf_latency = next(
        f for f in account(calibration, "tensorflow").figures if f.probe == "inference_latency"
    )
    assert (tf_latency.relative, tf_latency.weight, tf_latency.value) == (0.5, 1.0, 2.0)


def test_capability_records_are_no_runtime_figure() -> None:
    data = measured(
        rec("pytorch", "capability.compile", 1.0, unit=""),
        rec("tensorflow", "capability.compile", 0.5, unit=""),
    )
    scores, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert scores == {} and not calibration.used
    assert (
        calibration.reason == "no probe figure was measured in two or more of the frameworks ranked"
    )


@pytest.mark.parametrize(
    ("records", "reason"),
    [
        (
            [rec("pytorch", "matmul", None, status=ProbeStatus.FAILED, error="x")],
            "no usable probe figures (every stored probe failed, timed out or is missing)",
        ),
        (
            [rec("tensorflow", "matmul", 5.0), rec("tensorflow", "conv_train_step", 5.0)],
            "only TensorFlow has usable probe figures; nothing to compare it with",
        ),
        (
            [rec("pytorch", "matmul", 5.0), rec("tensorflow", "conv_train_step", 5.0)],
            "no probe figure was measured in two or more of the frameworks ranked",
        ),
    ],
)
def test_why_nothing_was_calibrated(records: list[Any], reason: str) -> None:
    scores, calibration = calibrate(answers(), measured(*records), PRIORS, ALL)
    assert scores == {}
    assert calibration.used is False
    assert calibration.reason == reason
    assert [a.framework for a in calibration.frameworks] == ALL
    assert not any("Probes ran on" in c for c in calibration.caveats)  # no figure, no hardware note


def test_a_framework_without_figures_keeps_an_account_with_its_prior() -> None:
    data = measured(*[r for r in speeds(100, 50, 25) if r.framework != "mxnet"])
    priors = {**PRIORS, "mxnet": {RUNTIME: 2.5, Criterion.ECOSYSTEM: 1.0}}
    _, calibration = calibrate(answers(), data, priors, ALL)
    mx = account(calibration, "mxnet")
    assert (mx.prior, mx.calibrated, mx.confidence, mx.figures) == ({RUNTIME: 2.5}, {}, 0.0, [])


def test_without_names_caveats_use_the_ids() -> None:
    from advisor.core.calibration import calibrate as calibrate_ids

    policy = knowledge_in_force().calibration
    data = measured(*[r for r in speeds(100, 50, 25) if r.framework != "mxnet"])
    _, calibration = calibrate_ids(answers(), data, PRIORS, [*ALL, "pytorch"], policy=policy)
    assert calibration.by_framework == {
        "mxnet": ["mxnet probes: none stored for this machine (run `advisor probe`)."]
    }
    assert calibration.reason.endswith("(pytorch, tensorflow)")
    assert [a.framework for a in calibration.frameworks] == ALL  # a repeated id counts once


def test_framework_level_failure_summary_names_the_newest_reason() -> None:
    data = measured(
        *[r for r in speeds(100, 50, 25) if r.framework != "mxnet"],
        rec("mxnet", "*", None, status=ProbeStatus.MISSING, error="old reason", days_old=5),
        rec("mxnet", "*", None, status=ProbeStatus.FAILED, error="new reason", days_old=2),
        rec("mxnet", "matmul", None, status=ProbeStatus.TIMEOUT, error="slow", days_old=2),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert calibration.by_framework["mxnet"] == [
        "MXNet probes: no usable figures: failed (new reason)."
    ]


def test_framework_level_failure_without_a_reason() -> None:
    data = measured(
        *[r for r in speeds(100, 50, 25) if r.framework != "mxnet"],
        rec("mxnet", "*", None, status=ProbeStatus.MISSING),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert calibration.by_framework["mxnet"] == [
        "MXNet probes: no usable figures: missing (no reason given)."
    ]


def test_per_probe_failures_are_counted_with_the_first_reason() -> None:
    data = measured(
        *[r for r in speeds(100, 50, 25) if r.framework != "mxnet"],
        rec("mxnet", "matmul", None, status=ProbeStatus.TIMEOUT),
        rec("mxnet", "conv_train_step", None, status=ProbeStatus.FAILED, error="oom"),
        rec("mxnet", "mlp_train", None, status=ProbeStatus.FAILED, error="later"),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert calibration.by_framework["mxnet"] == [
        "MXNet probes: no usable figures: failed 2, timeout 1 (conv_train_step: oom)."
    ]
    quiet = measured(
        *[r for r in speeds(100, 50, 25) if r.framework != "mxnet"],
        rec("mxnet", "matmul", None, status=ProbeStatus.SKIPPED),
    )
    _, calibration = calibrate(answers(), quiet, PRIORS, ALL)
    assert calibration.by_framework["mxnet"] == ["MXNet probes: no usable figures: skipped 1."]


def test_lost_probes_are_listed_once_sorted_and_skipped_ones_left_out() -> None:
    data = measured(
        *speeds(100, 50, 25),
        rec("pytorch", "matmul", None, status=ProbeStatus.MISSING, params={"n": 9}),
        rec("pytorch", "matmul", None, status=ProbeStatus.MISSING, params={"n": 8}),
        rec("pytorch", "dispatch_overhead", None, status=ProbeStatus.FAILED),
        rec("pytorch", "lstm_forward", None, status=ProbeStatus.SKIPPED),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert calibration.by_framework["pytorch"] == [
        "PyTorch probes without a figure: dispatch_overhead (failed), matmul (missing)."
    ]


def test_a_later_success_supersedes_only_older_framework_failures() -> None:
    """A framework-level failure newer than the last success still counts (the latest run
    failed); one older than it is history."""
    data = measured(
        *speeds(100, 50, 25, days_old=3),
        rec("mxnet", "*", None, status=ProbeStatus.MISSING, error="gone", days_old=1),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert calibration.by_framework["mxnet"] == ["MXNet probes without a figure: * (missing)."]
    older = measured(
        *speeds(100, 50, 25, days_old=1),
        rec("mxnet", "*", None, status=ProbeStatus.MISSING, error="gone", days_old=3),
        rec("pytorch", "*", None, status=ProbeStatus.FAILED, error="x", days_old=3),
    )
    _, calibration = calibrate(answers(), older, PRIORS, ALL)
    assert calibration.by_framework == {}


@pytest.mark.parametrize(
    ("machine", "machine_id", "label"),
    [
        ({"cpu_model": "Ryzen"}, "m1", "Ryzen (m1)"),
        ({"cpu_model": "Ryzen"}, "", "Ryzen"),
        ({"cpu": "Xeon", "processor": "x86_64"}, "m1", "Xeon (m1)"),
        ({"processor": "arm64"}, "m2", "arm64 (m2)"),
        ({"cpu_model": "", "cpu": 7, "processor": "arm64"}, "", "arm64"),
        ({}, "m3", "m3"),
        ({}, "", None),
    ],
)
def test_machine_label(machine: dict[str, Any], machine_id: str, label: str | None) -> None:
    records = [
        r.model_copy(update={"machine": machine, "machine_id": machine_id})
        for r in speeds(100, 50, 25)
    ]
    _, calibration = calibrate(answers(), measured(*records), PRIORS, ALL)
    assert account(calibration, "pytorch").machine == label


def test_capability_caveat_names_the_installed_version_error_and_detail() -> None:
    record = rec("mxnet", "capability.compile", 0.0, unit="", error="hybridize failed").model_copy(
        update={"versions": {"python": "3.12", "mxnet": "1.9.1"}, "details": {"detail": "no CUDA"}}
    )
    data = measured(*speeds(100, 50, 25), record)
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert calibration.by_framework["mxnet"] == [
        "MXNet 1.9.1 as installed here lacks graph compilation (probe capability.compile = 0), "
        "though the knowledge base counts MXNet as supporting it: hybridize failed (no CUDA)."
    ]


def test_capability_caveat_falls_back_to_any_version_or_none() -> None:
    other = rec("mxnet", "capability.compile", 0.0, unit="").model_copy(
        update={"versions": {"python": "3.12"}}
    )
    _, calibration = calibrate(answers(), measured(*speeds(100, 50, 25), other), PRIORS, ALL)
    assert calibration.by_framework["mxnet"][0].startswith("MXNet 3.12 as installed here lacks")
    bare = rec("mxnet", "capability.compile", 0.0, unit="").model_copy(update={"versions": {}})
    _, calibration = calibrate(answers(), measured(*speeds(100, 50, 25), bare), PRIORS, ALL)
    assert calibration.by_framework["mxnet"][0] == (
        "MXNet as installed here lacks graph compilation (probe capability.compile = 0), "
        "though the knowledge base counts MXNet as supporting it."
    )


@pytest.mark.parametrize(
    ("record", "caveat"),
    [
        (rec("mxnet", "capability.compile", 0.49, unit=""), True),
        (rec("mxnet", "capability.compile", 0.5, unit=""), False),
        (rec("mxnet", "capability.compile", None, unit=""), False),
        (rec("mxnet", "capability.compile", 0.0, unit="", status=ProbeStatus.FAILED), False),
        (rec("mxnet", "capability.teleport", 0.0, unit=""), False),
    ],
)
def test_which_capability_records_make_a_caveat(record: Any, caveat: bool) -> None:
    _, calibration = calibrate(answers(), measured(*speeds(100, 50, 25), record), PRIORS, ALL)
    assert any("lacks" in c for c in calibration.caveats) is caveat


@pytest.mark.parametrize(
    ("capability", "sections", "leaving", "matters"),
    [
        ("distributed", {"hardware": {"scale": "multi_gpu"}}, False, True),
        ("distributed", {"hardware": {"scale": "single_device"}}, False, False),
        ("mixed_precision", {"hardware": {"accelerators": ["amd_gpu"]}}, False, True),
        ("mixed_precision", {"project": {"model_size": "very_large"}}, False, True),
        ("mixed_precision", {"project": {"model_size": "medium"}}, False, False),
        ("onnx_export", {}, True, True),
        ("onnx_export", {"deployment": {"targets": ["edge_device"]}}, False, True),
        ("onnx_export", {"deployment": {"targets": ["cloud_server"]}}, False, False),
        ("compile", {}, False, True),
    ],
)
def test_a_missing_capability_matters_when_the_answers_need_it(
    capability: str, sections: dict[str, Any], leaving: bool, matters: bool
) -> None:
    record = rec("mxnet", f"capability.{capability}", 0.0, unit="")
    _, calibration = calibrate(
        answers(**sections),
        measured(*speeds(100, 50, 25), record),
        PRIORS,
        ALL,
        leaving_codebase=leaving,
    )
    assert any("lacks" in c for c in calibration.by_framework.get("mxnet", [])) is matters


def test_recommend_tells_calibration_whether_the_team_leaves_a_retired_codebase() -> None:
    """A team on MXNet (retired) leaves through ONNX: MXNet's missing ONNX export matters to it,
    not to a team on PyTorch (maintained) with the same server-only targets."""
    data = measured(*speeds(100, 50, 25), rec("mxnet", "capability.onnx_export", 0.0, unit=""))

    def lacks(codebase: str) -> bool:
        result = recommend(answers(team={"existing_codebase": codebase}), data)
        return any("lacks" in c for c in result.calibration.by_framework.get("mxnet", []))

    assert lacks("mxnet") and not lacks("pytorch") and not lacks("none")


def test_without_measurements_calibration_says_it_was_not_used() -> None:
    result = recommend(answers())
    assert result.calibration.used is False
    assert result.calibration.reason == "no measurements given (run `advisor probe`)"


@pytest.mark.parametrize(
    ("accelerators", "machine_id", "here", "caveat"),
    [
        (["amd_gpu"], "here", "here", True),
        (["apple_silicon"], "", "here", True),  # a record without machine id counts as here
        (["intel_gpu"], "other", None, True),  # nothing known about this machine
        (["nvidia_gpu"], "other", "here", False),
        (["tpu"], "here", "here", False),  # a TPU is no GPU
        (["cpu"], "here", "here", False),
    ],
)
def test_gpu_capability_caveat_needs_a_gpu_team_on_this_machine(
    accelerators: list[str], machine_id: str, here: str | None, caveat: bool
) -> None:
    record = rec("mxnet", "capability.gpu", 0.0, unit="", machine_id=machine_id)
    data = Measurements(
        records=[*speeds(100, 50, 25), record],
        as_of=NOW,
        machine={"machine_id": here} if here is not None else {},
    )
    requirements = answers(hardware={"accelerators": accelerators})
    _, calibration = calibrate(requirements, data, PRIORS, ALL)
    assert any("lacks GPU support" in c for c in calibration.caveats) is caveat


# --- a policy that gives a family no weight ------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "probe", "higher"),
    [
        ({"memory_weight": 0.0}, "train_peak_memory", False),
        ("import_time", "import_time", False),
        ("drop other", "something_new", True),
    ],
)
def test_a_family_without_weight_gives_no_figure(change: Any, probe: str, higher: bool) -> None:
    """The policy may weigh a family 0 (memory_weight = 0, a base weight of 0) or leave a family
    out of base_weight: its figures then count for nothing, and calibration neither divides by
    their zero weight nor lets them dilute the others' coverage."""
    from advisor.core.calibration import calibrate as calibrate_ids

    policy = knowledge_in_force().calibration
    if change == "import_time":
        policy = policy.model_copy(
            update={"base_weight": {**policy.base_weight, "import_time": 0.0}}
        )
    elif change == "drop other":
        base = {k: v for k, v in policy.base_weight.items() if k != "other"}
        policy = policy.model_copy(update={"base_weight": base})
    else:
        policy = policy.model_copy(update=change)
    alone = measured(
        rec("pytorch", probe, 1.0, higher=higher), rec("tensorflow", probe, 2.0, higher=higher)
    )
    scores, calibration = calibrate_ids(answers(), alone, PRIORS, ALL, policy=policy)
    assert scores == {} and not calibration.used
    beside = measured(
        *speeds(100, 50, 25),
        rec("pytorch", probe, 1.0, higher=higher),
        rec("tensorflow", probe, 2.0, higher=higher),
    )
    _, calibration = calibrate_ids(answers(), beside, PRIORS, ALL, policy=policy)
    assert probe not in {f.probe for f in account(calibration, "tensorflow").figures}
    assert account(calibration, "mxnet").confidence == pytest.approx(FULL, abs=1e-4)


# --- exact figures in the account ----------------------------------------------------------------


def test_records_that_give_no_figure_do_not_stop_the_others() -> None:
    """Failed records, capability records and records of frameworks not ranked may come first."""
    first = [
        rec("jax", "matmul", 10),
        rec("mxnet", "conv_train_step", None, status=ProbeStatus.FAILED, error="x"),
        rec("pytorch", "capability.compile", 1.0, unit=""),
    ]
    for head in first:
        _, calibration = calibrate(answers(), measured(head, *speeds(100, 50, 25)), PRIORS, ALL)
        assert len(account(calibration, "pytorch").figures) == 3, head.probe


def test_params_match_whatever_their_order() -> None:
    data = measured(
        rec("pytorch", "matmul", 100, params={"a": 1, "b": 2}),
        rec("tensorflow", "matmul", 50).model_copy(
            update={"params": {"b": 2, "threads": 2, "a": 1, "device": "cpu", "n": 256}}
        ),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    (figure,) = account(calibration, "tensorflow").figures
    assert figure.relative == 0.5


def test_account_figures_are_rounded_to_four_places() -> None:
    """Thirds: relative 1/3 -> 0.3333, weight 0.5 / 3 -> 0.1667; confidence and the blend too."""
    records = [
        rec(fw, "matmul", v, params={"n": n}, cv=0.07)
        for n in (1, 2, 3)
        for fw, v in (("pytorch", 3.0), ("tensorflow", 1.0))
    ]
    scores, calibration = calibrate(answers(), measured(*records), PRIORS, ALL)
    tf = account(calibration, "tensorflow")
    assert [(f.relative, f.weight) for f in tf.figures] == [(0.3333, 0.1667)] * 3
    # 0.6 x (1 - 0.14) = 0.516; measured 5 / 3; blend 0.484 x 3.5 + 0.516 x 5/3 = 2.5540
    assert tf.confidence == 0.516
    assert scores["tensorflow"][RUNTIME] == round(0.484 * 3.5 + 0.516 * 5 / 3, 4)
    assert scores["tensorflow"][RUNTIME] == 2.554


@pytest.mark.parametrize(("days", "shown"), [(1 / 3, 0.33), (0.25, 0.25), (1000, 1000.0)])
def test_age_in_days_is_exact_to_two_places(days: float, shown: float) -> None:
    _, calibration = calibrate(
        answers(), measured(*speeds(100, 50, 25, days_old=days)), PRIORS, ALL
    )
    assert account(calibration, "pytorch").age_days == shown


def test_confidence_is_rounded_to_four_places() -> None:
    """Weighted CV (3.5 x 0.1 + 1.0 x 0.3) / 4.5 = 0.14444: 0.6 x 0.71111 = 0.426667 -> 0.4267."""
    records = [
        rec(r.framework, r.probe, r.value, cv=0.1 if r.probe == "conv_train_step" else 0.3)
        for r in speeds(100, 50, 25)
    ]
    assert _confidences(answers(), measured(*records))["mxnet"] == 0.4267


def test_noise_caveat_text() -> None:
    _, calibration = calibrate(answers(), measured(*speeds(100, 50, 25, cv=0.25)), PRIORS, ALL)
    assert calibration.by_framework["mxnet"] == [
        "MXNet probe timings varied a lot (weighted CV 25%); the machine was probably busy, so "
        "they count for less."
    ]


def test_small_figures_count_too() -> None:
    data = measured(
        rec("pytorch", "inference_latency", 0.25, unit="ms", higher=False),
        rec("tensorflow", "inference_latency", 0.5, unit="ms", higher=False),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    (figure,) = account(calibration, "tensorflow").figures
    assert (figure.value, figure.relative) == (0.5, 0.5)


@pytest.mark.parametrize("offset_hours", [None, 2, -5])
def test_the_time_of_asking_may_be_naive_or_in_any_zone(offset_hours: int | None) -> None:
    """A naive as_of is UTC; an aware one is the same instant whatever its zone."""
    from datetime import timezone as tz

    as_of = (
        NOW.replace(tzinfo=None)
        if offset_hours is None
        else NOW.astimezone(tz(timedelta(hours=offset_hours)))
    )
    data = Measurements(records=speeds(100, 50, 25, days_old=45), as_of=as_of)
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert account(calibration, "pytorch").age_days == 45.0
    assert account(calibration, "pytorch").confidence == pytest.approx(FULL * 0.925, abs=1e-4)


def test_hardware_caveat_texts_name_every_device_and_accelerator() -> None:
    records = speeds(100, 50, 25, device="cuda") + [
        rec(fw, "inference_latency", ms, unit="ms", higher=False, device="cpu")
        for fw, ms in (("pytorch", 1.0), ("tensorflow", 2.0), ("mxnet", 4.0))
    ]
    requirements = answers(hardware={"accelerators": ["amd_gpu", "tpu"]})
    _, calibration = calibrate(requirements, measured(*records), PRIORS, ALL)
    assert calibration.caveats[0] == (
        "Probes ran on CPU, CUDA, but you declare amd_gpu, tpu: measured runtime and memory say "
        "little about that hardware, so they count for little (confidence x0.3). Re-run `advisor "
        "probe` on the hardware you will use (`--device cuda` for NVIDIA GPUs) to calibrate for it."
    )


@pytest.mark.parametrize(("accelerators", "hardware"), [(["cpu"], 1.0), (["nvidia_gpu"], 0.3)])
def test_a_record_without_a_device_ran_on_the_cpu(accelerators: list[str], hardware: float) -> None:
    records = [
        r.model_copy(update={"params": {k: v for k, v in r.params.items() if k != "device"}})
        for r in speeds(100, 50, 25)
    ]
    requirements = answers(hardware={"accelerators": accelerators})
    _, calibration = calibrate(requirements, measured(*records), PRIORS, ALL)
    assert account(calibration, "pytorch").confidence == pytest.approx(FULL * hardware, abs=1e-4)
    assert any(c.startswith("Probes ran on CPU, but") for c in calibration.caveats) is (
        hardware < 1
    )


def test_the_newest_success_supersedes_whatever_the_record_order() -> None:
    data = measured(
        *speeds(100, 50, 25, days_old=1),
        rec("mxnet", "matmul", 25, days_old=5, params={"n": 1}),
        rec("mxnet", "*", None, status=ProbeStatus.MISSING, error="gone", days_old=3),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert "mxnet" not in calibration.by_framework


def test_a_failure_at_the_moment_of_the_success_is_not_superseded() -> None:
    data = measured(
        *speeds(100, 50, 25, days_old=2),
        rec("mxnet", "*", None, status=ProbeStatus.FAILED, error="crashed", days_old=2),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert calibration.by_framework["mxnet"] == ["MXNet probes without a figure: * (failed)."]


def test_no_measurements_reason() -> None:
    _, calibration = calibrate(answers(), None, PRIORS, ALL)
    assert calibration.reason == "no probe measurements for this machine (run `advisor probe`)"
    assert (calibration.used, calibration.frameworks, calibration.caveats) == (False, [], [])


def test_an_unused_calibration_still_lists_its_caveats() -> None:
    data = measured(
        *[r for r in speeds(100, 50, 25) if r.framework == "pytorch"],
        rec("mxnet", "*", None, status=ProbeStatus.MISSING, error="gone"),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert not calibration.used
    assert calibration.by_framework == {
        "tensorflow": ["TensorFlow probes: none stored for this machine (run `advisor probe`)."],
        "mxnet": ["MXNet probes: no usable figures: missing (gone)."],
    }
    assert calibration.caveats == [
        *calibration.by_framework["tensorflow"],
        *calibration.by_framework["mxnet"],
    ]


def test_without_names_the_reason_uses_the_id() -> None:
    from advisor.core.calibration import calibrate as calibrate_ids

    policy = knowledge_in_force().calibration
    data = measured(*[r for r in speeds(100, 50, 25) if r.framework == "pytorch"])
    _, calibration = calibrate_ids(answers(), data, PRIORS, ALL, policy=policy)
    assert calibration.reason == "only pytorch has usable probe figures; nothing to compare it with"


def test_a_framework_without_priors_is_compared_but_not_scored() -> None:
    priors = {fw: p for fw, p in PRIORS.items() if fw != "mxnet"}
    scores, calibration = calibrate(answers(), measured(*speeds(100, 50, 25)), priors, ALL)
    assert set(scores) == {"pytorch", "tensorflow"}
    assert account(calibration, "mxnet").prior == {}
    assert account(calibration, "mxnet").calibrated == {}
    # it still sets the best figure the others are relative to
    assert account(calibration, "mxnet").figures[0].relative == 0.25


@pytest.mark.parametrize("here", ["", 5])
def test_a_machine_id_that_is_not_a_name_counts_as_unknown(here: Any) -> None:
    """Nothing known about this machine: a GPU probe that failed anywhere counts."""
    record = rec("mxnet", "capability.gpu", 0.0, unit="", machine_id="other")
    data = Measurements(
        records=[*speeds(100, 50, 25), record], as_of=NOW, machine={"machine_id": here}
    )
    requirements = answers(hardware={"accelerators": ["nvidia_gpu"]})
    _, calibration = calibrate(requirements, data, PRIORS, ALL)
    assert any("lacks GPU support" in c for c in calibration.caveats)


def test_each_capability_record_is_judged_alone_in_probe_then_parameter_order() -> None:
    """Records that make no caveat (failed, present, not tested here, not needed by the
    answers, no capability of that name) do not stop the ones after them; the caveats come in
    probe then parameter order, whatever order the records came in."""
    edge = {"deployment": {"targets": ["edge_device"]}}  # ONNX export matters, GPU and AMP not

    def capability(name: str, value: float, **changes: Any) -> Any:
        return rec("mxnet", f"capability.{name}", value, unit="", **changes)

    records = [
        capability("onnx_export", 0.0, params={"opset": 17}, error="opset 17 failed"),
        capability("onnx_export", 0.0, params={"opset": 13}, error="opset 13 failed"),
        capability("onnx_export", 0.0, params={"opset": 11}).model_copy(
            update={"details": {"unknown": True}}
        ),
        capability("mixed_precision", 0.0),
        capability("gpu", 0.0),
        capability("extra.compile", 0.0),  # the capability is all after "capability."
        capability("distributed", 1.0),
        capability("compile", 0.0, status=ProbeStatus.FAILED, error="crashed"),
        rec("mxnet", "capability_memory", 0.0, unit=""),  # a capability family, no capability
    ]
    _, calibration = calibrate(answers(**edge), measured(*speeds(100, 50, 25), *records),
                               PRIORS, ALL)  # fmt: skip
    lacks = [c for c in calibration.by_framework["mxnet"] if "lacks" in c]
    assert lacks == [
        f"MXNet 1.0 as installed here lacks ONNX export (probe capability.onnx_export = 0), "
        f"though the knowledge base counts MXNet as supporting it: opset {opset} failed."
        for opset in (13, 17)
    ]


def test_capability_records_are_no_speed_figure_even_where_a_policy_weighs_them() -> None:
    """A 0/1 capability result is never a speed: not even under a policy whose weights name a
    family called "capability"."""
    from advisor.core.calibration import calibrate as calibrate_ids

    policy = POLICY.model_copy(update={"base_weight": {**POLICY.base_weight, "capability": 9.0}})
    data = measured(
        *speeds(100, 50, 25),
        *(rec(fw, "capability.compile", 1.0, unit="") for fw in ALL),
    )
    _, calibration = calibrate_ids(answers(), data, PRIORS, ALL, policy=policy)
    figures = {f.probe for f in account(calibration, "mxnet").figures}
    assert figures == {"conv_train_step", "matmul", "mlp_train"}


def test_a_family_without_weight_leaves_out_its_figures_only() -> None:
    """A policy that gives "other" no weight drops bytes_moved; the figures after it stay."""
    from advisor.core.calibration import calibrate as calibrate_ids

    policy = POLICY.model_copy(update={"base_weight": {**POLICY.base_weight, "other": 0.0}})
    data = measured(
        *speeds(100, 50, 25),
        *(rec(fw, "bytes_moved", v) for fw, v in (("pytorch", 2.0), ("mxnet", 1.0))),
    )
    _, calibration = calibrate_ids(answers(), data, PRIORS, ALL, policy=policy)
    figures = [f.probe for f in account(calibration, "mxnet").figures]
    assert figures == ["conv_train_step", "matmul", "mlp_train"]  # "bytes_moved" sorts first


def test_calibrated_scores_are_given_to_four_places() -> None:
    scores, _ = calibrate(answers(), measured(*speeds(100, 37, 21, cv=0.0123)), PRIORS, ALL)
    blended = [scores[fw][RUNTIME] for fw in ALL]
    assert blended == [round(score, 4) for score in blended]
    assert all(round(score, 3) != score for score in blended)  # the fourth place is used


def test_deployment_paths_are_a_family_of_their_own() -> None:
    assert probe_family("deploy.onnx_cpu", {}) == "deployment"
    assert probe_family("deploy.litert_matmul", {"mode": "compiled"}) == "deployment"
