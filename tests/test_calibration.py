"""Calibration is pure: records and answers in, blended scores and caveats out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.core.calibration import calibrate as calibrate_ids
from advisor.core.calibration import probe_family
from advisor.core.criteria import Criterion
from advisor.core.in_force import knowledge_in_force
from advisor.core.questionnaire import Requirements
from probes.records import Measurements, ProbeRecord, ProbeStatus, Spread

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
ALL = ["pytorch", "tensorflow", "mxnet"]
RUNTIME, MEMORY = Criterion.RUNTIME_PERFORMANCE, Criterion.MEMORY_EFFICIENCY
POLICY = knowledge_in_force().calibration
MAX_CONFIDENCE = POLICY.max_confidence
family_weights = POLICY.family_weights
NAMES = {"pytorch": "PyTorch", "tensorflow": "TensorFlow", "mxnet": "MXNet"}


def calibrate(*args: Any, **kwargs: Any) -> Any:
    """Calibration as the engine calls it: with the frameworks' display names."""
    return calibrate_ids(*args, policy=POLICY, names=NAMES, **kwargs)


PRIORS = {fw: {RUNTIME: 3.5, MEMORY: 3.5, Criterion.ECOSYSTEM: 4.0} for fw in ALL}


def answers(**sections: Any) -> Requirements:
    data: dict[str, Any] = {
        "project": {"tasks": ["computer_vision"]},
        "hardware": {"accelerators": ["cpu"]},
    }
    for name, section in sections.items():
        data[name] = {**data.get(name, {}), **section}
    return Requirements.model_validate(data)


def rec(
    framework: str,
    probe: str,
    value: float | None,
    *,
    unit: str = "GFLOP/s",
    higher: bool = True,
    cv: float | None = 0.02,
    device: str = "cpu",
    status: ProbeStatus = ProbeStatus.OK,
    days_old: float = 1.0,
    error: str | None = None,
    params: dict[str, Any] | None = None,
    machine_id: str = "here",
) -> ProbeRecord:
    return ProbeRecord(
        framework=framework,
        probe=probe,
        status=status,
        value=value,
        unit=unit,
        higher_is_better=higher,
        params={"n": 256, "device": device, "threads": 2, **(params or {})},
        spread=Spread(cv=cv, iqr=None, repeats=7),
        versions={framework: "1.0"},
        machine={"cpu_model": "Test CPU"},
        machine_id=machine_id,
        measured_at=NOW - timedelta(days=days_old),
        run_id="r",
        error=error,
    )


def measured(*records: ProbeRecord) -> Measurements:
    return Measurements(records=list(records), as_of=NOW, machine={"machine_id": "here"})


def speeds(pytorch: float, tensorflow: float, mxnet: float, **kw: Any) -> list[ProbeRecord]:
    return [
        rec(fw, probe, value, **kw)
        for probe in ("conv_train_step", "matmul", "mlp_train")
        for fw, value in (("pytorch", pytorch), ("tensorflow", tensorflow), ("mxnet", mxnet))
    ]


def account(calibration: Any, fw: str) -> Any:
    return next(a for a in calibration.frameworks if a.framework == fw)


def test_no_measurements_change_nothing() -> None:
    for data in (None, Measurements(records=[], as_of=NOW)):
        scores, calibration = calibrate(answers(), data, PRIORS, ALL)
        assert scores == {}
        assert calibration.used is False and "advisor probe" in calibration.reason


def test_faster_framework_gets_the_higher_runtime_score() -> None:
    scores, calibration = calibrate(answers(), measured(*speeds(100, 50, 25)), PRIORS, ALL)
    assert calibration.used
    assert scores["pytorch"][RUNTIME] > scores["tensorflow"][RUNTIME]
    assert scores["tensorflow"][RUNTIME] > scores["mxnet"][RUNTIME]
    assert set(scores["pytorch"]) == {RUNTIME}  # no memory figure, memory untouched
    torch = account(calibration, "pytorch")
    assert {f.relative for f in torch.figures} == {1.0}
    mx = account(calibration, "mxnet")
    assert {f.relative for f in mx.figures} == {0.25}
    # 0.25 relative everywhere -> measured 1.25; blended with the prior by the confidence
    c = mx.confidence
    assert scores["mxnet"][RUNTIME] == pytest.approx((1 - c) * 3.5 + c * 1.25, abs=1e-3)
    assert 0 < c <= MAX_CONFIDENCE
    assert mx.prior == {RUNTIME: 3.5, MEMORY: 3.5}
    assert mx.machine and "Test CPU" in mx.machine


