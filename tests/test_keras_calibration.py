"""Keras 3's measured overhead over each backend calibrates its runtime score and backend choice.

Constructed keras_overhead records (what the Keras worker stores) go through the real engine: a
3x overhead on PyTorch lowers Keras-on-PyTorch's runtime score and moves Keras to another
backend; without records the prior's delta and the rules apply unchanged.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from advisor.core.criteria import Criterion
from advisor.core.engine import recommend
from advisor.core.frontend_calibration import frontend_measurements
from advisor.core.in_force import knowledge_in_force
from advisor.core.questionnaire import Requirements
from advisor.core.recommendation import CriterionScore, RankedFramework, Recommendation
from probes.overhead import bootstrap_interval, measure_pair, ratio_of_medians
from probes.records import Measurements, ProbeRecord, ProbeStatus, Spread
from probes.timing import Budget

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
RUNTIME = Criterion.RUNTIME_PERFORMANCE
KB = knowledge_in_force()


def answers(**extra: Any) -> Requirements:
    return Requirements.model_validate(
        {
            "project": {"tasks": ["tabular"]},
            "hardware": {"accelerators": ["cpu"]},
            "priorities": {"runtime_performance": 5},
            **extra,
        }
    )


def overhead(
    backend: str, model: str, value: float, *, cv: float = 0.05, days_old: float = 0.1
) -> ProbeRecord:
    return ProbeRecord(
        framework="keras",
        probe="keras_overhead",
        status=ProbeStatus.OK,
        value=value,
        unit="x",
        higher_is_better=False,
        params={"backend": backend, "model": model, "device": "cpu", "threads": 2},
        spread=Spread(cv=cv, iqr=None, repeats=11),
        details={"interval_low": value * 0.9, "interval_high": value * 1.1},
        versions={"keras": "3.15.1"},
        machine={"cpu_model": "Test CPU"},
        machine_id="here",
        measured_at=NOW - timedelta(days=days_old),
        run_id="0123456789abcdef",
    )


def missing(backend: str) -> ProbeRecord:
    return ProbeRecord(
        framework="keras",
        probe="*",
        status=ProbeStatus.MISSING,
        params={"backend": backend, "device": "cpu", "threads": 2},
        versions={},
        machine={},
        machine_id="here",
        measured_at=NOW - timedelta(hours=1),
        run_id="run2",
        error="cannot import keras: ModuleNotFoundError: No module named 'torch'",
    )


def measured(*records: ProbeRecord) -> Measurements:
    return Measurements(records=list(records), as_of=NOW, machine={"machine_id": "here"})


def both(backend: str, value: float, **kw: Any) -> list[ProbeRecord]:
    return [overhead(backend, "mlp", value, **kw), overhead(backend, "conv", value, **kw)]


def keras(rec: Recommendation) -> RankedFramework:
    return next(r for r in rec.ranking if r.framework == "keras")


def runtime(rec: Recommendation, backend: str) -> CriterionScore:
    option = next(o for o in keras(rec).options if o.backend == backend)
    return next(c for c in option.criteria if c.criterion is RUNTIME)


def native_runtime(rec: Recommendation, framework: str) -> float:
    entry = next(r for r in rec.ranking if r.framework == framework)
    return next(c.score for c in entry.criteria if c.criterion is RUNTIME)


def test_without_records_the_priors_delta_and_the_pytorch_rule_apply() -> None:
    rec = recommend(answers())
    torch = runtime(rec, "pytorch")
    assert torch.calibrated is None
    assert torch.prior == pytest.approx(native_runtime(rec, "pytorch") - 0.25)
    assert [(a.rule, a.delta) for a in torch.adjustments] == [("keras-overhead-on-pytorch", -0.5)]
    on_jax = runtime(rec, "jax")
    assert on_jax.calibrated is None and on_jax.score == pytest.approx(on_jax.prior)
    # measurements of native frameworks only: Keras keeps its prior too
    assert runtime(recommend(answers(), measured()), "pytorch").score == torch.score


def test_a_3x_overhead_on_pytorch_lowers_its_runtime_score_and_moves_keras_off_it() -> None:
    before = recommend(answers())
    assert keras(before).backend == "pytorch"  # this questionnaire's unmeasured pick
    records = [*both("pytorch", 3.0), *both("tensorflow", 1.3), *both("jax", 1.2)]
    after = recommend(answers(), measured(*records))
    torch = runtime(after, "pytorch")
    assert torch.calibrated is not None
    assert torch.score < runtime(before, "pytorch").score - 0.2
    # the rule's guess at the same overhead gives way by the measurement's confidence
    (rule,) = torch.adjustments
    assert rule.rule == "keras-overhead-on-pytorch" and -0.5 < rule.delta < 0
    assert keras(after).backend != "pytorch"
    # the evidence speaks Keras, with the figure's source run
    option = next(o for o in after.ranking if o.framework == "keras")
    text = " ".join(c.message for c in option.caveats)
    assert (
        "On the PyTorch backend Keras 3 was 3.0x slower per training step than native PyTorch"
        in text
    )
    assert "probe keras_overhead" in text and "run 01234567" in text and "2026-12-0" in text
    # ... and the criterion itself names the measurement that calibrated it
    assert torch.measured is not None and "3.0x slower" in torch.measured
    assert runtime(before, "pytorch").measured is None


def test_measured_score_is_the_backends_score_divided_by_the_ratio() -> None:
    rec = recommend(answers(), measured(*both("jax", 2.0, cv=0.0)))
    on_jax = runtime(rec, "jax")
    inherited = native_runtime(rec, "jax")
    c = KB.calibration.frontend.max_confidence if KB.calibration.frontend else 0.0
    expected = (1 - c) * (inherited - 0.25) + c * inherited / 2.0
    assert on_jax.calibrated == pytest.approx(expected, abs=1e-3)


def test_noisy_or_old_figures_count_for_less() -> None:
    policy = KB.calibration
    fresh = frontend_measurements(
        answers(), measured(*both("jax", 2.0)), "keras", ["jax"], policy=policy
    )
    noisy = frontend_measurements(
        answers(), measured(*both("jax", 2.0, cv=0.3)), "keras", ["jax"], policy=policy
    )
    old = frontend_measurements(
        answers(), measured(*both("jax", 2.0, days_old=200)), "keras", ["jax"], policy=policy
    )
    top = fresh.overheads["jax"].confidence
    assert noisy.overheads["jax"].confidence < top
    assert old.overheads["jax"].confidence < top


def test_the_transformer_overhead_counts_by_the_transformer_familys_weight() -> None:
    import math

    policy = KB.calibration
    records = measured(
        overhead("jax", "mlp", 3.0),
        overhead("jax", "conv", 2.0),
        overhead("jax", "transformer", 1.1),
    )
    ratios = {}
    for task in ("nlp", "tabular"):
        wanted = answers(project={"tasks": [task]})
        weights = policy.family_weights(wanted)
        family = {"mlp": 3.0, "conv": 2.0, "transformer": 1.1}
        names = {"mlp": "mlp_train", "conv": "conv", "transformer": "transformer"}
        w = {m: weights.get(names[m], 0.0) or 1.0 for m in family}
        expected = math.exp(sum(w[m] * math.log(family[m]) for m in family) / sum(w.values()))
        found = frontend_measurements(wanted, records, "keras", ["jax"], policy=policy)
        ratios[task] = found.overheads["jax"].ratio
        assert ratios[task] == pytest.approx(expected)
        assert set(found.overheads["jax"].by_model) == {"mlp", "conv", "transformer"}
    assert ratios["nlp"] < ratios["tabular"]  # NLP weighs the block most, tabular the MLP


def test_a_missing_backend_is_missing_not_slow() -> None:
    plain = recommend(answers())
    rec = recommend(answers(), measured(missing("pytorch"), *both("jax", 1.5)))
    torch = runtime(rec, "pytorch")
    assert torch.calibrated is None and torch.score == runtime(plain, "pytorch").score
    option = next(o for o in rec.ranking if o.framework == "keras")
    text = " ".join(c.message for c in option.caveats)
    if keras(rec).backend == "pytorch":
        assert "no measured overhead here (missing" in text
    assert "On the JAX backend Keras 3 was 1.5x slower" in text


def test_the_cv_pick_weighs_the_conv_ratio() -> None:
    records = [overhead("jax", "mlp", 4.0), overhead("jax", "conv", 1.1)]
    vision = frontend_measurements(
        answers(project={"tasks": ["computer_vision"]}),
        measured(*records),
        "keras",
        ["jax"],
        policy=KB.calibration,
    )
    tabular = frontend_measurements(
        answers(), measured(*records), "keras", ["jax"], policy=KB.calibration
    )
    assert vision.overheads["jax"].ratio < tabular.overheads["jax"].ratio


def test_the_policy_names_rules_and_families_that_exist() -> None:
    policy = KB.calibration.frontend
    assert policy is not None
    rules = {compiled.rule.id for compiled in KB.rules}
    assert set(policy.replaces_rules) <= rules
    assert set(policy.model_family.values()) <= set(KB.calibration.base_weight)


def test_probe_plan_lists_one_item_per_keras_backend() -> None:
    from advisor.cli.probe import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["--plan", "--framework", "keras"]) == 0
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert len(lines) == 3, lines
    for line, backend in zip(lines, ("jax", "tensorflow", "pytorch"), strict=True):
        assert line.startswith("keras") and f"ADVISOR_PROBE_BACKEND={backend}" in line
    assert ".venv-jax" in lines[0]


def _plan_lines(*args: str) -> list[str]:
    from advisor.cli.probe import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["--plan", *args]) == 0
    return [line for line in out.getvalue().splitlines() if line.startswith("keras ")]


def test_a_default_quick_run_probes_keras_on_its_quick_backend_and_a_named_one_on_all() -> None:
    spec = KB.frameworks["keras"].probe
    assert spec is not None and spec.quick_backends == ["pytorch"]
    (quick,) = _plan_lines()
    assert "ADVISOR_PROBE_BACKEND=pytorch" in quick
    assert "probes import_time, mlp_train, conv_train_step, transformer, keras_overhead" in quick
    assert len(_plan_lines("--suite", "full")) == 3
    assert len(_plan_lines("--suite", "quick", "--framework", "keras")) == 3
    everything = _plan_lines("--framework", "keras", "--framework", "pytorch")
    assert len(everything) == 3  # named: every backend


def test_quick_backends_must_be_backends_the_frontend_lists() -> None:
    from advisor.core.knowledge import FrameworkProfile

    data = KB.frameworks["keras"].model_dump()
    data["probe"]["quick_backends"] = ["tensorflow", "cntk"]
    with pytest.raises(ValueError, match="quick_backends names backends it does not list: cntk"):
        FrameworkProfile.model_validate(data)


# -- the paired timing's statistics -----------------------------------------------------------------
def test_ratio_and_its_bootstrap_interval() -> None:
    a = [2.0, 2.2, 1.9, 2.1, 2.0, 2.05, 1.95]
    b = [1.0, 1.1, 0.95, 1.05, 1.0, 1.0, 1.0]
    ratio = ratio_of_medians(a, b)
    low, high = bootstrap_interval(a, b, seed=1)
    assert ratio == pytest.approx(2.0)
    assert low <= ratio <= high and high - low < 0.5
    assert bootstrap_interval(a, b, seed=1) == (low, high)  # seeded: reproducible


def test_measure_pair_alternates_and_times_both() -> None:
    calls: list[str] = []
    paired = measure_pair(
        lambda: calls.append("a"),
        lambda: calls.append("b"),
        lambda _: None,
        Budget(warmup=1, min_repeats=2, min_seconds=0.0),
    )
    assert len(paired.first) == len(paired.second) == 5
    assert calls.count("a") == calls.count("b")
