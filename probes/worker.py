"""`python -m probes.worker`: one framework's probes in this process, reported as JSON lines.

Started by `probes.runner`, one process per framework, in that framework's own interpreter; it may
import only the standard library, numpy and the framework (the MXNet environment has nothing
else). Every compute probe first checks the framework's result against the numpy reference and is
timed only if it matches. A probe that raises becomes a `failed` result and the next one runs.
Exit codes: 0 done, 2 bad arguments, 3 the framework cannot be imported or set up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from probes import collectives, overhead
from probes import reference as ref
from probes import transformer as tr
from probes.catalogue import GPU_BLOCKS, LEARNING_RATE, Sizes, suite_probes, suite_sizes
from probes.fingerprint import machine_fingerprint
from probes.frameworks import available_backends, load_backend
from probes.frameworks.base import Backend, Capability, Prepared, try_capability
from probes.protocol import Channel
from probes.timing import Budget, Timed, measure, percentile, summarise

EXIT_IMPORT = 3
BUSY_CPUS = 0.5
"""Other processes using more than this many CPUs during a measurement earn the figure a warning."""
Result = dict[str, Any]


class Mismatch(RuntimeError):
    """The framework computed something other than the reference: not timed."""


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]


@dataclass
class Context:
    backend: Backend
    sizes: Sizes
    seed: int
    import_seconds: float
    suite: str = "quick"
    threads: int = 1
    _capabilities: dict[str, Capability] | None = field(default=None, repr=False)
    compiled: Capability | None = None
    """How mlp_train's compiled mode went: capability.compile reports that rather than the API's
    mere presence (torch.compile exists everywhere but needs a working C compiler)."""
    pairs: dict[str, tuple[overhead.PairTimed, dict[str, Any]]] = field(default_factory=dict)
    """A front-end's paired timings per model ("mlp", "conv"), for its overhead probe."""

    @property
    def budget(self) -> Budget:
        return self.sizes.budget

    collective: Capability | None = None
    """How the all-reduce probe went, when it ran: capability.distributed reports it rather
    than launching a second job."""
    processes: int = 2
    """ranks of the all-reduce job"""

    def capabilities(self) -> dict[str, Capability]:
        if self._capabilities is None:
            self._capabilities = self.backend.capabilities()
            if self.compiled is not None:
                self._capabilities["compile"] = self.compiled
            self._capabilities["distributed"] = self.collective or _distributed(self)
        return self._capabilities


def _distributed(c: Context) -> Capability:
    """A real all-reduce over 2 fresh processes (a small one, checked)."""
    job = c.backend.collective
    if job is None:
        return Capability(False, f"{c.backend.name} has no collective layer in this build")
    return try_capability(
        lambda: collectives.check_all_reduce(job.script, helpers=job.helpers),
        f"{job.what} over 2 processes",
    )


def ok(
    value: float,
    unit: str,
    params: dict[str, Any],
    *,
    figures: list[float] | None = None,
    timed: Timed | None = None,
    higher_is_better: bool = True,
    **details: Any,
) -> Result:
    spread = summarise(figures) if figures else {"repeats": 1}
    if timed is not None and timed.other_load is not None:
        details["other_load_cpus"] = timed.other_load
        if timed.other_load > BUSY_CPUS:
            details["warning"] = (
                f"other processes kept {timed.other_load:.1f} CPUs busy during the measurement; "
                "the figure is likely lower than on a quiet machine"
            )
    return {
        "status": "ok",
        "value": value,
        "unit": unit,
        "higher_is_better": higher_is_better,
        "params": params,
        "spread": spread,
        "details": details,
        "error": None,
    }


def measured(
    figures: list[float],
    unit: str,
    params: dict[str, Any],
    timed: Timed,
    *,
    higher_is_better: bool = True,
    **details: Any,
) -> Result:
    """An ok result whose figure is the median of the per-repeat figures."""
    return ok(
        percentile(figures, 50),
        unit,
        params,
        figures=figures,
        timed=timed,
        higher_is_better=higher_is_better,
        **details,
    )


def check(actual: np.ndarray | float, expected: np.ndarray | float, tolerance: float) -> float:
    """Max relative error against the reference; raises Mismatch beyond tolerance."""
    error = ref.max_rel_error(np.asarray(actual), np.asarray(expected))
    if not error <= tolerance:  # also catches NaN
        raise Mismatch(
            f"result differs from the numpy reference: max relative error {error:.2e} "
            f"> {tolerance:.0e}"
        )
    return error


