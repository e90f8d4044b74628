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
from collections.abc import Iterator, Mapping
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
    exported: Exported, folder: Path, budget: Budgets, threads: int, root: Path
) -> dict[str, Any]:
    """The runtime step in its interpreter, killed (with what it started) on a timeout."""
    np.save(folder / "input.npy", np.ascontiguousarray(exported.x), allow_pickle=False)
    np.save(folder / "expected.npy", np.asarray(exported.eager), allow_pickle=False)
    result_file = folder / "result.json"
    command = [
        runtime_python(exported.runtime),
        "-m",
        "probes.deployment.runtime",
        "--runtime", exported.runtime,
        "--artifact", str(exported.artifact),
        "--input", str(folder / "input.npy"),
        "--expected", str(folder / "expected.npy"),
        "--result", str(result_file),
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
        return {"status": "not_installed", "error": f"cannot start {command[0]}: {error}"}
    try:
        _, err = process.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        kill_group(process)
        return {
            "status": "timeout",
            "error": f"the runtime gave no result within {RUN_TIMEOUT_S:g} s",
        }
    finally:
        kill_group(process)
    try:
        found: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = " ".join((err or "").split())[-300:]
        return {
            "status": "run_failed",
            "error": f"the runtime step exited with code {process.returncode}: {tail}",
        }
    return found


def _export_failure(error: BaseException) -> tuple[str, str]:
    text = " ".join(str(error).split()) or type(error).__name__
    message = f"{type(error).__name__}: {text}"[:500]
    if isinstance(error, ModuleNotFoundError) or (
        isinstance(error, ImportError) and "install" in text.lower()
    ):
        return "not_installed", message  # a package the exporter needs is absent
    if isinstance(error, ImportError):
        return "env_conflict", message  # present, but it does not import beside the others
    return "export_failed", message


def measure_path(
    framework: str,
    path: str,
    model: str,
    *,
    seed: int = 0,
    suite: str = "quick",
    threads: int = 1,
    exporter: Exporter | None = None,
    extra_params: Mapping[str, Any] | None = None,
) -> Result:
    """One deployment path for one model: export, hand over, run, compare, time."""
    params: dict[str, Any] = {**(extra_params or {}), "path": path, "model": model, "batch": 1}
    budget = BUDGETS.get(suite, BUDGETS["quick"])
    root = Path(__file__).resolve().parents[2]
    details: dict[str, Any] = {"tolerance": TOLERANCE}
    with tempfile.TemporaryDirectory(prefix="advisor-deploy-") as name:
        folder = Path(name)
        started = time.perf_counter()
        try:
            export = exporter or exporters(framework)[path]
            exported = export(model, seed, folder)
        except KeyError:
            return _result(
                "export_failed",
                params,
                details,
                error=f"{framework} has no deployment path {path!r}",
            )
        except ReferenceMismatch as error:
            return _result("export_failed", params, details, error=f"ReferenceMismatch: {error}")
        except Exception as error:
            status, message = _export_failure(error)
            return _result(status, params, details, error=message)
        details.update(exported.details)
        details["export_s"] = round(time.perf_counter() - started, 4)
        details["runtime"] = exported.runtime
        try:
            details["artifact_bytes"] = artifact_bytes(exported.artifact)
        except OSError as error:
            return _result("export_failed", params, details, error=f"no artifact: {error}")
        outcome = _run_runtime(exported, folder, budget, threads, root)
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


def _parameters(model: str) -> int:
    if model == "conv":
        return models.conv_net(0)[0].parameters()
    return models.dense_net(0)[0].parameters()


def run_path(
    framework: str,
    probe: str,
    *,
    seed: int,
    suite: str,
    threads: int,
    extra_params: Mapping[str, Any] | None = None,
) -> Iterator[Result]:
    """Both reference models along one path (the worker's `deploy.<path>` probe)."""
    for model in models.MODELS:
        yield measure_path(
            framework,
            path_id(probe),
            model,
            seed=seed,
            suite=suite,
            threads=threads,
            extra_params=extra_params,
        )
