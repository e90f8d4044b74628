"""What the deployment-path probes measured, as evidence for the deployment criterion.

Pure: the catalogue (knowledge/deployment.toml), the answers and the stored records in; sentences
out. For one framework (on one backend, for a front-end) and the user's targets:

- the paths that reach a runtime standing for one of the targets (`[[target]]`), each with its
  newest records (conv net and MLP): `ok` paths are cited with latency (median and 95 % interval),
  artifact size, largest difference from the framework's own output and the runtime's version;
- a path that failed here (export_failed, load_failed, run_failed, mismatch, timeout,
  env_conflict) becomes a caveat with its error and the versions it ran on: the knowledge claims
  the path, and on the installed versions it does not work;
- a path with no record, or whose exporter or runtime is not installed, says which probe run
  measures it;
- a combination the catalogue declares unsupported is named with its reason.

The figures are runtime overhead at a tiny size (batch 1, ~5k and ~36k parameters), so they
change no score: a working path raises confidence in the claim behind the deployment score
(`confirmed`), a failing one lowers it (`contradicted`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from advisor.core.deployment_paths import DeploymentCatalogue, DeploymentPath
from advisor.core.questionnaire import Requirements, Target
from probes.records import Measurements, ProbeRecord

FAILED_STATES = (
    "export_failed",
    "load_failed",
    "run_failed",
    "mismatch",
    "timeout",
    "env_conflict",
)
MODEL_LABEL = {"conv": "conv net", "mlp": "MLP"}


class PathOutcome(NamedTuple):
    path: DeploymentPath
    state: str
    """ok, failed (one of FAILED_STATES in `records`), not_installed, not_measured"""
    records: tuple[ProbeRecord, ...]


class DeploymentEvidence(NamedTuple):
    targets: tuple[Target, ...]
    outcomes: tuple[PathOutcome, ...]
    measured: str | None
    """the sentence for the deployment criterion's evidence (None: no target off the table)"""
    caveats: tuple[str, ...]
    confirmed: bool
    """a path to every target's runtimes worked here"""
    contradicted: bool
    """a claimed path failed here"""
    summaries: tuple[str, ...] = ()
    """one sentence per outcome, in the same order"""


def _deploy_state(record: ProbeRecord) -> str:
    state = record.details.get("deploy_status")
    if isinstance(state, str) and state:
        return state
    return "ok" if record.status.value == "ok" else record.status.value


def path_records(
    records: Sequence[ProbeRecord], framework: str, backend: str | None, path: DeploymentPath
) -> tuple[ProbeRecord, ...]:
    """The newest record per model of one path (a front-end's on that backend)."""
    newest: dict[str, ProbeRecord] = {}
    for record in records:
        if record.framework != framework or record.probe != path.probe:
            continue
        if backend is not None and record.params.get("backend") != backend:
            continue
        if record.params.get("environment") != path.environment:
            continue
        model = str(record.params.get("model", ""))
        if model not in newest or record.measured_at > newest[model].measured_at:
            newest[model] = record
    return tuple(newest[m] for m in sorted(newest))


def path_outcome(path: DeploymentPath, found: tuple[ProbeRecord, ...]) -> PathOutcome:
    if not found:
        return PathOutcome(path, "not_measured", found)
    states = [_deploy_state(r) for r in found]
    failed = [s for s in states if s in FAILED_STATES or s in ("failed", "missing")]
    if failed:
        return PathOutcome(path, "failed", found)
    if all(s == "ok" for s in states):
        return PathOutcome(path, "ok", found)
    return PathOutcome(path, "not_installed", found)


def _number(value: float) -> str:
    return f"{value:.3g}"


def _figures(record: ProbeRecord) -> str:
    d = record.details
    parts = [f"{_number(record.value or 0.0)} ms"]
    low, high = d.get("ci95_low_ms"), d.get("ci95_high_ms")
    if isinstance(low, int | float) and isinstance(high, int | float):
        parts[0] += f" [{_number(low)}-{_number(high)}]"
    size = d.get("artifact_bytes")
    if isinstance(size, int | float):
        parts.append(f"{size / 1024:.0f} KB")
    diff = d.get("max_abs_diff")
    if isinstance(diff, int | float):
        parts.append(f"max diff {diff:.1e}")
    label = MODEL_LABEL.get(str(record.params.get("model")), str(record.params.get("model")))
    return f"{label} " + ", ".join(parts)


def _runtime_version(records: Sequence[ProbeRecord], runtime_name: str) -> str:
    versions = {
        str(r.details.get("runtime_version")) for r in records if r.details.get("runtime_version")
    }
    return f"{runtime_name} {', '.join(sorted(versions))}" if versions else runtime_name