def _rates(samples: list[float], work: float) -> list[float]:
    return [work / s for s in samples if s > 0]


# -- compute probes -------------------------------------------------------------------------------
def probe_matmul(c: Context) -> Iterator[Result]:
    dtypes = ["float32"] + (["float16", "bfloat16"] if c.backend.device == "cuda" else [])
    for n in c.sizes.matmul:
        a, b = ref.matmul_inputs(c.seed, n)
        expected = a.astype(np.float64) @ b
        for dtype in dtypes:
            params = {"n": n, "dtype": dtype}
            try:
                job = c.backend.matmul(a, b, dtype)
                tolerance = ref.FP32_TOLERANCE if dtype == "float32" else ref.FP16_TOLERANCE
                error = check(job.fetch(job.run()), expected, tolerance)
                timed = measure(job.run, c.backend.sync, c.budget)
                figures = [f / 1e9 for f in _rates(timed.samples, 2.0 * n**3)]
                yield measured(
                    figures,
                    "GFLOP/s",
                    params,
                    timed,
                    max_rel_error=error,
                    checksum=ref.checksum(expected),
                    **job.details,
                )
            except Exception as error:
                yield failed(error, params)


def probe_mlp_train(c: Context) -> Iterator[Result]:
    batch, d_in, hidden, d_out = c.sizes.mlp
    weights, x, y = ref.mlp_problem(c.seed, batch, d_in, hidden, d_out)
    before, after = ref.mlp_losses_over_two_steps(weights, x, y, LEARNING_RATE)
    modes = getattr(c.backend, "mlp_modes", {}).get(c.suite, ("eager", "compiled"))
    for mode in modes:
        params = {
            "batch": batch,
            "inputs": d_in,
            "hidden": hidden,
            "outputs": d_out,
            "dtype": "float32",
            "mode": mode,
        }
        try:
            started = time.perf_counter()
            job = c.backend.mlp_train(weights, x, y, LEARNING_RATE, mode)
            first = float(job.fetch(job.run()))
            first_call_s = time.perf_counter() - started
            second = float(job.fetch(job.run()))
            error = max(
                check(first, before, ref.FP32_TOLERANCE), check(second, after, ref.FP32_TOLERANCE)
            )
            timed = measure(job.run, c.backend.sync, c.budget)
            figures = _rates(timed.samples, 1.0)
            if mode == "compiled":
                c.compiled = Capability(
                    True,
                    f"{job.details.get('execution', mode)} matches the reference training step "
                    f"(first call {first_call_s:.1f} s)",
                )
            yield measured(
                figures,
                "steps/s",
                params,
                timed,
                first_call_s=round(first_call_s, 4),
                loss_before=first,
                loss_after=second,
                max_rel_error=error,
                **job.details,
            )
        except Exception as error:
            if mode == "compiled":
                c.compiled = Capability(False, f"compiled mode failed: {one_line(error)}")
            yield failed(error, params)


def probe_conv_train_step(c: Context) -> Iterator[Result]:
    batch, channels, size = c.sizes.conv
    block, x, y = ref.conv_problem(c.seed, batch, channels, size)
    params = {"batch": batch, "channels": channels, "size": size, "kernel": 3, "dtype": "float32"}
    before = ref.mse(ref.conv_forward(block, x), y)
    after = ref.mse(ref.conv_forward(ref.conv_sgd_step(block, x, y, LEARNING_RATE), x), y)
    job = c.backend.conv_train(block, x, y, LEARNING_RATE)
    first = float(job.fetch(job.run()))
    second = float(job.fetch(job.run()))
    error = max(check(first, before, ref.FP32_TOLERANCE), check(second, after, ref.FP32_TOLERANCE))
    timed = measure(job.run, c.backend.sync, c.budget)
    figures = _rates(timed.samples, float(batch))
    yield measured(
        figures,
        "images/s",
        params,
        timed,
        loss_before=first,
        loss_after_step=second,
        max_rel_error=error,
        **job.details,
    )


