"""Exact figures, texts and arguments of the worker's probes, in this process.

Mutation testing of `probes/worker.py` found changes the broader tests in `test_worker_checks.py`
cannot see: a constant in a figure, a default, a message, an argument passed on. These tests pin
each one with fixed samples (`measure` and friends replaced by fakes returning chosen seconds),
a fake clock for first-call times, and fakes for the OS interfaces of the peak-memory probe, so
that every figure is compared for equality, not for plausibility.
"""

from __future__ import annotations

import contextlib
import io
import resource as real_resource
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from probes import overhead, worker
from probes import reference as ref
from probes.frameworks.base import Capability, Prepared
from probes.timing import Budget, Timed, percentile, summarise
from tests.probes.test_worker_checks import SIZES, context, numpy_backend, run


@pytest.fixture(autouse=True)
def no_settle_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("probes.timing.SETTLE_S", 0.0)


def fixed_samples(monkeypatch: pytest.MonkeyPatch, samples: list[float]) -> list[Budget]:
    """`measure` in the worker returns these seconds per call; the budgets it was given are
    recorded in the list returned."""
    budgets: list[Budget] = []

    def measure(call: Any, sync: Any, budget: Budget) -> Timed:
        budgets.append(budget)
        return Timed(list(samples), None)

    monkeypatch.setattr(worker, "measure", measure)
    return budgets


class Clock:
    """A perf_counter that advances by `step` on every reading, from `start`."""

    def __init__(self, start: float, step: float) -> None:
        self.now = start
        self.step = step

    def perf_counter(self) -> float:
        value = self.now
        self.now += self.step
        return value


def fake_clock(monkeypatch: pytest.MonkeyPatch, start: float, step: float) -> None:
    monkeypatch.setattr(
        worker, "time", SimpleNamespace(perf_counter=Clock(start, step).perf_counter)
    )


def spy_ok(monkeypatch: pytest.MonkeyPatch) -> list[Timed | None]:
    """Every `timed` the worker hands to `ok`, in order."""
    seen: list[Timed | None] = []
    original = worker.ok

    def ok(*args: Any, timed: Timed | None = None, **kwargs: Any) -> worker.Result:
        seen.append(timed)
        return original(*args, timed=timed, **kwargs)

    monkeypatch.setattr(worker, "ok", ok)
    return seen


class CudaNumpy(numpy_backend.NumpyBackend):
    """The numpy backend claiming a CUDA device, recording the dtype of each matmul asked."""

    device = "cuda"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dtypes: list[Any] = []

    def matmul(self, a: np.ndarray, b: np.ndarray, dtype: str) -> Prepared:
        self.dtypes.append(dtype)
        return super().matmul(a, b, dtype)


# -- ok ---------------------------------------------------------------------------------------------
def test_ok_is_higher_is_better_unless_told_otherwise() -> None:
    assert worker.ok(1.0, "x", {})["higher_is_better"] is True
    assert worker.ok(1.0, "x", {}, higher_is_better=False)["higher_is_better"] is False


def test_ok_warns_of_a_busy_machine_in_these_exact_words() -> None:
    busy = worker.ok(1.0, "x", {}, timed=Timed([1.0], 1.3))
    assert busy["details"] == {
        "other_load_cpus": 1.3,
        "warning": "other processes kept 1.3 CPUs busy during the measurement; "
        "the figure is likely lower than on a quiet machine",
    }