def test_lower_is_better_figures_are_inverted() -> None:
    data = measured(
        *[
            rec(fw, "inference_latency", ms, unit="ms", higher=False)
            for fw, ms in (("pytorch", 2.0), ("tensorflow", 4.0))
        ]
    )
    scores, _ = calibrate(answers(), data, PRIORS, ALL)
    assert scores["pytorch"][RUNTIME] > scores["tensorflow"][RUNTIME]


def test_memory_is_calibrated_from_peak_memory_lower_is_better() -> None:
    data = measured(
        *[
            rec(fw, "train_peak_memory", mb, unit="MiB", higher=False, cv=None)
            for fw, mb in (("pytorch", 400.0), ("tensorflow", 800.0))
        ]
    )
    scores, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert scores["pytorch"][MEMORY] > 3.5 > scores["tensorflow"][MEMORY]
    assert RUNTIME not in scores["pytorch"]
    assert calibration.used


def test_a_third_framework_does_not_reorder_the_other_two() -> None:
    two = measured(*[r for r in speeds(100, 60, 1) if r.framework != "mxnet"])
    # tensorflow wins conv, pytorch wins the others: the geometric mean keeps their order
    # whatever the third framework does
    mixed = [
        rec("pytorch", "conv_train_step", 50),
        rec("tensorflow", "conv_train_step", 100),
        rec("mxnet", "conv_train_step", 400),
        rec("pytorch", "matmul", 100),
        rec("tensorflow", "matmul", 70),
        rec("mxnet", "matmul", 1),
    ]
    pairs = [r for r in mixed if r.framework != "mxnet"]
    order = []
    for data in (measured(*pairs), measured(*mixed)):
        scores, _ = calibrate(answers(), data, PRIORS, ALL)
        order.append(scores["pytorch"][RUNTIME] > scores["tensorflow"][RUNTIME])
    assert order[0] == order[1]
    assert calibrate(answers(), two, PRIORS, ALL)[1].used


def test_high_spread_lowers_confidence_and_says_so() -> None:
    _, steady = calibrate(answers(), measured(*speeds(100, 50, 25, cv=0.01)), PRIORS, ALL)
    _, noisy = calibrate(answers(), measured(*speeds(100, 50, 25, cv=0.3)), PRIORS, ALL)
    for fw in ALL:
        assert account(noisy, fw).confidence < account(steady, fw).confidence
    assert any("varied a lot" in c for c in noisy.caveats)
    assert not any("varied a lot" in c for c in steady.caveats)


def test_cpu_probes_for_a_gpu_only_team_get_a_mismatch_caveat_and_low_confidence() -> None:
    data = measured(*speeds(100, 50, 25))
    _, cpu_team = calibrate(answers(), data, PRIORS, ALL)
    gpu_team_answers = answers(hardware={"accelerators": ["nvidia_gpu"]})
    scores, gpu_team = calibrate(gpu_team_answers, data, PRIORS, ALL)
    for fw in ALL:
        assert account(gpu_team, fw).confidence == pytest.approx(
            account(cpu_team, fw).confidence * 0.3, abs=1e-3
        )
    (caveat,) = [c for c in gpu_team.caveats if "Probes ran on CPU" in c]
    assert "nvidia_gpu" in caveat
    assert not any("Probes ran on" in c for c in cpu_team.caveats)
    # the blend moves less: closer to the prior
    assert abs(scores["mxnet"][RUNTIME] - 3.5) < 0.5


def test_cuda_probes_match_a_gpu_team() -> None:
    data = measured(*speeds(100, 50, 25, device="cuda"))
    _, calibration = calibrate(
        answers(hardware={"accelerators": ["nvidia_gpu"]}), data, PRIORS, ALL
    )
    assert not any("Probes ran on" in c for c in calibration.caveats)


def test_a_team_with_cpu_and_gpu_gets_a_partial_match() -> None:
    data = measured(*speeds(100, 50, 25))
    _, calibration = calibrate(
        answers(hardware={"accelerators": ["cpu", "nvidia_gpu"]}), data, PRIORS, ALL
    )
    assert any("Probes ran on CPU only" in c and "nvidia_gpu" in c for c in calibration.caveats)


def test_stale_data_gets_a_caveat_and_lower_confidence() -> None:
    _, fresh = calibrate(answers(), measured(*speeds(100, 50, 25, days_old=2)), PRIORS, ALL)
    _, old = calibrate(answers(), measured(*speeds(100, 50, 25, days_old=200)), PRIORS, ALL)
    for fw in ALL:
        assert account(old, fw).confidence < account(fresh, fw).confidence
        assert account(old, fw).age_days == pytest.approx(200)
    stale = [c for c in old.caveats if "stale" in c]
    assert len(stale) == 3 and any("PyTorch" in c and "200 days" in c for c in stale)
    assert not any("stale" in c for c in fresh.caveats)


