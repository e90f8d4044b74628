"""Blend probe measurements from the user's machine into the runtime and memory scores.

Pure: data in, data out (no files, clock or numpy), so the engine stays deterministic. Every
number below is policy read from knowledge/calibration.toml (`CalibrationPolicy`); the values
quoted are the shipped ones.

Method
------
1. Figures. Records with status ok and a finite positive value are grouped by (probe, params);
   a figure compares the frameworks that have it, so it needs at least two of them. A figure the
   runner flagged `noisy` (taken on a busy machine) is used only where no quiet one exists. Each
   framework's *relative* figure is value / best (best / value when lower is better), in (0, 1],
   taken between the nearest ends of the two 95 % intervals of the median where both records
   carry one: overlapping intervals tie at 1, and a real gap counts only as far as the intervals
   allow (a 5 % lead with 8 %-wide intervals moves nothing).
2. Weights say what the questionnaire's tasks stress. Every runtime family has a small base
   weight; tasks add to it: conv for computer vision; matmul and LSTM for NLP, speech and time
   series; matmul and MLP for tabular and recommender; matmul for generative; MLP training for
   everything else. A latency-critical deployment weighs batch-1 inference heavily; research and
   prototype stages weigh dispatch overhead and eager MLP steps; production weighs compiled MLP
   steps; import time counts lightly. A family's weight is shared by its figures (running three
   matrix sizes does not triple matmul's say). A family the policy weighs 0 gives no figure.
3. Measured score (0-5) = 5 x the weighted *geometric* mean of a framework's relative figures.
   The geometric mean is the usual summary of performance ratios (SPEC; Fleming & Wallace 1986):
   the ratio of two frameworks' scores then equals the weighted geometric mean of their pairwise
   speed ratios, so adding or dropping a third framework never reorders the other two. Two times
   slower everywhere gives 2.5. Memory works the same way on the peak-memory figures.
4. Confidence c = 0.6 x spread x hardware x age x coverage, and calibrated = (1 - c) x prior +
   c x measured. 0.6 caps it because small probes on this machine are evidence about kernels,
   not about the user's whole model. Spread: 1 - 2 x weighted mean CV (floor 0.2; unknown CV
   counts as 5 %). Hardware: 1 when the probed device (params "device": cpu / cuda) is all the
   user declares, 0.7 when the user also declares other hardware, 0.3 when none of it (e.g.
   probed on CPU, training on NVIDIA GPUs). Noisy: 1 - (1 - 0.5) x the weight share of noisy
   figures. Age (of the oldest figure used): 1 up to 30 days,
   falling to 0.7 at 90 days, 0.4 beyond (stale). Coverage: the share of the figure weight the
   framework has figures for (a failed conv probe leaves vision advice less certain).
5. Caveats: hardware mismatch, stale data, noisy figures, frameworks without usable figures
   (missing, failed, timeout: which and why), probes without a figure, and capability probes
   (capability.* = 0) that contradict what the knowledge base says the framework can do (not
   those whose details say `unknown`: the probe could not test it, e.g. onnx not installed).

The returned scores hold only what was calibrated: runtime_performance and memory_efficiency
for frameworks with figures; anything absent keeps its prior.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, NamedTuple

from advisor.core.calibration_policy import CalibrationPolicy
from advisor.core.criteria import Criterion
from advisor.core.questionnaire import (
    OFF_SERVER_TARGETS,
    Accelerator,
    Requirements,
)
from advisor.core.recommendation import Calibration, FrameworkCalibration, ProbeFigure
from probes.records import Measurements, ProbeRecord, ProbeStatus

FRAMEWORK_PROBE = "*"  # a record about a framework as a whole (see probes.runner)
DEPLOYMENT_PREFIX = "deploy."  # a deployment path (probes.deployment): not a speed figure

DEVICE_ACCELERATOR = {"cpu": Accelerator.CPU, "cuda": Accelerator.NVIDIA_GPU}
GPU_ACCELERATORS = frozenset(
    {Accelerator.NVIDIA_GPU, Accelerator.AMD_GPU, Accelerator.APPLE_SILICON, Accelerator.INTEL_GPU}
)
CAPABILITIES = {
    "distributed": "distributed training",
    "compile": "graph compilation",
    "gpu": "GPU support",
    "mixed_precision": "mixed precision",
    "onnx_export": "ONNX export",
}


def probe_family(probe: str, params: Mapping[str, Any]) -> str:
    """Which family a probe belongs to: runtime families, "memory", "capability", "deployment"
    or "other"."""
    name = probe.lower()
    if name.startswith(DEPLOYMENT_PREFIX):
        return "deployment"
    mode = " ".join(str(v).lower() for k, v in params.items() if k in ("mode", "execution"))
    if name.startswith("capability"):
        return "capability"
    if "memory" in name or name.endswith(("_rss", "_bytes")):
        return "memory"
    if "import" in name:
        return "import_time"
    if name == "allreduce":
        return "collective"  # evidence for distributed training, not a runtime figure
    if name == "thread_scaling":
        return "scaling"  # how a framework uses more cores: shown, not scored
    if "transformer" in name:
        return "compile_time" if params.get("figure") == "first_call" else "transformer"
    if "dispatch" in name or "overhead" in name:
        return "dispatch"
    if "latency" in name or "inference" in name:
        return "inference_latency"
    if "conv" in name or "cnn" in name:
        return "conv"
    if any(part in name for part in ("lstm", "rnn", "gru")):
        return "rnn"
    if "matmul" in name or "gemm" in name:
        return "matmul"
    if "mlp" in name:
        text = f"{name} {mode}"
        if any(word in text for word in ("compile", "graph", "jit", "hybrid", "function")):
            return "mlp_compiled"
        if "eager" in text:
            return "mlp_eager"
        return "mlp_train"
    return "other"


class _Figure(NamedTuple):
    probe: str
    params: dict[str, Any]
    family: str
    unit: str
    weight: float
    values: dict[str, ProbeRecord]
    relative: dict[str, float]


def _key(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _usable(record: ProbeRecord) -> bool:
    return (
        record.status is ProbeStatus.OK
        and record.value is not None
        and math.isfinite(record.value)
        and record.value > 0
    )


def _noisy(record: ProbeRecord) -> bool:
    """measured while the machine was busy (the runner's `noisy` flag)"""
    return bool(record.details.get("noisy"))


def _preferred(record: ProbeRecord, held: ProbeRecord | None) -> bool:
    """A quiet figure beats a noisy one whatever their ages; among equals the newer wins."""
    if held is None:
        return True
    if _noisy(record) != _noisy(held):
        return not _noisy(record)
    return record.measured_at > held.measured_at


def _interval(record: ProbeRecord) -> tuple[float, float] | None:
    ci = record.spread.ci95
    if ci is None or not (0 < ci[0] <= ci[1]) or not all(map(math.isfinite, ci)):
        return None
    return ci


def _relative(group: Mapping[str, ProbeRecord], higher_is_better: bool) -> dict[str, float]:
    """Each framework's figure relative to the best, as far as the 95 % intervals allow: the
    ratio is taken between the nearest ends of the two intervals (this framework's best case,
    the leader's worst), so overlapping intervals tie at 1 and a real gap shrinks by the
    intervals' widths. Figures without an interval compare their medians."""
    values = {fw: float(rec.value or 0.0) for fw, rec in group.items()}
    best = (max if higher_is_better else min)(values, key=lambda fw: values[fw])
    lead = _interval(group[best])
    relative = {}
    for fw, value in values.items():
        own = _interval(group[fw])
        if higher_is_better:
            ratio = value / values[best]
            if own is not None and lead is not None:
                ratio = own[1] / lead[0]
        else:
            ratio = values[best] / value
            if own is not None and lead is not None:
                ratio = lead[1] / own[0]
        relative[fw] = min(1.0, ratio)
    return relative


def _figures(
    records: Iterable[ProbeRecord],
    frameworks: Sequence[str],
    weights: Mapping[str, float],
    policy: CalibrationPolicy,
) -> list[_Figure]:
    groups: dict[tuple[str, str], dict[str, ProbeRecord]] = {}
    for record in records:
        fw = record.framework
        if fw not in frameworks or not _usable(record):
            continue
        family = probe_family(record.probe, record.params)
        if family == "capability":
            continue
        group = groups.setdefault((record.probe, _key(record.params)), {})
        if _preferred(record, group.get(fw)):
            group[fw] = record
    comparable = {key: group for key, group in groups.items() if len(group) >= 2}
    per_family: dict[str, int] = {}
    for (probe, _), group in comparable.items():
        family = probe_family(probe, next(iter(group.values())).params)
        per_family[family] = per_family.get(family, 0) + 1

    figures = []
    for (probe, _), group in sorted(comparable.items()):
        first = group[min(group)]
        family = probe_family(probe, first.params)
        family_weight = policy.memory_weight if family == "memory" else weights.get(family, 0.0)
        if not family_weight > 0:
            continue  # a figure the policy gives no weight says nothing (and cannot be averaged)
        relative = _relative(group, first.higher_is_better)
        figures.append(
            _Figure(
                probe=probe,
                params=dict(first.params),
                family=family,
                unit=first.unit,
                weight=family_weight / per_family[family],
                values=group,
                relative=relative,
            )
        )
    return figures


MIN_RELATIVE = 1e-12
"""a relative figure counts as at least this (a trillion times slower scores ~0): a ratio that
underflowed to 0 must not reach log()"""


def _geometric_score(pairs: Sequence[tuple[float, float]]) -> float | None:
    """5 x the weighted geometric mean of (relative, weight) pairs; None without weight.
    Non-finite pairs are left out and relatives are clamped to [MIN_RELATIVE, 1]."""
    usable = [
        (min(1.0, max(rel, MIN_RELATIVE)), weight)
        for rel, weight in pairs
        if math.isfinite(rel) and math.isfinite(weight) and weight > 0
    ]
    total = sum(weight for _, weight in usable)
    if not (total > 0 and math.isfinite(total)):
        return None
    return 5.0 * math.exp(sum(weight * math.log(rel) for rel, weight in usable) / total)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _hardware_factor(
    devices: set[str], requirements: Requirements, policy: CalibrationPolicy
) -> tuple[float, str | None]:
    declared = set(requirements.hardware.accelerators)
    probed = {DEVICE_ACCELERATOR.get(device) for device in devices} - {None}
    matched = probed & declared
    shown_devices = ", ".join(sorted(d.upper() for d in devices))
    shown_declared = ", ".join(a.value for a in requirements.hardware.accelerators)
    if not matched:
        return policy.mismatch_factor, (
            f"Probes ran on {shown_devices}, but you declare {shown_declared}: measured runtime "
            f"and memory say little about that hardware, so they count for little "
            f"(confidence x{policy.mismatch_factor}). Re-run `advisor probe` on the hardware you will "
            "use (`--device cuda` for NVIDIA GPUs) to calibrate for it."
        )
    if declared - matched:
        others = ", ".join(a.value for a in requirements.hardware.accelerators if a not in matched)
        return policy.partial_match_factor, (
            f"Probes ran on {shown_devices} only; figures for {others} are not measured "
            f"(confidence x{policy.partial_match_factor})."
        )
    return 1.0, None


def _no_figure_summary(records: Sequence[ProbeRecord]) -> str:
    """'missing (interpreter not found: ...)' or 'failed 2, timeout 1 (conv: ...)'."""
    whole = [r for r in records if r.probe == FRAMEWORK_PROBE]
    if whole:
        newest = max(whole, key=lambda r: (_utc(r.measured_at), r.status.value))
        return f"{newest.status.value} ({newest.error or 'no reason given'})"
    counts: dict[str, int] = {}
    for record in records:
        counts[record.status.value] = counts.get(record.status.value, 0) + 1
    listed = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    first = next((r for r in records if r.error), None)
    return f"{listed} ({first.probe}: {first.error})" if first else listed


def _capability_caveats(
    fw: str,
    name: str,
    records: Sequence[ProbeRecord],
    requirements: Requirements,
    here: str | None,
    leaving_codebase: bool,
) -> list[str]:
    caveats = []
    declares_gpu = bool(set(requirements.hardware.accelerators) & GPU_ACCELERATORS)
    for record in sorted(records, key=lambda r: (r.probe, _key(r.params))):
        if probe_family(record.probe, record.params) != "capability" or not _usable_flag(record):
            continue
        capability = record.probe.split(".", 1)[-1]
        if capability not in CAPABILITIES or (record.value or 0.0) >= 0.5:
            continue
        if record.details.get("unknown") is True:  # could not be tested here (e.g. no onnx)
            continue
        if capability == "gpu" and not (
            declares_gpu and (here is None or not record.machine_id or record.machine_id == here)
        ):
            continue
        if not _capability_matters(capability, requirements, declares_gpu, leaving_codebase):
            continue
        version = record.versions.get(fw) or next(iter(record.versions.values()), "")
        installed = f"{name} {version}".strip()
        caveats.append(
            f"{installed} as installed here lacks {CAPABILITIES[capability]} (probe "
            f"{record.probe} = 0), though the knowledge base counts {name} as supporting it"
            + (f": {record.error}" if record.error else "")
            + (f" ({record.details['detail']})" if record.details.get("detail") else "")
            + "."
        )
    return caveats


def _capability_matters(
    capability: str, requirements: Requirements, declares_gpu: bool, leaving_codebase: bool
) -> bool:
    """Whether a missing capability touches these answers (a caveat otherwise is only noise);
    `leaving_codebase`: the answers' codebase is on a retired framework, whose models leave
    through ONNX."""
    if capability == "distributed":
        return requirements.hardware.scale.value != "single_device"
    if capability == "mixed_precision":
        return declares_gpu or requirements.project.model_size.value in ("large", "very_large")
    if capability == "onnx_export":
        return leaving_codebase or not OFF_SERVER_TARGETS.isdisjoint(
            requirements.deployment.targets
        )
    return True


def _usable_flag(record: ProbeRecord) -> bool:
    return record.status is ProbeStatus.OK and record.value is not None


def _machine_label(record: ProbeRecord) -> str | None:
    for key in ("cpu_model", "cpu", "processor"):
        value = record.machine.get(key)
        if isinstance(value, str) and value:
            return f"{value} ({record.machine_id})" if record.machine_id else value
    return record.machine_id or None


def _current(records: Sequence[ProbeRecord]) -> list[ProbeRecord]:
    """Drop framework-level failures that a later successful run of the framework superseded."""
    newest_ok: dict[str, datetime] = {}
    for record in records:
        if record.status is ProbeStatus.OK:
            moment = _utc(record.measured_at)
            newest_ok[record.framework] = max(moment, newest_ok.get(record.framework, moment))
    return [
        r
        for r in records
        if not (
            r.probe == FRAMEWORK_PROBE
            and r.framework in newest_ok
            and _utc(r.measured_at) < newest_ok[r.framework]
        )
    ]


def _status_caveats(name: str, own: Sequence[ProbeRecord]) -> list[str]:
    """Say which of a framework's probes gave no figure, and why."""
    if not own:
        return [f"{name} probes: none stored for this machine (run `advisor probe`)."]
    if not any(_usable(r) for r in own):
        return [f"{name} probes: no usable figures: {_no_figure_summary(own)}."]
    lost = sorted(
        {
            f"{r.probe} ({r.status.value})"
            for r in own
            if r.status in (ProbeStatus.FAILED, ProbeStatus.TIMEOUT, ProbeStatus.MISSING)
        }
    )
    return [f"{name} probes without a figure: {', '.join(lost)}."] if lost else []


def _cv(record: ProbeRecord, policy: CalibrationPolicy) -> float:
    return record.spread.cv if record.spread.cv is not None else policy.assumed_cv


def _blend(
    fw: str,
    name: str,
    mine: Sequence[_Figure],
    *,
    prior: Mapping[Criterion, float],
    as_of: datetime,
    hardware_factor: float,
    total_weight: float,
    policy: CalibrationPolicy,
) -> tuple[FrameworkCalibration, list[str]]:
    """One framework's measured scores, confidence and blend (method step 3 and 4)."""
    notes = []
    weight_mine = sum(f.weight for f in mine)
    cv = sum(f.weight * _cv(f.values[fw], policy) for f in mine) / weight_mine
    oldest = min(_utc(f.values[fw].measured_at) for f in mine)
    age_days = max(0.0, (as_of - oldest).total_seconds() / 86400.0)
    busy = [f for f in mine if _noisy(f.values[fw])]
    busy_share = sum(f.weight for f in busy) / weight_mine
    confidence = (
        policy.max_confidence
        * max(0.2, 1.0 - 2.0 * cv)
        * (1.0 - (1.0 - policy.noisy_factor) * busy_share)
        * hardware_factor
        * policy.age_factor(age_days)
        * (weight_mine / total_weight)
    )
    confidence = round(min(1.0, max(0.0, confidence)), 4)
    if age_days > policy.stale_days:
        notes.append(
            f"{name} probe figures are stale: {age_days:.0f} days old (measured "
            f"{oldest.date().isoformat()}); re-run `advisor probe` (confidence lowered)."
        )
    if busy:
        notes.append(
            f"{name}: {len(busy)} of its probe figures were measured while the machine was busy "
            f"({busy[0].values[fw].details['noisy']}); no quiet figure exists for them, so they "
            "count for less: re-run `advisor probe` on a quiet machine."
        )
    if cv > policy.noisy_cv:
        notes.append(
            f"{name} probe timings varied a lot (weighted CV {cv:.0%}); the machine was "
            "probably busy, so they count for less."
        )
    measured = {
        Criterion.RUNTIME_PERFORMANCE: _geometric_score(
            [(f.relative[fw], f.weight) for f in mine if f.family != "memory"]
        ),
        Criterion.MEMORY_EFFICIENCY: _geometric_score(
            [(f.relative[fw], f.weight) for f in mine if f.family == "memory"]
        ),
    }
    calibrated = {
        criterion: round((1 - confidence) * prior[criterion] + confidence * value, 4)
        for criterion, value in measured.items()
        if value is not None and criterion in prior
    }
    figures = [
        ProbeFigure(
            probe=f.probe,
            params=f.params,
            value=float(f.values[fw].value or 0.0),
            unit=f.unit,
            relative=round(f.relative[fw], 4),
            weight=round(f.weight, 4),
            cv=f.values[fw].spread.cv,
            ci95=f.values[fw].spread.ci95,
            noisy=f.values[fw].details.get("noisy") or None,
        )
        for f in mine
    ]
    account = FrameworkCalibration(
        framework=fw,
        prior=dict(prior),
        calibrated=calibrated,
        confidence=confidence,
        figures=figures,
        machine=_machine_label(mine[0].values[fw]),
        measured_at=oldest.isoformat(),
        age_days=round(age_days, 2),
    )
    return account, notes


def calibrate(
    requirements: Requirements,
    measurements: Measurements | None,
    priors: Mapping[str, Mapping[Criterion, float]],
    frameworks: Sequence[str],
    *,
    policy: CalibrationPolicy,
    names: Mapping[str, str] | None = None,
    leaving_codebase: bool = False,
) -> tuple[dict[str, dict[Criterion, float]], Calibration]:
    """Calibrated runtime/memory base scores per framework, and the account of how.

    `names` are the frameworks' display names (ids where absent); caveats about one framework
    are also listed under it in `Calibration.by_framework`, so the engine can attach them.
    """
    names = names or {}
    # deployment paths are evidence for the deployment criterion (deployment_evidence), not speed
    speed = [
        r
        for r in (measurements.records if measurements else ())
        if not r.probe.startswith(DEPLOYMENT_PREFIX)
    ]
    if measurements is None or not speed:
        return {}, Calibration(
            used=False, reason="no probe measurements for this machine (run `advisor probe`)"
        )
    frameworks = list(dict.fromkeys(frameworks))
    records = _current([r for r in speed if r.framework in frameworks])
    by_fw: dict[str, list[ProbeRecord]] = {fw: [] for fw in frameworks}
    for record in records:
        by_fw[record.framework].append(record)

    as_of = _utc(measurements.as_of)
    here = measurements.machine.get("machine_id")
    here = here if isinstance(here, str) and here else None
    weights = policy.family_weights(requirements)
    figures = _figures(records, frameworks, weights, policy)
    total_weight = sum(f.weight for f in figures)
    caveats: list[str] = []
    by_framework: dict[str, list[str]] = {}

    hardware_factor, hardware_caveat = _hardware_factor(
        {str(f.values[fw].params.get("device", "cpu")) for f in figures for fw in f.values}
        or {"cpu"},
        requirements,
        policy,
    )
    if figures and hardware_caveat:
        caveats.append(hardware_caveat)

    scores: dict[str, dict[Criterion, float]] = {}
    accounts: list[FrameworkCalibration] = []
    for fw in frameworks:
        name = names.get(fw, fw)
        own = [
            *_status_caveats(name, by_fw[fw]),
            *_capability_caveats(fw, name, by_fw[fw], requirements, here, leaving_codebase),
        ]
        prior = {
            c: float(priors[fw][c])
            for c in (Criterion.RUNTIME_PERFORMANCE, Criterion.MEMORY_EFFICIENCY)
            if fw in priors and c in priors[fw]
        }
        mine = [f for f in figures if fw in f.relative]
        if not mine:
            accounts.append(
                FrameworkCalibration(framework=fw, prior=prior, calibrated={}, confidence=0.0)
            )
        else:
            account, notes = _blend(
                fw,
                name,
                mine,
                prior=prior,
                as_of=as_of,
                hardware_factor=hardware_factor,
                total_weight=total_weight,
                policy=policy,
            )
            own.extend(notes)
            accounts.append(account)
            if account.calibrated:
                scores[fw] = dict(account.calibrated)
        caveats.extend(own)
        if own:
            by_framework[fw] = own

    if not scores:
        having = [names.get(fw, fw) for fw in frameworks if any(_usable(r) for r in by_fw[fw])]
        if not having:
            reason = "no usable probe figures (every stored probe failed, timed out or is missing)"
        elif len(having) == 1:
            reason = f"only {having[0]} has usable probe figures; nothing to compare it with"
        else:
            reason = "no probe figure was measured in two or more of the frameworks ranked"
        return {}, Calibration(
            used=False,
            reason=reason,
            frameworks=accounts,
            caveats=caveats,
            by_framework=by_framework,
        )
    calibrated_names = ", ".join(names.get(fw, fw) for fw in frameworks if fw in scores)
    return scores, Calibration(
        used=True,
        reason=f"runtime and memory blended with {len(figures)} probe figures from this machine "
        f"({calibrated_names})",
        frameworks=accounts,
        caveats=caveats,
        by_framework=by_framework,
    )