# -- matmul ---------------------------------------------------------------------------------------
def test_matmul_on_cuda_is_timed_in_float32_float16_and_bfloat16(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixed_samples(monkeypatch, [0.002, 0.001, 0.004])
    backend = CudaNumpy()
    results = run(backend, "matmul")
    expected = [(n, d) for n in SIZES.matmul for d in ("float32", "float16", "bfloat16")]
    assert [(r["params"]["n"], r["params"]["dtype"]) for r in results] == expected
    assert backend.dtypes == [d for _, d in expected]  # the backend is asked for each dtype
    assert {r["status"] for r in results} == {"ok"}


def test_matmul_on_the_cpu_asks_the_backend_for_float32_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixed_samples(monkeypatch, [0.002, 0.001, 0.004])
    backend = CudaNumpy()
    backend.device = "cpu"
    results = run(backend, "matmul")
    assert [r["params"] for r in results] == [{"n": n, "dtype": "float32"} for n in SIZES.matmul]
    assert backend.dtypes == ["float32", "float32"]


def test_half_precision_matmuls_are_checked_at_the_fp16_tolerance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An error of 1 % is beyond float32's 2e-3 but within half precision's 3e-2."""
    fixed_samples(monkeypatch, [0.002, 0.001, 0.004])
    assert ref.FP32_TOLERANCE < 0.01 <= ref.FP16_TOLERANCE
    results = run(CudaNumpy(error=0.01), "matmul")
    assert [(r["params"]["dtype"], r["status"]) for r in results] == [
        ("float32", "failed"),
        ("float16", "ok"),
        ("bfloat16", "ok"),
    ] * 2
    assert "1.00e-02 > 2e-03" in results[0]["error"]


def test_matmul_gflops_are_two_n_cubed_over_the_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = [0.002, 0.001, 0.004]
    fixed_samples(monkeypatch, samples)
    results = run(numpy_backend.NumpyBackend(), "matmul")
    for n, result in zip(SIZES.matmul, results, strict=True):
        figures = [2.0 * n**3 / s / 1e9 for s in samples]
        assert result["value"] == 2.0 * n**3 / 0.002 / 1e9  # the median sample
        assert result["spread"] == summarise(figures)
    assert results[0]["value"] == pytest.approx(0.000512)  # 2 * 8**3 flop in 2 ms


# -- mlp_train ------------------------------------------------------------------------------------
def test_mlp_train_figure_is_one_step_per_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed_samples(monkeypatch, [0.002, 0.001, 0.004])
    results = run(numpy_backend.NumpyBackend(), "mlp_train")
    assert [(r["params"]["mode"], r["value"], r["unit"]) for r in results] == [
        ("eager", 500.0, "steps/s"),
        ("compiled", 500.0, "steps/s"),
    ]
    assert results[0]["spread"] == summarise([500.0, 1000.0, 250.0])


def test_mlp_train_first_call_is_rounded_to_four_places_and_named_in_compile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixed_samples(monkeypatch, [0.002, 0.001, 0.004])
    fake_clock(monkeypatch, 100.0, 0.123456)
    backend = numpy_backend.NumpyBackend()
    c = context(backend)
    results = run(backend, "mlp_train", c=c)
    assert [r["details"]["first_call_s"] for r in results] == [0.1235, 0.1235]
    assert c.compiled == Capability(
        True, "numpy mlp_train.compiled matches the reference training step (first call 0.1 s)"
    )


class NoExecutionNumpy(numpy_backend.NumpyBackend):
    """A backend whose training jobs say nothing about how they ran."""

    def mlp_train(self, m: ref.Mlp, x: np.ndarray, y: np.ndarray, lr: float, mode: str) -> Prepared:
        job = super().mlp_train(m, x, y, lr, mode)
        return Prepared(job.run, job.fetch, {})


def test_a_compiled_step_without_an_execution_detail_is_named_by_its_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixed_samples(monkeypatch, [0.002, 0.001, 0.004])
    fake_clock(monkeypatch, 100.0, 0.25)
    backend = NoExecutionNumpy()
    c = context(backend)
    run(backend, "mlp_train", c=c)
    assert c.compiled == Capability(
        True, "compiled matches the reference training step (first call 0.2 s)"
    )


def test_a_failed_compiled_step_makes_compile_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed_samples(monkeypatch, [0.002, 0.001, 0.004])
    backend = numpy_backend.NumpyBackend(error=0.01, wrong=("mlp_train.compiled",))
    c = context(backend)
    run(backend, "mlp_train", c=c)
    assert c.compiled is not None and c.compiled.present is False
    assert c.compiled.detail.startswith("compiled mode failed: Mismatch: result differs")


# -- conv, latency, dispatch ----------------------------------------------------------------------
def test_conv_train_step_trains_the_seeded_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed_samples(monkeypatch, [0.002, 0.001, 0.004])
    (result,) = run(numpy_backend.NumpyBackend(), "conv_train_step")
    block, x, y = ref.conv_problem(0, *SIZES.conv)
    assert result["details"]["loss_before"] == ref.mse(ref.conv_forward(block, x), y)
    assert result["value"] == 2.0 / 0.002  # images (the batch) per second


class RecordingForward(numpy_backend.NumpyBackend):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[ref.Mlp, np.ndarray]] = []

    def mlp_forward(self, m: ref.Mlp, x: np.ndarray) -> Prepared:
        self.seen.append((m, x))
        return super().mlp_forward(m, x)


def test_inference_latency_runs_the_seeded_single_input_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixed_samples(monkeypatch, [0.002, 0.001, 0.004])
    backend = RecordingForward()
    run(backend, "inference_latency")
    ((weights, x),) = backend.seen
    expected_weights, expected_x, _ = ref.mlp_problem(0, 1, 6, 8, 3)
    np.testing.assert_array_equal(x, expected_x)
    for name in ("w1", "b1", "w2", "b2"):
        np.testing.assert_array_equal(getattr(weights, name), getattr(expected_weights, name))


def test_inference_latency_times_exactly_the_latency_calls_after_five_warmups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    budgets = fixed_samples(monkeypatch, [0.002, 0.001, 0.004])
    run(numpy_backend.NumpyBackend(), "inference_latency")
    assert budgets == [Budget(warmup=5, min_repeats=7, min_seconds=0.0, max_repeats=7)]
    assert isinstance(budgets[0].min_seconds, float)


def test_inference_latency_is_milliseconds_with_the_95th_percentile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    samples = [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.010]
    fixed_samples(monkeypatch, samples)
    (result,) = run(numpy_backend.NumpyBackend(), "inference_latency")
    figures = [s * 1e3 for s in samples]
    assert result["value"] == 0.004 * 1e3
    assert result["details"]["p95_ms"] == percentile(figures, 95)
    assert result["details"]["p95_ms"] == pytest.approx(6.0 + 4.0 * 0.7)
    assert result["spread"] == summarise(figures)


def test_dispatch_overhead_is_microseconds_per_op(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = [0.002, 0.001, 0.004]
    fixed_samples(monkeypatch, samples)
    (result,) = run(numpy_backend.NumpyBackend(), "dispatch_overhead")
    assert result["value"] == 0.002 / 5 * 1e6
    assert result["value"] == pytest.approx(400.0)
    assert result["spread"] == summarise([s / 5 * 1e6 for s in samples])


# -- peak memory ----------------------------------------------------------------------------------
class FakePath:
    """Stands in for pathlib.Path in the worker: writes are recorded, or fail with OSError."""

    def __init__(self, written: list[tuple[str, str]], fail: bool, path: str) -> None:
        self.written, self.fail, self.path = written, fail, path

    def write_text(self, text: str) -> int:
        if self.fail:
            raise OSError(f"{self.path}: not writable")
        self.written.append((self.path, text))
        return len(text)


def fake_os(
    monkeypatch: pytest.MonkeyPatch,
    *,
    status: dict[str, int | None],
    maxrss: list[int],
    reset_fails: bool,
) -> list[tuple[str, str]]:
    """/proc/self/status gives `status`, getrusage(RUSAGE_SELF) the `maxrss` readings in turn,
    and writing /proc/self/clear_refs works or not; returns the writes made."""
    written: list[tuple[str, str]] = []
    readings = iter(maxrss)

    def getrusage(who: int) -> Any:
        if who != real_resource.RUSAGE_SELF:
            raise ValueError(f"getrusage of {who!r}, not of this process")
        return SimpleNamespace(ru_maxrss=next(readings))

    monkeypatch.setattr(
        worker,
        "resource",
        SimpleNamespace(RUSAGE_SELF=real_resource.RUSAGE_SELF, getrusage=getrusage),
    )
    monkeypatch.setattr(worker, "Path", lambda path: FakePath(written, reset_fails, path))
    monkeypatch.setattr(worker, "_status_kib", lambda key: status[key])
    return written


def test_peak_memory_after_a_reset_is_the_high_water_mark_over_the_resident_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    written = fake_os(
        monkeypatch,
        status={"VmRSS": 1000, "VmHWM": 5096},
        maxrss=[10**7, 10**7, 10**7],
        reset_fails=False,
    )
    (result,) = run(numpy_backend.NumpyBackend(), "train_peak_memory")
    assert written == [("/proc/self/clear_refs", "5")]
    assert (result["status"], result["value"], result["unit"]) == ("ok", 4.0, "MB")
    assert result["details"]["method"] == "VmHWM after reset - VmRSS before"


def test_peak_memory_without_a_reset_is_the_growth_of_ru_maxrss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_os(
        monkeypatch,
        status={"VmRSS": 50_000, "VmHWM": 60_000},
        maxrss=[1000, 3048],
        reset_fails=True,
    )
    (result,) = run(numpy_backend.NumpyBackend(), "train_peak_memory")
    assert (result["status"], result["value"], result["unit"]) == ("ok", 2.0, "MB"), result
    assert result["details"]["method"] == "ru_maxrss growth (high-water mark could not be reset)"
    assert result["higher_is_better"] is False


def test_peak_memory_that_shrank_is_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_os(monkeypatch, status={"VmRSS": 2000, "VmHWM": 1000}, maxrss=[], reset_fails=False)
    (result,) = run(numpy_backend.NumpyBackend(), "train_peak_memory")
    assert (result["status"], result["value"]) == ("ok", 0.0)


@pytest.mark.parametrize("status", [{"VmRSS": None, "VmHWM": 1000}, {"VmRSS": 1000, "VmHWM": None}])
def test_peak_memory_without_either_resident_figure_fails_saying_so(
    monkeypatch: pytest.MonkeyPatch, status: dict[str, int | None]
) -> None:
    fake_os(monkeypatch, status=status, maxrss=[], reset_fails=False)
    (result,) = run(numpy_backend.NumpyBackend(), "train_peak_memory")
    assert result["status"] == "failed"
    assert result["error"] == "RuntimeError: this OS reports no resident-set figures"


# -- a front-end ----------------------------------------------------------------------------------
def fixed_pairs(monkeypatch: pytest.MonkeyPatch, first: list[float], second: list[float]) -> None:
    def measure_pair(a: Any, b: Any, sync: Any, budget: Budget) -> overhead.PairTimed:
        return overhead.PairTimed(list(first), list(second), 3, 0.25)

    monkeypatch.setattr("probes.overhead.measure_pair", measure_pair)


def test_frontend_figures_are_steps_and_images_per_second_of_the_rounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixed_pairs(monkeypatch, [0.002, 0.001, 0.004], [0.001, 0.0005, 0.002])
    backend = numpy_backend.NumpyFrontend(delay=0.0)
    mlp = run(backend, "mlp_train")
    conv = run(backend, "conv_train_step")
    assert [(r["value"], r["unit"]) for r in mlp] == [(500.0, "steps/s"), (1000.0, "steps/s")]
    assert [(r["value"], r["unit"]) for r in conv] == [(1000.0, "images/s"), (2000.0, "images/s")]
    assert mlp[0]["spread"] == summarise([500.0, 1000.0, 250.0])
    assert mlp[0]["details"]["other_load_cpus"] == 0.25


def test_frontend_conv_trains_the_seeded_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed_pairs(monkeypatch, [0.002, 0.001, 0.004], [0.001, 0.0005, 0.002])
    backend = numpy_backend.NumpyFrontend(delay=0.0)
    block, x, y = ref.conv_problem(0, *SIZES.conv)
    before = ref.mse(ref.conv_forward(block, x), y)
    assert [r["details"]["loss_before"] for r in run(backend, "conv_train_step")] == [before] * 2


def test_frontend_first_calls_are_the_seconds_each_first_call_took(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixed_pairs(monkeypatch, [0.002, 0.001, 0.004], [0.001, 0.0005, 0.002])
    fake_clock(monkeypatch, 100.0, 0.25)
    results = run(numpy_backend.NumpyFrontend(delay=0.0), "mlp_train")
    assert [r["details"]["first_call_s"] for r in results] == [0.25, 0.25]


def test_frontend_and_overhead_records_are_timed_with_no_samples_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixed_pairs(monkeypatch, [0.002, 0.001, 0.004], [0.001, 0.0005, 0.002])
    seen = spy_ok(monkeypatch)
    backend = numpy_backend.NumpyFrontend(delay=0.0)
    c = context(backend)
    run(backend, "mlp_train", "conv_train_step", "keras_overhead", c=c)
    assert seen == [Timed([], 0.25)] * 6


def paired_context(
    first: list[float], second: list[float], seed: int = 0, executions: Any = None
) -> tuple[Any, worker.Context]:
    backend = numpy_backend.NumpyFrontend(delay=0.0)
    c = worker.Context(backend, SIZES, seed=seed, import_seconds=0.1)
    about = {
        "shapes": {"batch": 4},
        "executions": executions if executions is not None else {"keras": {}, "native": {}},
    }
    c.pairs["mlp"] = (overhead.PairTimed(first, second, 3, 0.5), about)
    return backend, c


def test_keras_overhead_is_the_ratio_of_medians_with_per_round_ratios_as_spread() -> None:
    backend, c = paired_context([0.75, 0.5, 1.5], [0.25, 0.25, 0.5], seed=0)
    result, *_ = run(backend, "keras_overhead", c=c)
    low, high = overhead.bootstrap_interval([0.75, 0.5, 1.5], [0.25, 0.25, 0.5], seed=0)
    assert (result["status"], result["value"], result["unit"]) == ("ok", 3.0, "x")
    assert result["spread"] == summarise([3.0, 2.0, 3.0])
    assert result["details"] == {
        "other_load_cpus": 0.5,  # not above BUSY_CPUS: no warning
        "method": "ratio of the median per-step times (keras / native) over alternating rounds "
        "in one process; interval: paired bootstrap over rounds, 95%",
        "interval_low": round(low, 4),
        "interval_high": round(high, 4),
        "keras_ms": 750.0,
        "native_ms": 250.0,
        "rounds": 3,
        "steps_per_round": 3,
        "keras_execution": "",
        "native_execution": "",
        "shapes": {"batch": 4},
    }


def test_keras_overhead_names_the_executions_when_known() -> None:
    executions = {"keras": {"execution": "k"}, "native": {"execution": "n"}}
    backend, c = paired_context([0.75, 0.5, 1.5], [0.25, 0.25, 0.5], executions=executions)
    result, *_ = run(backend, "keras_overhead", c=c)
    assert (result["details"]["keras_execution"], result["details"]["native_execution"]) == (
        "k",
        "n",
    )


def test_keras_overhead_with_rounds_that_do_not_pair_up_fails_at_the_zip() -> None:
    backend, c = paired_context([0.75, 0.5, 1.5], [0.25, 0.25])
    result, *_ = run(backend, "keras_overhead", c=c)
    assert result["status"] == "failed"
    assert result["error"] == "ValueError: zip() argument 2 is shorter than argument 1"


def test_keras_overhead_leaves_rounds_of_zero_native_time_out_of_the_ratios(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("probes.overhead.bootstrap_interval", lambda a, b, seed: (1.0, 4.0))
    backend, c = paired_context([0.75, 0.5, 1.5], [0.25, 0.0, 0.5])
    result, *_ = run(backend, "keras_overhead", c=c)
    assert result["status"] == "ok", result
    assert result["spread"] == summarise([3.0, 3.0])
    assert (result["details"]["interval_low"], result["details"]["interval_high"]) == (1.0, 4.0)


def test_keras_overhead_bootstraps_with_the_runs_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    seeds: list[Any] = []
    original = overhead.bootstrap_interval

    def spy(a: Any, b: Any, **kwargs: Any) -> tuple[float, float]:
        seeds.append(kwargs.get("seed", "default"))
        return original(a, b, **kwargs)

    monkeypatch.setattr("probes.overhead.bootstrap_interval", spy)
    backend, c = paired_context([0.75, 0.5, 1.5], [0.25, 0.25, 0.5], seed=7)
    run(backend, "keras_overhead", c=c)
    assert seeds == [7]


# -- deployment paths -----------------------------------------------------------------------------
def fake_run_path(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def run_path(*args: Any, **kwargs: Any) -> Iterator[worker.Result]:
        calls.append((args, kwargs))
        yield worker.ok(1.5, "ms", {"path": "p"})

    monkeypatch.setattr("probes.deployment.probe.run_path", run_path)
    return calls


def test_a_deploy_probe_runs_its_path_with_the_runs_framework_seed_suite_and_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = fake_run_path(monkeypatch)
    backend = numpy_backend.NumpyBackend()
    c = worker.Context(backend, SIZES, seed=7, import_seconds=0.1, suite="full", threads=3)
    (result,) = run(backend, "deploy.onnx_test", c=c)
    assert calls == [(("numpy", "deploy.onnx_test"), {"seed": 7, "suite": "full", "threads": 3})]
    assert (result["status"], result["value"], result["probe"]) == ("ok", 1.5, "deploy.onnx_test")


def test_only_names_starting_with_deploy_dot_are_deployment_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_run_path(monkeypatch)
    assert worker._deployment("deploy.x") is not None
    assert worker._deployment("deployx") is None
    assert worker._deployment("DEPLOY.x") is None


# -- the command line -----------------------------------------------------------------------------
def test_the_probe_options_help_is_exactly_its_text() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        worker.parse_args(["--help"])
    text = " ".join(out.getvalue().split())
    assert " --probe PROBE only this probe (repeat) --seed SEED " in text