def test_missing_framework_gets_a_caveat_naming_why() -> None:
    data = measured(
        *[r for r in speeds(100, 50, 25) if r.framework != "mxnet"],
        rec(
            "mxnet",
            "*",
            None,
            status=ProbeStatus.MISSING,
            error="interpreter not found: .venv-mxnet/bin/python (set by advisor.toml)",
        ),
    )
    scores, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert "mxnet" not in scores
    assert (
        "MXNet probes: no usable figures: missing (interpreter not found: .venv-mxnet/bin/python "
        "(set by advisor.toml))." in calibration.caveats
    )
    assert account(calibration, "mxnet").confidence == 0


def test_failed_and_timed_out_probes_are_named() -> None:
    data = measured(
        *speeds(100, 50, 25),
        rec(
            "pytorch",
            "lstm_forward",
            None,
            status=ProbeStatus.TIMEOUT,
            error="no result within 120 s",
        ),
        rec("mxnet", "lstm_forward", None, status=ProbeStatus.FAILED, error="boom"),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert "PyTorch probes without a figure: lstm_forward (timeout)." in calibration.caveats
    assert "MXNet probes without a figure: lstm_forward (failed)." in calibration.caveats


def test_a_framework_with_no_records_at_all_is_named() -> None:
    data = measured(*[r for r in speeds(100, 50, 25) if r.framework != "mxnet"])
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert any(c.startswith("MXNet probes: none stored") for c in calibration.caveats)


def test_a_newer_successful_run_supersedes_an_old_missing_record() -> None:
    data = measured(
        *speeds(100, 50, 25, days_old=1),
        rec("mxnet", "*", None, status=ProbeStatus.MISSING, error="gone", days_old=3),
    )
    _, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert not any("MXNet" in c for c in calibration.caveats)


def test_failed_coverage_lowers_confidence() -> None:
    full = speeds(100, 50, 25)
    without_conv = [
        r for r in full if not (r.framework == "mxnet" and r.probe == "conv_train_step")
    ]
    _, calibration = calibrate(answers(), measured(*without_conv), PRIORS, ALL)
    _, complete = calibrate(answers(), measured(*full), PRIORS, ALL)
    assert account(calibration, "mxnet").confidence < account(complete, "mxnet").confidence


RELEVANT_TO = {
    "distributed": {"hardware": {"scale": "multi_node"}},
    "compile": {},
    "mixed_precision": {"project": {"tasks": ["nlp"], "model_size": "large"}},
    "onnx_export": {"deployment": {"targets": ["browser"]}},
}


@pytest.mark.parametrize(
    ("capability", "words"),
    [
        ("distributed", "distributed training"),
        ("compile", "graph compilation"),
        ("mixed_precision", "mixed precision"),
        ("onnx_export", "ONNX export"),
    ],
)
def test_capability_probe_contradicting_the_knowledge_base_is_a_caveat(
    capability: str, words: str
) -> None:
    data = measured(
        *speeds(100, 50, 25),
        rec("mxnet", f"capability.{capability}", 0.0, unit=""),
        rec("pytorch", f"capability.{capability}", 1.0, unit=""),
    )
    _, calibration = calibrate(answers(**RELEVANT_TO[capability]), data, PRIORS, ALL)
    (caveat,) = [c for c in calibration.caveats if "lacks" in c]
    assert caveat.startswith("MXNet 1.0 as installed here lacks " + words)
    assert f"capability.{capability} = 0" in caveat


@pytest.mark.parametrize(("capability", "words"), [("onnx_export", "ONNX export")])
def test_a_capability_the_probe_could_not_test_is_no_caveat(capability: str, words: str) -> None:
    """onnx_export where onnx / onnxruntime are not installed: unknown, not absent."""
    untested = rec("mxnet", f"capability.{capability}", 0.0, unit="").model_copy(
        update={"details": {"unknown": True, "detail": "unknown: onnx is not installed here"}}
    )
    absent = rec("tensorflow", f"capability.{capability}", 0.0, unit="")
    data = measured(*speeds(100, 50, 25), untested, absent)
    _, calibration = calibrate(answers(**RELEVANT_TO[capability]), data, PRIORS, ALL)
    lacking = [c for c in calibration.caveats if "lacks" in c]
    assert len(lacking) == 1 and lacking[0].startswith("TensorFlow 1.0 as installed here lacks " + words)


@pytest.mark.parametrize("capability", ["distributed", "mixed_precision", "onnx_export"])
def test_a_missing_capability_the_answers_do_not_need_is_no_caveat(capability: str) -> None:
    data = measured(*speeds(100, 50, 25), rec("mxnet", f"capability.{capability}", 0.0, unit=""))
    plain = answers(hardware={"accelerators": ["cpu"]})
    _, calibration = calibrate(plain, data, PRIORS, ALL)
    assert not [c for c in calibration.caveats if "lacks" in c]


def test_gpu_capability_matters_only_to_a_gpu_team_on_this_machine() -> None:
    gpu_zero = rec("mxnet", "capability.gpu", 0.0, unit="")
    gpu_team = answers(hardware={"accelerators": ["nvidia_gpu"]})
    cases = [
        (answers(), gpu_zero, False),
        (gpu_team, gpu_zero, True),
        (gpu_team, rec("mxnet", "capability.gpu", 0.0, unit="", machine_id="elsewhere"), False),
    ]
    for requirements, record, expected in cases:
        _, calibration = calibrate(
            requirements, measured(*speeds(100, 50, 25), record), PRIORS, ALL
        )
        assert any("lacks GPU support" in c for c in calibration.caveats) is expected


def test_only_one_framework_measured_means_nothing_to_compare() -> None:
    data = measured(*[r for r in speeds(100, 50, 25) if r.framework == "pytorch"])
    scores, calibration = calibrate(answers(), data, PRIORS, ALL)
    assert scores == {} and not calibration.used
    assert "only PyTorch" in calibration.reason


def test_excluded_frameworks_are_not_calibrated_or_compared() -> None:
    data = measured(*speeds(100, 50, 25))
    scores, calibration = calibrate(answers(), data, PRIORS, ["tensorflow", "mxnet"])
    assert set(scores) == {"tensorflow", "mxnet"}
    # tensorflow is now the fastest of those ranked
    assert account(calibration, "tensorflow").figures[0].relative == 1.0


def test_task_weights_follow_the_questionnaire() -> None:
    vision = family_weights(answers())
    nlp = family_weights(answers(project={"tasks": ["nlp"]}))
    assert vision["conv"] > nlp["conv"] and nlp["rnn"] > vision["rnn"]
    serving = family_weights(answers(deployment={"latency_critical": True}))
    assert serving["inference_latency"] > vision["inference_latency"] + 3
    research = family_weights(answers(project={"tasks": ["other"], "stage": "research"}))
    production = family_weights(answers(project={"tasks": ["other"], "stage": "production"}))
    assert research["dispatch"] > production["dispatch"]
    assert production["mlp_compiled"] > research["mlp_compiled"]
    assert vision["import_time"] < vision["matmul"]


def test_vision_weighs_conv_so_the_conv_winner_gains() -> None:
    data = measured(
        rec("pytorch", "conv_train_step", 100),
        rec("tensorflow", "conv_train_step", 50),
        rec("pytorch", "lstm_forward", 50),
        rec("tensorflow", "lstm_forward", 100),
    )
    vision, _ = calibrate(answers(), data, PRIORS, ALL)
    speech, _ = calibrate(answers(project={"tasks": ["speech"]}), data, PRIORS, ALL)
    assert vision["pytorch"][RUNTIME] > vision["tensorflow"][RUNTIME]
    assert speech["tensorflow"][RUNTIME] > speech["pytorch"][RUNTIME]


@pytest.mark.parametrize(
    ("probe", "params", "family"),
    [
        ("matmul", {}, "matmul"),
        ("conv_train_step", {}, "conv"),
        ("lstm_forward", {}, "rnn"),
        ("mlp_train", {}, "mlp_train"),
        ("mlp_train", {"mode": "compiled"}, "mlp_compiled"),
        ("mlp_train", {"mode": "eager"}, "mlp_eager"),
        ("mlp_compiled", {}, "mlp_compiled"),
        ("inference_latency", {}, "inference_latency"),
        ("dispatch_overhead", {}, "dispatch"),
        ("import_time", {}, "import_time"),
        ("train_peak_memory", {}, "memory"),
        ("capability.gpu", {}, "capability"),
        ("something_new", {}, "other"),
    ],
)
def test_probe_families(probe: str, params: dict[str, Any], family: str) -> None:
    assert probe_family(probe, params) == family


_values = st.floats(min_value=0.01, max_value=1e4, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_values, _values, _values), min_size=1, max_size=4),
    st.floats(min_value=0, max_value=0.5),
)
def test_deterministic_bounded_and_order_independent(
    rows: list[tuple[float, float, float]], cv: float
) -> None:
    records = [
        rec(fw, f"probe{i}", value, cv=cv)
        for i, row in enumerate(rows)
        for fw, value in zip(("pytorch", "tensorflow", "mxnet"), row, strict=True)
    ]
    first = calibrate(answers(), measured(*records), PRIORS, ALL)
    again = calibrate(answers(), measured(*reversed(records)), PRIORS, ALL)
    assert first == again
    scores, calibration = first
    for fw, values in scores.items():
        for value in values.values():
            assert 0.0 <= value <= 5.0
        assert 0.0 <= account(calibration, fw).confidence <= MAX_CONFIDENCE