def probe_lstm_forward(c: Context) -> Iterator[Result]:
    batch, steps, inputs, hidden = c.sizes.lstm
    weights, x = ref.lstm_problem(c.seed, batch, steps, inputs, hidden)
    params = {
        "batch": batch,
        "steps": steps,
        "inputs": inputs,
        "hidden": hidden,
        "dtype": "float32",
    }
    job = c.backend.lstm_forward(weights, x)
    expected = ref.lstm_last_hidden(weights, x)
    error = check(job.fetch(job.run()), expected, ref.FP32_TOLERANCE)
    timed = measure(job.run, c.backend.sync, c.budget)
    figures = _rates(timed.samples, float(batch))
    yield measured(
        figures,
        "sequences/s",
        params,
        timed,
        max_rel_error=error,
        checksum=ref.checksum(expected),
        **job.details,
    )


def probe_inference_latency(c: Context) -> Iterator[Result]:
    _, d_in, hidden, d_out = c.sizes.mlp
    weights, x, _ = ref.mlp_problem(c.seed, 1, d_in, hidden, d_out)
    params = {
        "batch": 1,
        "inputs": d_in,
        "hidden": hidden,
        "outputs": d_out,
        "dtype": "float32",
        "mode": "eager",
    }
    job = c.backend.mlp_forward(weights, x)
    error = check(job.fetch(job.run()), ref.mlp_forward(weights, x), ref.FP32_TOLERANCE)
    budget = Budget(
        warmup=5,
        min_repeats=c.sizes.latency_calls,
        min_seconds=0.0,
        max_repeats=c.sizes.latency_calls,
    )
    timed = measure(job.run, c.backend.sync, budget)
    figures = [s * 1e3 for s in timed.samples]
    yield measured(
        figures,
        "ms",
        params,
        timed,
        higher_is_better=False,
        p95_ms=percentile(figures, 95),
        max_rel_error=error,
        **job.details,
    )


def probe_dispatch_overhead(c: Context) -> Iterator[Result]:
    ops = c.sizes.dispatch_ops
    x = np.zeros(16, dtype=np.float32)
    params = {"elements": 16, "ops": ops, "dtype": "float32", "mode": "eager"}
    job = c.backend.add_chain(x, ops)
    check(job.fetch(job.run()), x + ops, ref.FP32_TOLERANCE)
    timed = measure(job.run, c.backend.sync, c.budget)
    figures = [s / ops * 1e6 for s in timed.samples]
    yield measured(
        figures,
        "µs/op",
        params,
        timed,
        higher_is_better=False,
        **job.details,
    )


def _transformer_mode(
    c: Context, shape: tr.BlockShape, mode: str, references: dict[str, Any]
) -> Iterator[Result]:
    """Forward and AdamW step of one block in one mode: each checked against the float64
    reference (output; loss before and after the step and every updated weight), then timed;
    then the first calls as their own figure. `references` keeps the float64 results for the
    next mode of the same shape."""
    block, x, target = tr.problem(c.seed, shape)
    base = {**shape.params(), "mode": mode}
    first_calls: dict[str, tuple[float, dict[str, Any]]] = {}
    for kind in c.sizes.transformer_passes:
        params = {**base, "pass": kind}
        try:
            started = time.perf_counter()
            job = c.backend.transformer(block, x, None if kind == "forward" else target, mode)
            first = job.run()
            c.backend.sync(first)
            first_calls[kind] = (time.perf_counter() - started, dict(job.details))
            if kind == "forward":
                if "forward" not in references:
                    references["forward"] = tr.forward(block, x)
                checks = {
                    "max_rel_error": check(
                        job.fetch(first), references["forward"], tr.FORWARD_TOLERANCE
                    )
                }
                flops = tr.forward_flops(shape)
            else:
                if "train" not in references:
                    references["train"] = _step_reference(block, x, target)
                checks = _check_transformer_step(job, references["train"], float(job.fetch(first)))
                flops = tr.train_flops(shape)
            timed = measure(job.run, c.backend.sync, c.sizes.transformer_budget)
            figures = [s * 1e3 for s in timed.samples]
            yield measured(
                figures,
                "ms",
                params,
                timed,
                higher_is_better=False,
                gflop_per_s=float(f"{flops / 1e9 / (percentile(figures, 50) / 1e3):.4g}"),
                gflop=round(flops / 1e9, 4),
                **checks,
                **job.details,
            )
        except Exception as error:
            yield failed(error, params)
    for kind, (seconds, details) in first_calls.items():
        yield ok(
            round(seconds, 4),
            "s",
            {**base, "pass": kind, "figure": "first_call"},
            higher_is_better=False,
            note="preparing the block and its first call (tracing and compilation included)",
            **details,
        )


