"""`python -m probes.deployment.runtime`: load an exported model in its runtime, run it, time it.

The second half of a deployment path, in the interpreter that holds the runtime (ONNX Runtime and
LiteRT in the advisor's own environment; ExecuTorch, a SavedModel and a serialised jax.export
in the exporting one). It gets the artifact, the input and the framework's own eager output as
files, so it proves that the artifact alone reproduces the model in a fresh process, and writes
one JSON object to `--result` (not stdout: runtimes print banners there).

Stages and what their failure is called (the vocabulary of the deployment facts):
`not_installed` (the runtime does not import), `load_failed`, `run_failed` (the first call),
`mismatch` (ran, but the largest absolute difference from the eager output exceeds
`--tolerance`), else `ok` with the first call and the steady latency (warm-up, then at least
`--calls` timed calls and at least `--min-seconds`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from probes.timing import Budget, measure

Runner = Callable[[np.ndarray], np.ndarray]


class StageError(Exception):
    """A stage of the run failed; `status` says which."""

    def __init__(self, status: str, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else _one_line(error)
        super().__init__(text)
        self.status = status


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "unknown"


# -- one loader per runtime: (runner, facts about it) -------------------------------------------
def _onnxruntime(artifact: Path, threads: int) -> tuple[Runner, dict[str, Any]]:
    ort = importlib.import_module("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        str(artifact), sess_options=options, providers=["CPUExecutionProvider"]
    )
    name = session.get_inputs()[0].name

    def run(x: np.ndarray) -> np.ndarray:
        return np.asarray(session.run(None, {name: x})[0])

    return run, {
        "runtime_version": ort.__version__,
        "provider": ",".join(session.get_providers()),
    }


def _litert(artifact: Path, threads: int) -> tuple[Runner, dict[str, Any]]:
    interpreter_module = importlib.import_module("ai_edge_litert.interpreter")
    interpreter = interpreter_module.Interpreter(model_path=str(artifact), num_threads=threads)
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]["index"]

    def run(x: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(source, x)
        interpreter.invoke()
        return np.asarray(interpreter.get_tensor(target))

    return run, {
        "runtime_version": _version("ai-edge-litert"),
        "provider": "CPU, default delegate (XNNPACK)",
    }


def _executorch(artifact: Path, threads: int) -> tuple[Runner, dict[str, Any]]:
    torch = importlib.import_module("torch")
    torch.set_num_threads(threads)
    runtime = importlib.import_module("executorch.runtime").Runtime.get()
    method = runtime.load_program(str(artifact)).load_method("forward")

    def run(x: np.ndarray) -> np.ndarray:
        return np.asarray(method.execute([torch.from_numpy(x)])[0].numpy())

    return run, {"runtime_version": _version("executorch"), "provider": "executorch.runtime"}


def _tf_saved_model(artifact: Path, threads: int) -> tuple[Runner, dict[str, Any]]:
    tf = importlib.import_module("tensorflow")
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    loaded = tf.saved_model.load(str(artifact))  # kept: its variables live as long as it does

    def run(x: np.ndarray) -> np.ndarray:
        return np.asarray(loaded.serve(tf.constant(x)).numpy())

    return run, {"runtime_version": tf.__version__, "provider": "tf.saved_model.load"}


def _jax_export(artifact: Path, threads: int) -> tuple[Runner, dict[str, Any]]:
    jax = importlib.import_module("jax")
    export = importlib.import_module("jax.export")
    exported = export.deserialize(bytearray(artifact.read_bytes()))
    call = jax.jit(exported.call)  # as a JAX program calls it: one compiled dispatch per call

    def run(x: np.ndarray) -> np.ndarray:
        return np.asarray(jax.block_until_ready(call(x)))

    return run, {"runtime_version": jax.__version__, "provider": "jax.export.deserialize"}


RUNTIMES: dict[str, Callable[[Path, int], tuple[Runner, dict[str, Any]]]] = {
    "onnxruntime": _onnxruntime,
    "litert": _litert,
    "executorch": _executorch,
    "tf_saved_model": _tf_saved_model,
    "jax_export": _jax_export,
}
PACKAGES = {
    "onnxruntime": "onnxruntime",
    "litert": "ai_edge_litert",
    "executorch": "executorch",
    "tf_saved_model": "tensorflow",
    "jax_export": "jax",
}
"""the package each runtime imports, for a not_installed verdict"""
DISTRIBUTIONS = {
    "onnxruntime": "onnxruntime",
    "litert": "ai-edge-litert",
    "executorch": "executorch",
    "tf_saved_model": "tensorflow",
    "jax_export": "jax",
}
"""what to pip install for each runtime"""


def run_artifact(
    runtime: str,
    artifact: Path,
    x: np.ndarray,
    expected: np.ndarray,
    *,
    tolerance: float,
    budget: Budget,
    threads: int = 1,
) -> dict[str, Any]:
    """Load, run once, compare, then time: the result as a JSON-ready dict (never raises)."""
    result: dict[str, Any] = {"runtime": runtime, "status": "ok"}
    try:
        started = time.perf_counter()
        try:
            load = RUNTIMES[runtime]
        except KeyError:
            raise StageError("load_failed", f"unknown runtime {runtime!r}") from None
        try:
            importlib.import_module(PACKAGES[runtime])
        except ImportError as error:
            hint = f" (install: pip install {DISTRIBUTIONS[runtime]})"
            raise StageError("not_installed", f"{_one_line(error)}{hint}") from None
        result["import_s"] = round(time.perf_counter() - started, 4)
        started = time.perf_counter()
        try:
            run, facts = load(artifact, threads)
        except Exception as error:
            raise StageError("load_failed", error) from None
        result.update(facts, load_s=round(time.perf_counter() - started, 4))
        started = time.perf_counter()
        try:
            output = run(x)
        except Exception as error:
            raise StageError("run_failed", error) from None
        result["first_run_ms"] = round((time.perf_counter() - started) * 1e3, 4)
        output = np.asarray(output, dtype=np.float64)
        if output.shape != expected.shape:
            raise StageError(
                "mismatch", f"output shape {output.shape}, the framework's {expected.shape}"
            )
        diff = float(np.max(np.abs(output - expected.astype(np.float64))))
        result["max_abs_diff"] = diff
        if not diff <= tolerance:  # also catches NaN
            raise StageError(
                "mismatch", f"max abs difference {diff:.3g} exceeds the tolerance {tolerance:g}"
            )
        timed = measure(lambda: run(x), lambda _: None, budget)
        result["samples_ms"] = [round(s * 1e3, 6) for s in timed.samples]
        result["other_load"] = timed.other_load
    except StageError as error:
        result["status"] = error.status
        result["error"] = str(error)
    return result


def main(argv: list[str] | None = None) -> int:
    """Each job (an --artifact with its --input, --expected and --result, in order) in turn, one
    runtime import for all; each result file is written as soon as its job is done."""
    parser = argparse.ArgumentParser(
        prog="python -m probes.deployment.runtime", description=__doc__
    )
    parser.add_argument("--runtime", required=True, choices=sorted(RUNTIMES))
    for name in ("--artifact", "--input", "--expected", "--result"):
        parser.add_argument(name, required=True, type=Path, action="append")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--min-seconds", type=float, default=0.2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    jobs = list(zip(args.artifact, args.input, args.expected, args.result, strict=False))
    if len({len(args.artifact), len(args.input), len(args.expected), len(args.result)}) != 1:
        parser.error("give one --input, --expected and --result per --artifact")
    budget = Budget(warmup=args.warmup, min_repeats=args.calls, min_seconds=args.min_seconds)
    for artifact, given, expected, result_file in jobs:
        result = run_artifact(
            args.runtime,
            artifact,
            np.load(given, allow_pickle=False),
            np.load(expected, allow_pickle=False),
            tolerance=args.tolerance,
            budget=budget,
            threads=args.threads,
        )
        result_file.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
