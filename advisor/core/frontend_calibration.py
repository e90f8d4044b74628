"""A front-end's measured overhead over its backend, in its runtime score (Keras 3).

Pure, like `calibration`: records in, numbers and sentences out. The Keras worker times the Keras
training step and the native step of the same backend in one process and records their ratio
(probe `keras_overhead`, params backend and model, value = Keras time / native time, spread = CV
of the per-round ratios). For one option (Keras on backend B):

- ratio = weighted geometric mean of the models' ratios, each weighted by its runtime family's
  weight for these answers (`model_family`: conv counts most for computer vision);
- measured = the option's inherited runtime score (B's final runtime score for these answers)
  / ratio, clamped to 0-5: on calibration's geometric scale twice as slow scores half;
- confidence c = max_confidence x spread x hardware x age (spread: 1 - 2 x CV, floor 0.2;
  hardware and age as in `calibration`);
- calibrated = (1 - c) x prior + c x measured, where prior = the inherited score moved by the
  prior's delta; the rules the policy lists as guesses at the same overhead keep (1 - c) of
  their delta, so measured and guessed overhead are not counted twice.

A backend without a usable record (missing, failed, none stored) keeps the prior and the rules
and says why in a caveat; a backend that was not installed is "missing", never "slow".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from advisor.core.calibration import FRAMEWORK_PROBE, _hardware_factor, _usable, _utc
from advisor.core.calibration_policy import CalibrationPolicy
from advisor.core.criteria import Criterion
from advisor.core.questionnaire import Requirements
from probes.records import Measurements, ProbeRecord, ProbeStatus

RUNTIME = Criterion.RUNTIME_PERFORMANCE
MODEL_LABEL = {"mlp": "MLP", "conv": "conv"}


class Overhead(NamedTuple):
    """One backend's measured overhead, ready to blend."""

    backend: str
    ratio: float
    by_model: dict[str, ProbeRecord]
    confidence: float
    measured_at: datetime
    run_id: str | None


class FrontendMeasurements(NamedTuple):
    """Per backend of one front-end: its overhead, or why there is none."""

    overheads: dict[str, Overhead]
    unmeasured: dict[str, str]
    """backend -> why it has no figure ("missing: ...", "failed: ...", "not probed")"""
    step_ms: dict[str, float]
    """the front-end's own MLP training step per backend (ms), fastest first"""


class OptionCalibration(NamedTuple):
    calibrated: dict[Criterion, float]
    rule_scale: dict[tuple[str, Criterion], float]
    caveats: list[str]
    evidence: dict[Criterion, str]
    """criterion -> the measurement behind its calibrated score, for the evidence trail"""


def _newest(records: Sequence[ProbeRecord]) -> ProbeRecord:
    return max(records, key=lambda r: (_utc(r.measured_at), r.status is ProbeStatus.OK))


def frontend_measurements(
    requirements: Requirements,
    measurements: Measurements | None,
    frontend: str,
    backends: Sequence[str],
    *,
    policy: CalibrationPolicy,
) -> FrontendMeasurements:
    """The newest overhead figures of `frontend` per backend, with their confidence."""
    rules = policy.frontend
    if rules is None or measurements is None:
        return FrontendMeasurements({}, {}, {})
    weights = policy.family_weights(requirements)
    as_of = _utc(measurements.as_of)
    mine = [r for r in measurements.records if r.framework == frontend]
    overheads: dict[str, Overhead] = {}
    unmeasured: dict[str, str] = {}
    for backend in backends:
        own = [r for r in mine if r.params.get("backend") == backend]
        by_model: dict[str, ProbeRecord] = {}
        for model in rules.model_family:
            found = [
                r for r in own if r.probe == rules.probe and str(r.params.get("model")) == model
            ]
            if found and _usable(newest := _newest(found)):
                by_model[model] = newest
        whole = [r for r in own if r.probe == FRAMEWORK_PROBE]
        if whole and (
            not by_model
            or _utc(_newest(whole).measured_at)
            > max(_utc(r.measured_at) for r in by_model.values())
        ):
            newest = _newest(whole)
            unmeasured[backend] = f"{newest.status.value}: {newest.error or 'no reason given'}"
            continue
        if not by_model:
            failed = [r for r in own if r.probe == rules.probe and r.error]
            unmeasured[backend] = (
                f"{_newest(failed).status.value}: {_newest(failed).error}"
                if failed
                else "not probed (run `advisor probe --framework " + frontend + "`)"
            )
            continue
        total = sum(weights.get(rules.model_family[m], 0.0) for m in by_model) or float(
            len(by_model)
        )

        def weight(model: str, total: float = total) -> float:
            w = weights.get(rules.model_family[model], 0.0)
            return (w if w > 0 else 1.0) / total

        ratio = math.exp(
            sum(weight(m) * math.log(r.value or 1.0) for m, r in by_model.items())
            / sum(weight(m) for m in by_model)
        )
        cv = sum(
            weight(m) * (r.spread.cv if r.spread.cv is not None else policy.assumed_cv)
            for m, r in by_model.items()
        ) / sum(weight(m) for m in by_model)
        oldest = min(_utc(r.measured_at) for r in by_model.values())
        age_days = max(0.0, (as_of - oldest).total_seconds() / 86400.0)
        devices = {str(r.params.get("device", "cpu")) for r in by_model.values()}
        hardware, _ = _hardware_factor(devices, requirements, policy)
        confidence = (
            rules.max_confidence * max(0.2, 1.0 - 2.0 * cv) * hardware * policy.age_factor(age_days)
        )
        newest_record = max(by_model.values(), key=lambda r: _utc(r.measured_at))
        overheads[backend] = Overhead(
            backend=backend,
            ratio=ratio,
            by_model=by_model,
            confidence=round(min(1.0, max(0.0, confidence)), 4),
            measured_at=oldest,
            run_id=newest_record.run_id,
        )
    return FrontendMeasurements(overheads, unmeasured, _step_ms(mine, frontend, backends))