@dataclass(frozen=True)
class StepReference:
    """One AdamW step of the block in float64: computed once per shape, checked against every
    mode and implementation (it costs more than a quick suite's timed steps)."""

    grads: dict[str, np.ndarray]
    expected: tr.Block
    loss_before: float
    loss_after: float


def _step_reference(block: tr.Block, x: np.ndarray, target: np.ndarray) -> StepReference:
    loss_before, grads = tr.loss_and_gradients(block, x, target)
    expected = tr.adamw_step(block, grads)
    return StepReference(grads, expected, loss_before, tr.loss(expected, x, target))


def _check_transformer_step(
    job: Prepared, reference: StepReference, loss_before: float
) -> dict[str, float]:
    """The step's loss, its updated weights, and the loss they give, against the reference."""
    if job.state is None:
        raise RuntimeError("the training step does not expose its weights")
    error = check(loss_before, reference.loss_before, tr.LOSS_TOLERANCE)
    missed = tr.update_mismatch(reference.expected, reference.grads, job.state())
    if not missed <= tr.UPDATE_MISMATCH_SHARE:
        raise Mismatch(
            f"one AdamW step differs from the reference's: {missed:.2%} of the weights moved "
            f"by more than {tr.UPDATE_TOLERANCE:.0%} of the learning rate away from it"
        )
    loss_after = float(job.fetch(job.run()))
    error = max(error, check(loss_after, reference.loss_after, tr.LOSS_TOLERANCE))
    return {"max_rel_error": error, "update_mismatch_share": missed, "loss_after_step": loss_after}


def probe_transformer(c: Context) -> Iterator[Result]:
    shapes = GPU_BLOCKS if c.backend.device == "cuda" else c.sizes.transformer
    modes = c.backend.transformer_modes.get(c.suite, c.backend.transformer_modes["quick"])
    for shape in shapes:
        references: dict[str, Any] = {}
        for mode in modes:
            yield from _transformer_mode(c, shape, mode, references)


def probe_allreduce(c: Context) -> Iterator[Result]:
    """Time per all-reduce, algbw and busbw per message size, through the framework's own
    collective layer across `c.processes` local processes; a wrong sum fails the size."""
    job = c.backend.collective
    if job is None:
        raise RuntimeError(f"{c.backend.name} has no collective layer in this build")
    warmup, iterations = c.sizes.allreduce_iterations
    sizes = c.sizes.allreduce_bytes
    started = time.perf_counter()
    try:
        results = collectives.all_reduce(
            job.script, sizes, warmup, iterations, c.processes, job.helpers
        )
    except Exception as error:
        c.collective = Capability(False, f"{job.what} failed: {one_line(error)}")
        raise
    wall_s = time.perf_counter() - started
    correct = all(r.max_error == 0 for r in results)
    c.collective = Capability(
        correct,
        f"{job.what} over {c.processes} processes: "
        + ("correct sums" if correct else "wrong sums"),
    )
    for result in results:
        params = {"bytes": result.nbytes, "processes": c.processes, "dtype": "float32"}
        if result.max_error != 0:
            yield failed(
                Mismatch(f"the all-reduce is off by {result.max_error:g} from the exact sum"),
                params,
            )
            continue
        timed = Timed(result.seconds, None)
        micros = [s * 1e6 for s in result.seconds]
        median_s = percentile(result.seconds, 50)
        algbw = result.nbytes / median_s / 1e9
        yield measured(
            micros,
            "µs",
            params,
            timed,
            higher_is_better=False,
            algbw_gb_s=round(algbw, 4),
            busbw_gb_s=round(collectives.bus_bandwidth(algbw, c.processes), 4),
            transport=job.what,
            job_wall_s=round(wall_s, 3),
            correct=True,
            scope="one machine: the collective layer's overhead, not multi-node scaling",
        )


def probe_import_time(c: Context) -> Iterator[Result]:
    yield ok(
        round(c.import_seconds, 4),
        "s",
        {},
        higher_is_better=False,
        note="import and set-up in a fresh interpreter (disk cache as found)",
    )