def _ok_text(outcome: PathOutcome, runtime_name: str) -> str:
    records = outcome.records
    when = max(r.measured_at for r in records).date().isoformat()
    figures = "; ".join(_figures(r) for r in records)
    delegate = next((str(r.details["delegate"]) for r in records if r.details.get("delegate")), "")
    on = f", {delegate} delegate" if delegate and "delegate" not in outcome.path.label else ""
    return (
        f"{outcome.path.label}: ok here ({figures}; {_runtime_version(records, runtime_name)}"
        f"{on}; measured {when})"
    )


def _failure_text(outcome: PathOutcome, framework_name: str) -> str:
    bad = next(
        r for r in outcome.records if _deploy_state(r) in (*FAILED_STATES, "failed", "missing")
    )
    versions = ", ".join(f"{k} {v}" for k, v in sorted(bad.versions.items()) if k != "python")
    error = (bad.error or _deploy_state(bad)).splitlines()[0][:240]
    return (
        f"{framework_name}: {outcome.path.label} failed on this machine "
        f"({_deploy_state(bad)}: {error}; {versions or 'versions unknown'}, "
        f"{bad.measured_at.date().isoformat()}): the knowledge says this path works, the installed "
        "versions say otherwise"
    )


def probe_command(framework: str, paths: Sequence[DeploymentPath]) -> str:
    """The run that measures `paths`: the default suite when it holds them all, else deploy."""
    suite = "quick" if all("quick" in p.suites for p in paths) else "deploy"
    return f"`advisor probe --suite {suite} --framework {framework}`"


def deployment_evidence(
    requirements: Requirements,
    measurements: Measurements | None,
    catalogue: DeploymentCatalogue | None,
    framework: str,
    *,
    names: Mapping[str, str],
    backend: str | None = None,
) -> DeploymentEvidence:
    """The deployment paths of `framework` (on `backend`) that matter for these answers."""
    targets = tuple(t for t in requirements.deployment.targets if t is not Target.NONE)
    name = names.get(framework, framework)
    label = f"{name} on {names.get(backend, backend)}" if backend else name
    if catalogue is None or not targets:
        return DeploymentEvidence(targets, (), None, (), False, False)  # nothing to deploy to
    wanted = catalogue.runtimes_for(targets)
    paths = [p for p in catalogue.paths_for(framework, backend) if p.runtime in wanted]
    records = list(measurements.records) if measurements is not None else []
    outcomes = tuple(path_outcome(p, path_records(records, framework, backend, p)) for p in paths)
    runtime_name = {r.id: r.name for r in catalogue.runtime}
    said: list[str] = []
    caveats: list[str] = []
    summaries: list[str] = []
    for outcome in outcomes:
        if outcome.state == "ok":
            summaries.append(_ok_text(outcome, runtime_name[outcome.path.runtime]))
            said.append(summaries[-1])
        elif outcome.state == "failed":
            caveats.append(_failure_text(outcome, label))
            summaries.append(caveats[-1])
            said.append(f"{outcome.path.label}: failed here (see caveats)")
        else:
            command = probe_command(framework, [outcome.path])
            why = (
                "exporter or runtime not installed"
                if outcome.state == "not_installed"
                else "not measured yet"
            )
            summaries.append(f"{outcome.path.label}: {why}; run {command}")
    missing = [o for o in outcomes if o.state in ("not_measured", "not_installed")]
    if missing:
        command = probe_command(framework, [o.path for o in missing])
        listed = "; ".join(
            o.path.label
            + (" (exporter or runtime not installed)" if o.state == "not_installed" else "")
            for o in missing
        )
        said.append(f"not measured here yet: {listed}; run {command}")
    for unsupported in catalogue.unsupported_for(framework, backend):
        if unsupported.runtime in wanted:
            said.append(f"no path to {runtime_name[unsupported.runtime]}: {unsupported.reason}")
    reached = {o.path.runtime for o in outcomes if o.state == "ok"}
    confirmed = all(
        any(runtime in reached for runtime, served in wanted.items() if target in served)
        for target in targets
    )
    contradicted = any(o.state == "failed" for o in outcomes)
    where = ", ".join(t.value.replace("_", " ") for t in targets)
    if not paths and not said:
        measured = f"Deployment paths to {where}: none known for {label} in the probe catalogue"
    else:
        measured = f"Deployment paths to {where}, on this machine: " + " | ".join(said)
    return DeploymentEvidence(
        targets,
        outcomes,
        measured,
        tuple(caveats),
        confirmed and bool(reached),
        contradicted,
        tuple(summaries),
    )
