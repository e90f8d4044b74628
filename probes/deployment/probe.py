"""The worker's side of a deployment path: export here, run in the runtime's interpreter.

`deploy.<path>` (e.g. `deploy.onnx_dynamo`) exports both reference models with the framework's
exporter for that path (`probes.deployment.<framework>.PATHS`), checks the framework's own eager
output against the numpy reference, writes the artifact, the input and that eager output into a
temporary folder, and runs `probes.deployment.runtime` on them in the runtime's interpreter: the
advisor's own for ONNX Runtime and LiteRT (named in $ADVISOR_DEPLOY_PYTHONS, a JSON object
runtime -> interpreter, set by `advisor probe`), this one for the rest. An export that works and a
runtime that then fails is a failure, not a success.

One result per model (params path, model, batch=1), its `details.deploy_status` one of ok,
not_installed, export_failed, load_failed, run_failed, mismatch, timeout; the protocol status is
ok for ok, skipped for not_installed (an observation about this environment, not a fault), and
failed for the rest. The value is the steady median latency in ms, with p90 and a 95 % interval
for the median; this is runtime overhead at a tiny size, never a ranking of framework speed.
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from probes.deployment import models
from probes.deployment.export import Exported, Exporter, ReferenceMismatch, artifact_bytes
from probes.processes import kill_group, popen_options
from probes.timing import median_interval, percentile, summarise

PREFIX = "deploy."
PYTHONS_ENV = "ADVISOR_DEPLOY_PYTHONS"
TOLERANCE = 1e-4
"""largest absolute difference from the framework's eager output an fp32 artifact may show (the
facts measured up to 5e-7 on every working path)"""
RUN_TIMEOUT_S = 90.0
"""for the runtime step of one model (ExecuTorch's runtime imports torch: about 7 s)"""
BUSY_CPUS = 0.5
Result = dict[str, Any]


@dataclass(frozen=True)
class Budgets:
    warmup: int
    calls: int
    min_seconds: float


BUDGETS = {
    "tiny": Budgets(warmup=3, calls=10, min_seconds=0.02),
    "quick": Budgets(warmup=10, calls=50, min_seconds=0.2),
    "full": Budgets(warmup=20, calls=200, min_seconds=1.0),
}


def path_id(probe: str) -> str:
    return probe[len(PREFIX) :]


def exporters(framework: str) -> Mapping[str, Exporter]:
    """The framework's exporters by path id (importing its module imports the framework)."""
    module = importlib.import_module(f"probes.deployment.{framework}")
    paths: Mapping[str, Exporter] = module.PATHS
    return paths


def runtime_python(runtime: str, environ: Mapping[str, str] | None = None) -> str:
    """The interpreter that runs `runtime`: $ADVISOR_DEPLOY_PYTHONS's, else this one."""
    env = os.environ if environ is None else environ
    try:
        table = json.loads(env.get(PYTHONS_ENV) or "{}")
    except ValueError:
        table = {}
    chosen = table.get(runtime) if isinstance(table, dict) else None
    return str(chosen) if isinstance(chosen, str) and chosen else sys.executable


def _result(status: str, params: dict[str, Any], details: dict[str, Any], **fields: Any) -> Result:
    protocol = {"ok": "ok", "not_installed": "skipped"}.get(status, "failed")
    return {
        "status": protocol,
        "value": fields.get("value"),
        "unit": "ms" if protocol == "ok" else "",
        "higher_is_better": False,
        "params": params,
        "spread": fields.get("spread", {}),
        "details": {"deploy_status": status, **details},
        "error": fields.get("error"),
    }


def _run_runtime(
    jobs: Sequence[tuple[Exported, Path]], budget: Budgets, threads: int, root: Path
) -> list[dict[str, Any]]:
    """The runtime step for every (exported, folder) job of one runtime, in one process of the
    runtime's interpreter, killed (with what it started) on a timeout; one outcome per job."""
    runtime = jobs[0][0].runtime
    command = [runtime_python(runtime), "-m", "probes.deployment.runtime", "--runtime", runtime]
    for exported, folder in jobs:
        np.save(folder / "input.npy", np.ascontiguousarray(exported.x), allow_pickle=False)
        np.save(folder / "expected.npy", np.asarray(exported.eager), allow_pickle=False)
        command += [
            "--artifact", str(exported.artifact),
            "--input", str(folder / "input.npy"),
            "--expected", str(folder / "expected.npy"),
            "--result", str(folder / "result.json"),
        ]  # fmt: skip
    command += [
        "--tolerance", str(TOLERANCE),
        "--warmup", str(budget.warmup),
        "--calls", str(budget.calls),
        "--min-seconds", str(budget.min_seconds),
        "--threads", str(threads),
    ]  # fmt: skip
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    try:
        process = subprocess.Popen(  # type: ignore[call-overload]
            command,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            **popen_options(),
        )
    except OSError as error:
        failure = {"status": "not_installed", "error": f"cannot start {command[0]}: {error}"}
        return [failure for _ in jobs]
    timed_out = False
    try:
        _, err = process.communicate(timeout=RUN_TIMEOUT_S * len(jobs))
    except subprocess.TimeoutExpired:
        timed_out, err = True, ""
    finally:
        kill_group(process)
    outcomes = []
    for _, folder in jobs:
        try:
            outcomes.append(json.loads((folder / "result.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            if timed_out:
                limit = RUN_TIMEOUT_S * len(jobs)
                outcomes.append(
                    {"status": "timeout", "error": f"the runtime gave no result within {limit:g} s"}
                )
            else:
                tail = " ".join((err or "").split())[-300:]
                outcomes.append(
                    {
                        "status": "run_failed",
                        "error": f"the runtime step exited with code {process.returncode}: {tail}",
                    }
                )
    return outcomes


def _export_failure(error: BaseException) -> tuple[str, str]:
    text = " ".join(str(error).split()) or type(error).__name__
    message = f"{type(error).__name__}: {text}"[:500]
    if isinstance(error, ModuleNotFoundError) and error.name:
        package = error.name.split(".")[0].replace("_", "-")
        return "not_installed", f"{message} (install: pip install {package})"[:600]
    if isinstance(error, ImportError) and "install" in text.lower():
        return "not_installed", message  # the exporter's own message says what to install
    if isinstance(error, ImportError):
        return "env_conflict", message  # present, but it does not import beside the others
    return "export_failed", message


def _export(
    framework: str, path: str, model: str, seed: int, folder: Path, exporter: Exporter | None
) -> tuple[Exported | None, dict[str, Any], Result | None]:
    """Export one model: (exported, details so far, None) or (None, details, the failure)."""
    params: dict[str, Any] = {"path": path, "model": model, "batch": 1}
    details: dict[str, Any] = {"tolerance": TOLERANCE}
    started = time.perf_counter()
    try:
        export = exporter or exporters(framework).get(path)
        if export is None:
            error = f"{framework} has no deployment path {path!r}"
            return None, details, _result("export_failed", params, details, error=error)
        exported = export(model, seed, folder)
    except ReferenceMismatch as error:
        return (
            None,
            details,
            _result("export_failed", params, details, error=f"ReferenceMismatch: {error}"),
        )
    except Exception as error:
        status, message = _export_failure(error)
        return None, details, _result(status, params, details, error=message)
    details.update(exported.details)
    details["export_s"] = round(time.perf_counter() - started, 4)
    details["runtime"] = exported.runtime
    try:
        details["artifact_bytes"] = artifact_bytes(exported.artifact)
    except OSError as error:
        return (
            None,
            details,
            _result("export_failed", params, details, error=f"no artifact: {error}"),
        )
    return exported, details, None


def _judged(
    model: str, path: str, details: dict[str, Any], outcome: Mapping[str, Any], budget: Budgets
) -> Result:
    """The record of one model from what the runtime step said."""
    params: dict[str, Any] = {"path": path, "model": model, "batch": 1}
    status = str(outcome.get("status", "run_failed"))
    for key in (
        "runtime_version",
        "provider",
        "import_s",
        "load_s",
        "first_run_ms",
        "max_abs_diff",
    ):
        if key in outcome:
            details[key] = outcome[key]
    if status != "ok":
        return _result(status, params, details, error=str(outcome.get("error") or status)[:2000])
    samples = [float(s) for s in outcome.get("samples_ms", []) if isinstance(s, int | float)]
    if not samples:
        return _result("run_failed", params, details, error="the runtime step timed no calls")
    low, high = median_interval(samples)
    details.update(
        p90_ms=round(percentile(samples, 90), 6),
        ci95_low_ms=round(low, 6),
        ci95_high_ms=round(high, 6),
        parameters=_parameters(model),
        method=f"{budget.warmup} warm-up then at least {budget.calls} timed calls in the runtime's "
        "own interpreter; median, p90, distribution-free 95% interval for the median",
    )
    load = outcome.get("other_load")
    if isinstance(load, int | float):
        details["other_load_cpus"] = load
        if load > BUSY_CPUS:
            details["warning"] = (
                f"other processes kept {load:.1f} CPUs busy during the measurement; "
                "the latency is likely higher than on a quiet machine"
            )
    spread = summarise(samples)
    return _result(
        "ok",
        params,
        details,
        value=statistics.median(samples),
        spread={k: v for k, v in spread.items() if k != "median"},
    )


def measure_models(
    framework: str,
    path: str,
    names: Sequence[str] = models.MODELS,
    *,
    seed: int = 0,
    suite: str = "quick",
    threads: int = 1,
    exporter: Exporter | None = None,
) -> list[Result]:
    """One deployment path for each model: export all, then one runtime process runs, compares
    and times every artifact; one result per model, in order."""
    budget = BUDGETS.get(suite, BUDGETS["quick"])
    root = Path(__file__).resolve().parents[2]
    results: dict[str, Result] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="advisor-deploy-") as name:
        jobs: list[tuple[str, Exported, Path, dict[str, Any]]] = []
        for model in names:
            folder = Path(name) / model
            folder.mkdir()
            exported, details, failure = _export(framework, path, model, seed, folder, exporter)
            if failure is not None or exported is None:
                results[model] = failure or _result("export_failed", {}, details)
            else:
                jobs.append((model, exported, folder, details))
        by_runtime: dict[str, list[tuple[str, Exported, Path, dict[str, Any]]]] = {}
        for job in jobs:
            by_runtime.setdefault(job[1].runtime, []).append(job)
        for group in by_runtime.values():
            outcomes = _run_runtime([(e, f) for _, e, f, _ in group], budget, threads, root)
            for (model, _, _, details), outcome in zip(group, outcomes, strict=True):
                results[model] = _judged(model, path, details, outcome, budget)
    took = round(time.perf_counter() - started, 3)
    for result in results.values():
        result["details"]["path_s"] = took  # the whole path, every model: what it costs a run
    return [results[model] for model in names]


def measure_path(
    framework: str,
    path: str,
    model: str,
    *,
    seed: int = 0,
    suite: str = "quick",
    threads: int = 1,
    exporter: Exporter | None = None,
) -> Result:
    """One deployment path for one model (see `measure_models`)."""
    (result,) = measure_models(
        framework, path, (model,), seed=seed, suite=suite, threads=threads, exporter=exporter
    )
    return result


def _parameters(model: str) -> int:
    if model == "conv":
        return models.conv_net(0)[0].parameters()
    return models.dense_net(0)[0].parameters()


def run_path(
    framework: str, probe: str, *, seed: int, suite: str, threads: int
) -> Iterator[Result]:
    """Both reference models along one path (the worker's `deploy.<path>` probe)."""
    yield from measure_models(framework, path_id(probe), seed=seed, suite=suite, threads=threads)