def _status_kib(key: str) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def probe_train_peak_memory(c: Context) -> Iterator[Result]:
    """Peak memory of conv training steps: allocator peak on GPU, RSS high-water mark on CPU.

    On Linux, writing 5 to /proc/self/clear_refs resets the high-water mark, so the figure is
    this step's peak and not an earlier probe's.
    """
    _, channels, size = c.sizes.conv
    batch = c.sizes.memory_batch
    block, x, y = ref.conv_problem(c.seed, batch, channels, size)
    params = {"batch": batch, "channels": channels, "size": size, "dtype": "float32"}
    job = c.backend.conv_train(block, x, y, LEARNING_RATE)
    if c.backend.gpu_peak_bytes(reset=True) is not None:
        for _ in range(2):
            c.backend.sync(job.run())
        allocated = c.backend.gpu_peak_bytes(reset=False) or 0
        yield ok(
            allocated / 2**20, "MB", params, higher_is_better=False, method="GPU allocator peak"
        )
        return
    baseline: int | None = _status_kib("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")
        method = "VmHWM after reset - VmRSS before"
    except OSError:
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        method = "ru_maxrss growth (high-water mark could not be reset)"
    for _ in range(2):
        c.backend.sync(job.run())
    peak: int | None = (
        _status_kib("VmHWM")
        if method.startswith("VmHWM")
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    )
    if peak is None or baseline is None:
        raise RuntimeError("this OS reports no resident-set figures")
    yield ok(max(peak - baseline, 0) / 1024, "MB", params, higher_is_better=False, method=method)


def _capability(name: str) -> Callable[[Context], Iterator[Result]]:
    def probe(c: Context) -> Iterator[Result]:
        found = c.capabilities().get(name)
        if found is None:
            raise RuntimeError(f"{c.backend.name} does not report {name}")
        result = ok(1.0 if found.present else 0.0, "bool", {}, detail=found.detail)
        if found.unknown:  # the probe could not tell: 0 then means "not known", not "absent"
            result["details"]["unknown"] = True
        yield result

    return probe


PROBES: dict[str, Callable[[Context], Iterator[Result]]] = {
    "import_time": probe_import_time,
    "train_peak_memory": probe_train_peak_memory,
    "matmul": probe_matmul,
    "conv_train_step": probe_conv_train_step,
    "mlp_train": probe_mlp_train,
    "lstm_forward": probe_lstm_forward,
    "inference_latency": probe_inference_latency,
    "dispatch_overhead": probe_dispatch_overhead,
    "transformer": probe_transformer,
    "allreduce": probe_allreduce,
    **{
        f"capability.{name}": _capability(name)
        for name in ("gpu", "distributed", "mixed_precision", "onnx_export", "compile")
    },
}


# -- a front-end (Keras) against its backend's native step -----------------------------------------
def _frontend_pair(c: Context, model: str) -> Iterator[Result]:
    """The front-end's step and the native one, both checked against the reference, then timed
    in alternating rounds; yields the two figures (params implementation=keras / native)."""
    backend: Any = c.backend
    lr = LEARNING_RATE
    if model == "mlp":
        batch, d_in, hidden, d_out = c.sizes.mlp
        weights, x, y = ref.mlp_problem(c.seed, batch, d_in, hidden, d_out)
        before, after = ref.mlp_losses_over_two_steps(weights, x, y, lr)
        shapes: dict[str, Any] = {
            "batch": batch,
            "inputs": d_in,
            "hidden": hidden,
            "outputs": d_out,
        }
        keras_job, native_job = backend.mlp_pair(weights, x, y, lr)
        unit, work = "steps/s", 1.0
    else:
        batch, channels, size = c.sizes.conv
        block, x, y = ref.conv_problem(c.seed, batch, channels, size)
        before = ref.mse(ref.conv_forward(block, x), y)
        after = ref.mse(ref.conv_forward(ref.conv_sgd_step(block, x, y, lr), x), y)
        shapes = {"batch": batch, "channels": channels, "size": size, "kernel": 3}
        keras_job, native_job = backend.conv_pair(block, x, y, lr)
        unit, work = "images/s", float(batch)
    params = {"backend": backend.backend, **shapes, "dtype": "float32"}
    checked: dict[str, dict[str, Any]] = {}
    for label, job in (("keras", keras_job), ("native", native_job)):
        started = time.perf_counter()
        first = float(job.fetch(job.run()))
        first_call_s = time.perf_counter() - started
        second = float(job.fetch(job.run()))
        error = max(
            check(first, before, ref.FP32_TOLERANCE), check(second, after, ref.FP32_TOLERANCE)
        )
        checked[label] = {
            "first_call_s": round(first_call_s, 4),
            "loss_before": first,
            "loss_after": second,
            "max_rel_error": error,
        }
    yield from _timed_pair(
        c,
        model,
        (keras_job, native_job),
        checked,
        params,
        shapes,
        lambda s: _rates(s, work),
        unit,
        higher_is_better=True,
    )