def _step_ms(
    records: Sequence[ProbeRecord], frontend: str, backends: Sequence[str]
) -> dict[str, float]:
    """The front-end's own MLP step time per backend (implementation = the front-end's id),
    fastest first."""
    steps: dict[str, float] = {}
    for backend in backends:
        found = [
            r
            for r in records
            if r.probe == "mlp_train"
            and r.params.get("backend") == backend
            and r.params.get("implementation") == frontend
            and _usable(r)
        ]
        if found:
            steps[backend] = 1e3 / (_newest(found).value or 1.0)
    return dict(sorted(steps.items(), key=lambda item: item[1]))


def _times(ratio: float) -> str:
    if ratio >= 1.05:
        return f"{ratio:.1f}x slower per training step than"
    if ratio <= 0.95:
        return f"{1 / ratio:.1f}x faster per training step than"
    return "about as fast per training step as"


def overhead_sentence(found: Overhead, names: Mapping[str, str], frontend_name: str) -> str:
    backend = names.get(found.backend, found.backend)
    models = "; ".join(
        f"{MODEL_LABEL.get(m, m)} {r.value:.2f}x"
        + (
            f" [{r.details['interval_low']:.2f}-{r.details['interval_high']:.2f}]"
            if isinstance(r.details.get("interval_low"), int | float)
            and isinstance(r.details.get("interval_high"), int | float)
            else ""
        )
        for m, r in sorted(found.by_model.items())
    )
    probe = next(iter(found.by_model.values())).probe
    run = f"run {found.run_id[:8]}, " if found.run_id else ""
    when = found.measured_at.strftime("%Y-%m-%d")
    return (
        f"On the {backend} backend {frontend_name} was {_times(found.ratio)} native {backend} "
        f"on this machine (probe {probe}: {models}; {run}{when})"
    )


def option_calibration(
    measured: FrontendMeasurements,
    backend: str,
    *,
    inherited: float,
    prior: float,
    policy: CalibrationPolicy,
    names: Mapping[str, str],
    frontend_name: str,
) -> OptionCalibration:
    """The runtime score of the front-end on `backend`, and the caveats that say why."""
    rules = policy.frontend
    found = measured.overheads.get(backend)
    if rules is None or found is None:
        why = measured.unmeasured.get(backend)
        caveats = []
        if why is not None:
            caveats.append(
                f"{frontend_name} on {names.get(backend, backend)} has no measured overhead "
                f"here ({why}); its runtime score is the prior's guess."
            )
        return OptionCalibration({}, {}, caveats, {})
    c = found.confidence
    score = min(5.0, max(0.0, inherited / found.ratio))
    calibrated = round((1 - c) * prior + c * score, 4)
    scale = {(rule, RUNTIME): round(1 - c, 4) for rule in rules.replaces_rules}
    caveat = (
        f"{overhead_sentence(found, names, frontend_name)}: runtime performance measured "
        f"{score:.2f} ({names.get(backend, backend)}'s {inherited:.2f} / {found.ratio:.2f}) "
        f"against the prior's {prior:.2f}, counted at confidence {c:.2f} (calibrated "
        f"{calibrated:.2f})."
    )
    return OptionCalibration(
        {RUNTIME: calibrated},
        scale,
        [caveat],
        {RUNTIME: overhead_sentence(found, names, frontend_name)},
    )


def summary_caveats(
    measured: FrontendMeasurements,
    names: Mapping[str, str],
    frontend_name: str,
    *,
    besides: str | None = None,
) -> list[str]:
    """The measured overheads of the backends other than `besides`, and the front-end's own step
    times per backend (which backend is fastest here), when two or more were timed."""
    lines = [
        overhead_sentence(found, names, frontend_name) + "."
        for backend, found in measured.overheads.items()
        if backend != besides
    ]
    if len(measured.step_ms) >= 2:
        steps = ", ".join(f"{names.get(b, b)} {ms:.2g} ms" for b, ms in measured.step_ms.items())
        lines.append(f"{frontend_name}'s own MLP training step here, fastest first: {steps}.")
    return lines