def _timed_pair(
    c: Context,
    model: str,
    jobs: tuple[Prepared, Prepared],
    checked: dict[str, dict[str, Any]],
    params: dict[str, Any],
    shapes: dict[str, Any],
    figures: Callable[[list[float]], list[float]],
    unit: str,
    *,
    higher_is_better: bool,
    budget: Budget | None = None,
    **extra: Any,
) -> Iterator[Result]:
    """Time two checked jobs (Keras, native) in alternating rounds; keep the rounds for
    keras_overhead and yield one figure per implementation."""
    keras_job, native_job = jobs
    paired = overhead.measure_pair(
        keras_job.run, native_job.run, c.backend.sync, budget or c.budget
    )
    timed = Timed([], paired.other_load)
    executions = {"keras": keras_job.details, "native": native_job.details}
    c.pairs[model] = (paired, {"shapes": shapes, "executions": executions})
    for label, samples in (("keras", paired.first), ("native", paired.second)):
        yield measured(
            figures(samples),
            unit,
            {**params, "implementation": label},
            timed,
            higher_is_better=higher_is_better,
            rounds=len(samples),
            steps_per_round=paired.steps_per_round,
            timing="alternating rounds with the other implementation, in one process",
            **checked[label],
            **executions[label],
            **extra,
        )


def probe_frontend_transformer(c: Context) -> Iterator[Result]:
    """The suite's first transformer block as Keras layers trained by train_on_batch with
    Keras's AdamW, against the native block's step: both checked like the native probe's
    (loss before and after one step, every updated weight), then timed in alternating rounds."""
    backend: Any = c.backend
    shape = c.sizes.transformer[0]
    block, x, target = tr.problem(c.seed, shape)
    reference = _step_reference(block, x, target)
    jobs = backend.transformer_pair(block, x, target)
    checked: dict[str, dict[str, Any]] = {}
    for label, job in zip(("keras", "native"), jobs, strict=True):
        started = time.perf_counter()
        first = job.run()
        c.backend.sync(first)
        first_call_s = time.perf_counter() - started
        checked[label] = {
            "first_call_s": round(first_call_s, 4),
            **_check_transformer_step(job, reference, float(job.fetch(first))),
        }
    params = {"backend": backend.backend, **shape.params(), "pass": "train"}
    yield from _timed_pair(
        c,
        "transformer",
        jobs,
        checked,
        params,
        shape.params(),
        lambda samples: [s * 1e3 for s in samples],
        "ms",
        higher_is_better=False,
        budget=c.sizes.transformer_pair_budget or c.sizes.transformer_budget,
        gflop=round(tr.train_flops(shape) / 1e9, 4),
    )


def probe_frontend_mlp(c: Context) -> Iterator[Result]:
    yield from _frontend_pair(c, "mlp")


def probe_frontend_conv(c: Context) -> Iterator[Result]:
    yield from _frontend_pair(c, "conv")


def probe_keras_overhead(c: Context) -> Iterator[Result]:
    """Front-end over native per-step time, per model, from the paired rounds timed above."""
    backend: Any = c.backend
    for model in ("mlp", "conv", "transformer"):
        params = {"backend": backend.backend, "model": model}
        found = c.pairs.get(model)
        if found is None:
            source = {"mlp": "mlp_train", "conv": "conv_train_step"}.get(model, model)
            yield failed(RuntimeError(f"{source} gave no paired timings to compare"), params)
            continue
        paired, about = found
        ratios = [a / b for a, b in zip(paired.first, paired.second, strict=True) if b > 0]
        low, high = overhead.bootstrap_interval(paired.first, paired.second, seed=c.seed)
        keras_s = statistics.median(paired.first)
        native_s = statistics.median(paired.second)
        yield ok(
            keras_s / native_s,
            "x",
            params,
            figures=ratios,
            timed=Timed([], paired.other_load),
            higher_is_better=False,
            method=(
                "ratio of the median per-step times (keras / native) over alternating rounds in "
                f"one process; interval: paired bootstrap over rounds, {overhead.INTERVAL:.0%}"
            ),
            interval_low=round(low, 4),
            interval_high=round(high, 4),
            keras_ms=round(keras_s * 1e3, 4),
            native_ms=round(native_s * 1e3, 4),
            rounds=len(paired.first),
            steps_per_round=paired.steps_per_round,
            keras_execution=about["executions"]["keras"].get("execution", ""),
            native_execution=about["executions"]["native"].get("execution", ""),
            shapes=about["shapes"],
        )


FRONTEND_PROBES: dict[str, Callable[[Context], Iterator[Result]]] = {
    "import_time": probe_import_time,
    "mlp_train": probe_frontend_mlp,
    "conv_train_step": probe_frontend_conv,
    "transformer": probe_frontend_transformer,
    "keras_overhead": probe_keras_overhead,
}
"""What a front-end's worker runs (its backend says `frontend = True`): its training steps next to
the native ones, then the overhead ratios."""


def failed(error: BaseException, params: dict[str, Any] | None = None) -> Result:
    return {
        "status": "failed",
        "value": None,
        "unit": "",
        "params": params or {},
        "spread": {},
        "details": {},
        "error": one_line(error),
    }


def _deployment(name: str) -> Callable[[Context], Iterator[Result]] | None:
    """`deploy.<path>`: a deployment path (probes.deployment.probe), for any framework."""
    if not name.startswith("deploy."):
        return None

    def probe(c: Context) -> Iterator[Result]:
        from probes.deployment.probe import run_path

        yield from run_path(c.backend.name, name, seed=c.seed, suite=c.suite, threads=c.threads)

    return probe


def run_probe(channel: Channel, c: Context, name: str) -> None:
    channel.send("start", probe=name, params={})
    try:
        table = FRONTEND_PROBES if getattr(c.backend, "frontend", False) else PROBES
        function = table.get(name) or _deployment(name)
        if function is None:
            raise ValueError(f"unknown probe {name!r}: one of {', '.join(table)}")
        extra = getattr(c.backend, "record_details", None) or {}
        own = {"backend": c.backend.backend} if table is FRONTEND_PROBES else {}  # type: ignore[attr-defined]
        for result in function(c):
            result["details"] = {**extra, **result["details"]}
            result["params"] = {**own, **result["params"]}
            channel.send("result", framework=c.backend.name, probe=name, **result)
    except Exception as error:
        channel.send("result", framework=c.backend.name, probe=name, **failed(error))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m probes.worker", description=__doc__)
    parser.add_argument(
        "--framework", required=True, help=f"one of {', '.join(available_backends())}"
    )
    parser.add_argument("--suite", default="quick", choices=("tiny", "quick", "full"))
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--probe", action="append", default=[], help="only this probe (repeat)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--procs", type=int, default=2, help="ranks of the all-reduce probe")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    channel = Channel()
    device = "cpu" if args.device == "auto" else args.device
    base = {
        "framework": args.framework,
        "threads": args.threads,
        "device": device,
        "suite": args.suite,
        "fingerprint": machine_fingerprint(),
    }
    started = time.perf_counter()
    try:
        backend = load_backend(args.framework, device, args.threads)
    except Exception as error:
        channel.send(
            "hello", **base, versions={"python": platform.python_version()}, error=one_line(error)
        )
        return EXIT_IMPORT
    import_seconds = time.perf_counter() - started
    frontend = bool(getattr(backend, "frontend", False))
    names = list(args.probe) or list(suite_probes(args.suite, frontend=frontend))
    versions = {**backend.versions(), "python": platform.python_version()}
    channel.send("hello", **base, versions=versions, import_seconds=import_seconds, probes=names)
    context = Context(
        backend,
        suite_sizes(args.suite),
        args.seed,
        import_seconds,
        args.suite,
        args.threads,
        processes=args.procs,
    )
    for name in names:
        run_probe(channel, context, name)
    channel.send("done")
    return 0


if __name__ == "__main__":
    status = main()
    # Every record is out: leave without the interpreter's teardown, which for TensorFlow or
    # PyTorch takes 0.5-1 s of a quick run per framework and can only hang or crash this late.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
