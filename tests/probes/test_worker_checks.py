"""The worker's own logic, in this process: every compute probe checks the framework's result
against the numpy reference and times it only when it matches, and a wrong result becomes a
`failed` record naming the mismatch (README, "Probes").

The backend is `fake_workers/numpy_backend.py`: the reference's math in numpy, with an optional
relative error added to every result the check sees, as a framework with a wrong kernel would.
The last tests run the real worker over it as a subprocess of the real runner.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from probes import reference as ref
from probes import transformer as tr
from probes import worker
from probes.catalogue import COMPUTE_PROBES, Sizes
from probes.frameworks.base import Capability
from probes.protocol import _plain
from probes.timing import Budget, Timed
from probes.transformer import BlockShape

FAKES = Path(__file__).resolve().parent / "fake_workers"
_spec = importlib.util.spec_from_file_location("numpy_backend", FAKES / "numpy_backend.py")
assert _spec is not None and _spec.loader is not None
numpy_backend = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(numpy_backend)

MISMATCH = "Mismatch: result differs from the numpy reference: max relative error"
SIZES = Sizes(
    matmul=(8, 16),
    mlp=(4, 6, 8, 3),
    conv=(2, 2, 4),
    memory_batch=4,
    lstm=(2, 3, 4, 5),
    latency_calls=7,
    dispatch_ops=5,
    budget=Budget(warmup=1, min_repeats=4, min_seconds=0.0),
    transformer=(BlockShape(batch=2, seq=4, d_model=8, heads=2, d_ff=16),),
    transformer_budget=Budget(warmup=1, min_repeats=3, min_seconds=0.0),
    allreduce_bytes=(64, 4096),
    allreduce_iterations=(1, 3),
)
CHECK_CALLS = {  # how many calls of each prepared job the correctness check makes
    "matmul": 1,
    "mlp_train.eager": 2,
    "mlp_train.compiled": 2,
    "conv_train": 2,
    "lstm_forward": 1,
    "mlp_forward": 1,
    "add_chain": 1,
}
PROBE_CALLS = {
    "matmul": ("matmul",),
    "mlp_train": ("mlp_train.eager", "mlp_train.compiled"),
    "conv_train_step": ("conv_train",),
    "lstm_forward": ("lstm_forward",),
    "inference_latency": ("mlp_forward",),
    "dispatch_overhead": ("add_chain",),
}


@pytest.fixture(autouse=True)
def no_settle_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 0.2 s pause before each measurement is for numpy's BLAS threads next to a framework's;
    the numpy backend needs none, and these tests run once per mutant under mutation testing."""
    monkeypatch.setattr("probes.timing.SETTLE_S", 0.0)


class Recorder:
    """Where the worker's messages go: the JSON each would be on the wire."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, kind: str, **fields: Any) -> None:
        self.messages.append(json.loads(json.dumps({"type": kind, **_plain(fields)})))

    def results(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "result"]


def context(backend: Any, sizes: Sizes = SIZES) -> worker.Context:
    return worker.Context(backend, sizes, seed=0, import_seconds=0.25)


def run(backend: Any, *names: str, c: worker.Context | None = None) -> list[dict[str, Any]]:
    c = c or context(backend)
    channel = Recorder()
    for name in names:
        worker.run_probe(channel, c, name)  # type: ignore[arg-type]
    return channel.results()


# -- the check itself ---------------------------------------------------------------------------
def test_check_returns_the_error_within_tolerance_and_raises_beyond_it() -> None:
    exact = 2.0**-9  # representable: 1 + 2**-9 differs from 1 by exactly this
    assert worker.check(np.array([1.0 + exact]), np.array([1.0]), exact) == exact
    assert worker.check(2.0, 2.0, 0.0) == 0.0
    with pytest.raises(worker.Mismatch) as caught:
        worker.check(np.array([1.0 + exact]), np.array([1.0]), exact / 2)
    assert str(caught.value) == (
        "result differs from the numpy reference: max relative error 1.95e-03 > 1e-03"
    )
    with pytest.raises(worker.Mismatch, match="max relative error nan"):
        worker.check(np.array([math.nan]), np.array([1.0]), 1.0)


def test_one_line_collapses_whitespace_names_the_type_and_is_bounded() -> None:
    assert worker.one_line(ValueError("a\n  b\tc ")) == "ValueError: a b c"
    assert worker.one_line(KeyError()) == "KeyError: KeyError"
    long = worker.one_line(RuntimeError("x" * 600))
    assert len(long) == 500 and long.startswith("RuntimeError: xxx")


# -- a wrong answer -----------------------------------------------------------------------------
@pytest.mark.parametrize("probe", list(PROBE_CALLS))
def test_a_wrong_result_is_failed_with_the_mismatch_and_never_timed(probe: str) -> None:
    backend = numpy_backend.NumpyBackend(error=0.01)
    results = run(backend, probe)
    assert results, "no result"
    for result in results:
        assert result["status"] == "failed", result
        assert result["value"] is None and result["spread"] == {}
        assert result["error"].startswith(MISMATCH), result["error"]
        assert "1.00e-02 > 2e-03" in result["error"]
        assert result["framework"] == "numpy" and result["probe"] == probe
    # the check ran each job, then nothing more: no warm-up, no timed repeat, no sync
    assert {call: backend.runs[call] for call in PROBE_CALLS[probe]} == {
        call: CHECK_CALLS[call] for call in PROBE_CALLS[probe]
    }
    assert backend.synced == 0


def test_a_wrong_matmul_keeps_its_params_and_the_other_sizes_are_still_tried() -> None:
    results = run(numpy_backend.NumpyBackend(error=0.01), "matmul")
    assert [(r["status"], r["params"]) for r in results] == [
        ("failed", {"n": 8, "dtype": "float32"}),
        ("failed", {"n": 16, "dtype": "float32"}),
    ]


def test_an_error_within_tolerance_is_timed_and_reported() -> None:
    backend = numpy_backend.NumpyBackend(error=1e-3)
    (first, _) = run(backend, "matmul")
    assert first["status"] == "ok", first
    assert first["details"]["max_rel_error"] == pytest.approx(1e-3, rel=1e-3)


def test_a_wrong_compiled_step_fails_only_the_compiled_mode_and_the_compile_capability() -> None:
    backend = numpy_backend.NumpyBackend(error=0.01, wrong=("mlp_train.compiled",))
    c = context(backend)
    eager, compiled = run(backend, "mlp_train", c=c)
    assert eager["status"] == "ok" and eager["params"]["mode"] == "eager"
    assert compiled["status"] == "failed" and compiled["params"]["mode"] == "compiled"
    assert compiled["error"].startswith(MISMATCH)
    (capability,) = run(backend, "capability.compile", c=c)
    assert capability["status"] == "ok" and capability["value"] == 0.0
    assert capability["details"]["detail"].startswith("compiled mode failed: " + MISMATCH)


# -- a right answer -----------------------------------------------------------------------------
@pytest.mark.parametrize("probe", list(PROBE_CALLS))
def test_a_right_result_is_timed_with_its_spread(probe: str) -> None:
    backend = numpy_backend.NumpyBackend()
    results = run(backend, probe)
    assert results
    for result in results:
        assert result["status"] == "ok", result
        assert result["error"] is None and result["value"] > 0
        assert result["details"]["execution"].startswith("numpy ")
        if probe != "dispatch_overhead":
            assert result["details"]["max_rel_error"] < ref.FP32_TOLERANCE
        spread = result["spread"]
        repeats = SIZES.latency_calls if probe == "inference_latency" else SIZES.budget.min_repeats
        assert spread["repeats"] == repeats
        assert spread["iqr"] >= 0 and spread["cv"] >= 0
        assert spread["median"] == pytest.approx(result["value"], rel=1e-12)
    warmup = 5 if probe == "inference_latency" else SIZES.budget.warmup
    for call in PROBE_CALLS[probe]:  # checked, warmed up, then timed
        assert backend.runs[call] == CHECK_CALLS[call] + warmup + repeats
    assert backend.synced == len(results) * (warmup + repeats)  # every timed call, no other


def test_figures_follow_the_work_of_each_probe() -> None:
    backend = numpy_backend.NumpyBackend()
    c = context(backend)
    small, _ = run(backend, "matmul", c=c)
    assert (small["unit"], small["higher_is_better"]) == ("GFLOP/s", True)
    assert small["details"]["checksum"] == pytest.approx(
        ref.checksum(np.matmul(*(a.astype(np.float64) for a in ref.matmul_inputs(0, 8))))
    )
    eager, _ = run(backend, "mlp_train", c=c)
    before, after = ref.mlp_losses_over_two_steps(
        *ref.mlp_problem(0, *SIZES.mlp), worker.LEARNING_RATE
    )
    assert eager["unit"] == "steps/s" and eager["params"] == {
        "batch": 4,
        "inputs": 6,
        "hidden": 8,
        "outputs": 3,
        "dtype": "float32",
        "mode": "eager",
    }
    assert eager["details"]["loss_before"] == pytest.approx(before, rel=1e-6)
    assert eager["details"]["loss_after"] == pytest.approx(after, rel=1e-6)
    assert 0 <= eager["details"]["first_call_s"] < 5
    (capability,) = run(backend, "capability.compile", c=c)
    assert capability["value"] == 1.0
    assert capability["details"]["detail"].startswith(
        "numpy mlp_train.compiled matches the reference training step (first call "
    )
    (conv,) = run(backend, "conv_train_step", c=c)
    assert conv["unit"] == "images/s" and conv["params"]["kernel"] == 3
    assert conv["details"]["loss_after_step"] < conv["details"]["loss_before"]
    (latency,) = run(backend, "inference_latency", c=c)
    assert (latency["unit"], latency["higher_is_better"]) == ("ms", False)
    assert latency["params"]["batch"] == 1
    assert latency["details"]["p95_ms"] >= latency["value"]
    (dispatch,) = run(backend, "dispatch_overhead", c=c)
    assert (dispatch["unit"], dispatch["higher_is_better"]) == ("µs/op", False)
    assert dispatch["params"] == {"elements": 16, "ops": 5, "dtype": "float32", "mode": "eager"}
    (lstm,) = run(backend, "lstm_forward", c=c)
    assert lstm["unit"] == "sequences/s" and lstm["params"]["steps"] == 3


def test_a_slower_call_gives_a_proportionally_lower_figure() -> None:
    """The figure is work over time: a call that takes 10 ms more per matmul of n=8
    (2 * 8**3 flops) is under 2 * 8**3 / 0.01 = 102 400 flop/s."""
    backend = numpy_backend.NumpyBackend()
    job = backend.matmul

    def slow(a: np.ndarray, b: np.ndarray, dtype: str) -> Any:
        prepared = job(a, b, dtype)
        inner = prepared.run

        def run_slowly() -> Any:
            import time

            time.sleep(0.01)
            return inner()

        prepared.run = run_slowly
        return prepared

    backend.matmul = slow
    sizes = Sizes(**{**SIZES.__dict__, "matmul": (8,)})
    (result,) = run(backend, "matmul", c=context(backend, sizes))
    assert 0 < result["value"] < 2 * 8**3 / 0.01 / 1e9


# -- capabilities, memory, import time, unknown probes --------------------------------------------
def test_capabilities_report_presence_detail_and_unknown() -> None:
    backend = numpy_backend.NumpyBackend()
    results = run(backend, "capability.gpu", "capability.mixed_precision", "capability.onnx_export")
    assert [(r["value"], r["unit"], r["details"]) for r in results] == [
        (0.0, "bool", {"detail": "numpy runs on the CPU only"}),
        (1.0, "bool", {"detail": "float16 arrays work"}),
        (0.0, "bool", {"detail": "no ONNX exporter in numpy", "unknown": True}),
    ]
    assert {r["status"] for r in results} == {"ok"}


def test_a_capability_the_backend_does_not_report_is_failed() -> None:
    (result,) = run(numpy_backend.NumpyBackend(), "capability.compile")
    assert result["status"] == "failed"
    assert result["error"] == "RuntimeError: numpy does not report compile"


def test_capabilities_are_asked_once() -> None:
    backend = numpy_backend.NumpyBackend()
    asked = []
    original = backend.capabilities

    def counting() -> dict[str, Capability]:
        asked.append(1)
        return original()

    backend.capabilities = counting
    c = context(backend)
    run(backend, "capability.gpu", "capability.distributed", c=c)
    assert len(asked) == 1


def test_import_time_is_the_measured_seconds() -> None:
    (result,) = run(numpy_backend.NumpyBackend(), "import_time")
    assert (result["status"], result["value"], result["unit"]) == ("ok", 0.25, "s")
    assert result["higher_is_better"] is False and result["spread"] == {"repeats": 1}
    assert "fresh interpreter" in result["details"]["note"]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux /proc only")
def test_peak_memory_on_the_cpu_is_the_resident_high_water_mark() -> None:
    backend = numpy_backend.NumpyBackend()
    (result,) = run(backend, "train_peak_memory")
    assert result["status"] == "ok", result
    assert result["unit"] == "MB" and result["value"] >= 0 and result["higher_is_better"] is False
    assert result["details"]["method"] == "VmHWM after reset - VmRSS before"  # Linux >= 4.0
    assert result["value"] < 50  # this step's growth in MB, not the process's whole size
    assert result["params"] == {"batch": 4, "channels": 2, "size": 4, "dtype": "float32"}
    assert backend.runs["conv_train"] == 2 and backend.synced == 2
    assert worker._status_kib("VmRSS") > 0
    assert worker._status_kib("NoSuchKey") is None


def test_peak_memory_on_a_gpu_is_the_allocators_peak() -> None:
    backend = numpy_backend.NumpyBackend()
    resets = []

    def peak(reset: bool) -> int:
        resets.append(reset)
        return 3 * 2**20

    backend.gpu_peak_bytes = peak
    synced = []
    backend.sync = synced.append
    (result,) = run(backend, "train_peak_memory")
    assert (result["value"], result["details"]["method"]) == (3.0, "GPU allocator peak")
    assert (result["unit"], result["higher_is_better"]) == ("MB", False)
    assert resets == [True, False] and len(synced) == 2
    assert (
        synced[0]
        == pytest.approx(  # the conv step's loss on the seeded problem
            ref.mse(
                ref.conv_forward(*ref.conv_problem(0, 4, 2, 4)[:2]), ref.conv_problem(0, 4, 2, 4)[2]
            )
        )
    )


def test_peak_memory_of_an_allocator_that_reports_nothing_is_zero() -> None:
    backend = numpy_backend.NumpyBackend()
    answers = iter([0, None])
    backend.gpu_peak_bytes = lambda reset: next(answers)
    (result,) = run(backend, "train_peak_memory")
    assert result["value"] == 0.0 and result["details"]["method"] == "GPU allocator peak"


def test_an_unknown_probe_is_failed_naming_the_known_ones() -> None:
    (result,) = run(numpy_backend.NumpyBackend(), "nope")
    assert result["status"] == "failed" and result["probe"] == "nope"
    assert result["error"].startswith("ValueError: unknown probe 'nope': one of import_time, ")
    assert result["params"] == {} and result["details"] == {}


def test_record_details_join_every_result() -> None:
    backend = numpy_backend.NumpyBackend()
    backend.record_details = {"threads_held": "yes", "note": "backend's"}
    (result,) = run(backend, "import_time")
    assert result["details"]["threads_held"] == "yes"
    assert result["details"]["note"].startswith("import and set-up")  # the probe's own wins


def test_every_probe_starts_before_it_reports() -> None:
    channel = Recorder()
    c = context(numpy_backend.NumpyBackend())
    worker.run_probe(channel, c, "import_time")  # type: ignore[arg-type]
    assert [m["type"] for m in channel.messages] == ["start", "result"]
    assert channel.messages[0] == {"type": "start", "probe": "import_time", "params": {}}


# -- result records -----------------------------------------------------------------------------
def test_ok_notes_other_load_and_warns_when_the_machine_was_busy() -> None:
    quiet = worker.ok(1.0, "x", {}, timed=Timed([1.0], worker.BUSY_CPUS))
    assert quiet["details"] == {"other_load_cpus": worker.BUSY_CPUS}
    busy = worker.ok(1.0, "x", {}, timed=Timed([1.0], 1.25))
    assert busy["details"]["other_load_cpus"] == 1.25
    assert busy["details"]["warning"].startswith("other processes kept 1.2 CPUs busy")
    unknown = worker.ok(1.0, "x", {}, timed=Timed([1.0], None))
    assert unknown["details"] == {}


def test_measured_is_the_median_of_the_figures_with_their_spread() -> None:
    result = worker.measured([3.0, 1.0, 2.0, 10.0], "u", {"a": 1}, Timed([], None), k="v")
    assert result == {
        "status": "ok",
        "value": 2.5,
        "unit": "u",
        "higher_is_better": True,
        "params": {"a": 1},
        "spread": {
            "median": 2.5,
            "iqr": 3.0,
            "cv": pytest.approx(0.8838834765),
            "mad": pytest.approx(1.4826),  # 1.4826 x median(0.5, 0.5, 1.5, 7.5)
            "ci95": result["spread"]["ci95"],
            "repeats": 4,
        },
        "details": {"k": "v"},
        "error": None,
    }
    low, high = result["spread"]["ci95"]
    assert 1.0 <= low <= 2.5 <= high <= 10.0  # resampled medians stay within the data
    assert worker._rates([0.5, 0.0, 2.0], 4.0) == [8.0, 2.0]
    low, high = result["spread"]["ci95"]
    assert 1.0 <= low <= 2.5 <= high <= 10.0  # resampled medians stay within the data


def test_failed_records_carry_the_one_line_error_and_params() -> None:
    assert worker.failed(ValueError("bad\nthing"), {"n": 3}) == {
        "status": "failed",
        "value": None,
        "unit": "",
        "params": {"n": 3},
        "spread": {},
        "details": {},
        "error": "ValueError: bad thing",
    }
    assert worker.failed(ValueError("x"))["params"] == {}


# -- a front-end (Keras) against its native step --------------------------------------------------
def test_a_frontend_runs_its_pairs_then_the_overhead_ratio() -> None:
    backend = numpy_backend.NumpyFrontend(delay=0.002)
    c = context(backend)
    results = run(backend, "import_time", "mlp_train", "conv_train_step", "transformer",
                  "keras_overhead", c=c)  # fmt: skip
    assert [(r["probe"], r["params"].get("implementation")) for r in results] == [
        ("import_time", None),
        ("mlp_train", "keras"),
        ("mlp_train", "native"),
        ("conv_train_step", "keras"),
        ("conv_train_step", "native"),
        ("transformer", "keras"),
        ("transformer", "native"),
        ("keras_overhead", None),
        ("keras_overhead", None),
        ("keras_overhead", None),
    ]
    assert {r["status"] for r in results} == {"ok"}, results
    assert {r["params"]["backend"] for r in results} == {"numpy"}
    keras, native = results[1], results[2]
    assert keras["value"] < native["value"]  # the front-end's 2 ms per step
    assert keras["details"]["max_rel_error"] < ref.FP32_TOLERANCE
    assert keras["details"]["execution"] == "numpy + delay"
    assert native["details"]["execution"] == "numpy mlp_train.eager"
    assert keras["details"]["rounds"] == keras["spread"]["repeats"] >= 5
    for overhead in results[7:]:
        details = overhead["details"]
        assert overhead["value"] > 1 and overhead["higher_is_better"] is False
        assert details["interval_low"] <= round(overhead["value"], 4) <= details["interval_high"]
        assert details["keras_ms"] > details["native_ms"] + 1.5
        assert details["keras_execution"] == "numpy + delay"
        # the details' times are rounded to 4 places: a native step of 0.04 ms is known to 0.1 %
        rounding = 0.00005 / details["native_ms"] + 0.00005 / details["keras_ms"]
        assert overhead["value"] == pytest.approx(
            details["keras_ms"] / details["native_ms"], rel=1e-3 + rounding
        )
    assert [r["params"]["model"] for r in results[7:]] == ["mlp", "conv", "transformer"]
    assert results[7]["details"]["shapes"] == {"batch": 4, "inputs": 6, "hidden": 8, "outputs": 3}
    keras_block, native_block = results[5], results[6]
    assert (keras_block["unit"], keras_block["higher_is_better"]) == ("ms", False)
    assert keras_block["value"] > native_block["value"] + 1.5  # 2 ms more per step
    assert keras_block["details"]["update_mismatch_share"] <= tr.UPDATE_MISMATCH_SHARE
    assert keras_block["details"]["max_rel_error"] < tr.LOSS_TOLERANCE
    assert keras_block["details"]["gflop"] == round(tr.train_flops(SIZES.transformer[0]) / 1e9, 4)
    assert results[9]["details"]["shapes"] == SIZES.transformer[0].params()


def test_a_frontend_overhead_without_its_pairs_is_failed() -> None:
    backend = numpy_backend.NumpyFrontend()
    results = run(backend, "keras_overhead")
    assert [(r["status"], r["params"], r["error"]) for r in results] == [
        (
            "failed",
            {"backend": "numpy", "model": "mlp"},
            "RuntimeError: mlp_train gave no paired timings to compare",
        ),
        (
            "failed",
            {"backend": "numpy", "model": "conv"},
            "RuntimeError: conv_train_step gave no paired timings to compare",
        ),
        (
            "failed",
            {"backend": "numpy", "model": "transformer"},
            "RuntimeError: transformer gave no paired timings to compare",
        ),
    ]


def test_a_frontend_with_a_wrong_answer_is_failed_and_not_paired() -> None:
    backend = numpy_backend.NumpyFrontend(error=0.01)
    c = context(backend)
    (result,) = run(backend, "mlp_train", c=c)
    assert result["status"] == "failed" and result["error"].startswith(MISMATCH)
    assert "mlp" not in c.pairs


# -- main, in this process ----------------------------------------------------------------------
@pytest.fixture
def stdout_restored() -> Iterator[None]:
    """main() points fd 1 at stderr for the framework's chatter: put it back afterwards."""
    saved_fd, saved = os.dup(1), sys.stdout
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
        sys.stdout = saved


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_main_runs_the_chosen_probes_and_says_done(
    stdout_restored: None, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    made = []

    def load(framework: str, device: str, threads: int) -> Any:
        made.append((framework, device, threads))
        return numpy_backend.NumpyBackend(error=0.01)

    monkeypatch.setattr(worker, "load_backend", load)
    code = worker.main(
        [
            *("--framework", "numpy", "--suite", "tiny", "--device", "auto", "--threads", "2"),
            *("--probe", "import_time", "--probe", "lstm_forward", "--seed", "3"),
        ]
    )
    assert code == 0 and made == [("numpy", "cpu", 2)]
    messages = _lines(capfd.readouterr().out)
    assert [m["type"] for m in messages] == ["hello", "start", "result", "start", "result", "done"]
    hello = messages[0]
    assert hello["probes"] == ["import_time", "lstm_forward"] and hello["protocol"] == 1
    assert (hello["framework"], hello["threads"], hello["device"], hello["suite"]) == (
        "numpy",
        2,
        "cpu",
        "tiny",
    )
    assert hello["versions"]["numpy"] == np.__version__ and hello["versions"]["python"]
    assert hello["fingerprint"] and 0 <= hello["import_seconds"] < 5
    assert messages[2]["value"] == pytest.approx(hello["import_seconds"], abs=1e-4)
    assert messages[4]["status"] == "failed" and messages[4]["error"].startswith(MISMATCH)


def test_main_runs_the_whole_suite_when_no_probe_is_chosen(
    stdout_restored: None, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        worker, "load_backend", lambda *_: numpy_backend.NumpyBackend(error=0.5)
    )  # wrong everywhere: nothing is timed, so the whole tiny suite is quick
    assert worker.main(["--framework", "numpy", "--suite", "tiny"]) == 0
    messages = _lines(capfd.readouterr().out)
    assert tuple(messages[0]["probes"]) == worker.suite_probes("tiny")
    assert messages[0]["threads"] == 1 and messages[0]["device"] == "cpu"
    failed = {m["probe"] for m in messages if m.get("status") == "failed"}
    assert set(PROBE_CALLS) <= failed and "import_time" not in failed
    assert set(COMPUTE_PROBES) <= {m["probe"] for m in messages if m["type"] == "result"}


def test_main_with_a_framework_that_cannot_load_exits_3_with_the_error(
    stdout_restored: None, capfd: pytest.CaptureFixture[str]
) -> None:
    assert worker.main(["--framework", "caffe"]) == worker.EXIT_IMPORT == 3
    (hello,) = _lines(capfd.readouterr().out)
    assert hello["type"] == "hello" and hello["framework"] == "caffe"
    assert hello["error"].startswith("ValueError: unknown framework 'caffe': one of ")
    assert set(hello["versions"]) == {"python"}


def test_bad_arguments_exit_2() -> None:
    with pytest.raises(SystemExit) as caught:
        worker.parse_args(["--framework", "pytorch", "--suite", "huge"])
    assert caught.value.code == 2
    args = worker.parse_args(["--framework", "jax"])
    assert (args.suite, args.device, args.threads, args.probe, args.seed) == (
        "quick",
        "cpu",
        1,
        [],
        0,
    )


def test_the_command_line_help_names_the_worker_its_frameworks_and_options() -> None:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as caught:
        worker.parse_args(["--help"])
    assert caught.value.code == 0
    text = " ".join(out.getvalue().split())
    assert text.startswith("usage: python -m probes.worker [-h] --framework FRAMEWORK [--suite")
    assert "reported as JSON lines" in text  # the module docstring
    assert "one of jax, keras, mxnet, pytorch, tensorflow" in text
    assert "{tiny,quick,full}" in text and "{auto,cpu,cuda}" in text
    assert "only this probe (repeat)" in text


def test_the_command_line_needs_a_framework_and_checks_its_choices() -> None:
    for bad in ([], ["--framework", "x", "--device", "tpu"], ["--framework", "x", "--seed", "a"]):
        with pytest.raises(SystemExit) as caught:
            worker.parse_args(bad)
        assert caught.value.code == 2
    for suite in ("tiny", "quick", "full"):
        assert worker.parse_args(["--framework", "x", "--suite", suite]).suite == suite
    for device in ("auto", "cpu", "cuda"):
        assert worker.parse_args(["--framework", "x", "--device", device]).device == device
    args = worker.parse_args(["--framework", "x", "--seed", "7", "--probe", "a", "--probe", "b"])
    assert args.seed == 7 and args.probe == ["a", "b"] and args.framework == "x"


def test_main_passes_a_chosen_device_through(
    stdout_restored: None, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    made = []

    def load(framework: str, device: str, threads: int) -> Any:
        made.append(device)
        return numpy_backend.NumpyBackend()

    monkeypatch.setattr(worker, "load_backend", load)
    worker.main(["--framework", "numpy", "--device", "cuda", "--probe", "import_time"])
    assert made == ["cuda"] and _lines(capfd.readouterr().out)[0]["device"] == "cuda"


def test_main_runs_a_frontends_own_probes(
    stdout_restored: None, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "load_backend", lambda *_: numpy_backend.NumpyFrontend(error=0.5))
    assert worker.main(["--framework", "numpy", "--suite", "tiny"]) == 0
    messages = _lines(capfd.readouterr().out)
    assert tuple(messages[0]["probes"]) == worker.suite_probes("tiny", frontend=True)
    assert {m["probe"] for m in messages if m["type"] == "result"} == set(messages[0]["probes"])


def test_the_dispatch_chain_adds_to_float32_zeros() -> None:
    backend = numpy_backend.NumpyBackend()
    seen = []
    chain = backend.add_chain

    def add_chain(x: np.ndarray, ops: int) -> Any:
        seen.append((x.dtype, x.shape, float(np.abs(x).sum()), ops))
        return chain(x, ops)

    backend.add_chain = add_chain
    (result,) = run(backend, "dispatch_overhead")
    assert result["status"] == "ok" and seen == [(np.float32, (16,), 0.0, 5)]


def test_a_capability_probe_made_afresh_reports_the_backends_answer() -> None:
    """The probe table is built at import; building one here runs `_capability` itself."""
    backend = numpy_backend.NumpyBackend()
    c = context(backend)
    assert list(worker._capability("mixed_precision")(c)) == [
        worker.ok(1.0, "bool", {}, detail="float16 arrays work")
    ]
    (gpu,) = worker._capability("gpu")(c)
    assert (gpu["value"], gpu["details"]) == (0.0, {"detail": "numpy runs on the CPU only"})
    (onnx,) = worker._capability("onnx_export")(c)
    assert onnx["details"] == {"detail": "no ONNX exporter in numpy", "unknown": True}
    with pytest.raises(RuntimeError, match=r"^numpy does not report compile$"):
        list(worker._capability("compile")(c))


def test_every_probes_records_name_their_shapes_units_and_direction() -> None:
    backend = numpy_backend.NumpyBackend()
    c = context(backend)
    seen = {}
    for probe in ("lstm_forward", "inference_latency", "conv_train_step", "dispatch_overhead"):
        (result,) = run(backend, probe, c=c)
        seen[probe] = (result["unit"], result["higher_is_better"], result["params"])
    assert seen == {
        "lstm_forward": (
            "sequences/s",
            True,
            {"batch": 2, "steps": 3, "inputs": 4, "hidden": 5, "dtype": "float32"},
        ),
        "inference_latency": (
            "ms",
            False,
            {
                "batch": 1,
                "inputs": 6,
                "hidden": 8,
                "outputs": 3,
                "dtype": "float32",
                "mode": "eager",
            },
        ),
        "conv_train_step": (
            "images/s",
            True,
            {"batch": 2, "channels": 2, "size": 4, "kernel": 3, "dtype": "float32"},
        ),
        "dispatch_overhead": (
            "µs/op",
            False,
            {"elements": 16, "ops": 5, "dtype": "float32", "mode": "eager"},
        ),
    }
    (lstm,) = run(backend, "lstm_forward", c=c)
    weights, x = ref.lstm_problem(0, *SIZES.lstm)
    assert lstm["details"]["checksum"] == pytest.approx(
        ref.checksum(ref.lstm_last_hidden(weights, x))
    )


def test_latency_is_in_milliseconds_per_single_input_call() -> None:
    backend = numpy_backend.NumpyBackend()
    forward = backend.mlp_forward
    shapes = []

    def slow(m: Any, x: np.ndarray) -> Any:
        shapes.append(x.shape)
        prepared = forward(m, x)
        inner = prepared.run

        def run_slowly() -> Any:
            import time

            time.sleep(0.004)
            return inner()

        prepared.run = run_slowly
        return prepared

    backend.mlp_forward = slow
    (result,) = run(backend, "inference_latency")
    assert shapes == [(1, 6)]
    assert 4.0 <= result["value"] < 40.0  # 4 ms calls, in ms
    assert result["spread"]["repeats"] == SIZES.latency_calls
    figures_p95 = result["details"]["p95_ms"]
    assert result["value"] <= figures_p95 < 40.0


def test_a_frontends_records_name_their_shapes_and_units() -> None:
    backend = numpy_backend.NumpyFrontend(delay=0.0)
    c = context(backend)
    mlp = run(backend, "mlp_train", c=c)
    conv = run(backend, "conv_train_step", c=c)
    block = run(backend, "transformer", c=c)
    assert [(r["unit"], r["params"]) for r in mlp] == [
        ("steps/s", {"backend": "numpy", "batch": 4, "inputs": 6, "hidden": 8, "outputs": 3,
                     "dtype": "float32", "implementation": label})
        for label in ("keras", "native")
    ]  # fmt: skip
    assert [(r["unit"], r["params"]) for r in conv] == [
        ("images/s", {"backend": "numpy", "batch": 2, "channels": 2, "size": 4, "kernel": 3,
                      "dtype": "float32", "implementation": label})
        for label in ("keras", "native")
    ]  # fmt: skip
    before, after = ref.mlp_losses_over_two_steps(
        *ref.mlp_problem(0, *SIZES.mlp), worker.LEARNING_RATE
    )
    assert mlp[0]["details"]["loss_before"] == pytest.approx(before, rel=1e-6)
    assert mlp[1]["details"]["loss_after"] == pytest.approx(after, rel=1e-6)
    for record in mlp + conv:
        details = record["details"]
        assert details["timing"] == (
            "alternating rounds with the other implementation, in one process"
        )
        assert details["steps_per_round"] >= 1 and details["first_call_s"] >= 0
    overheads = run(backend, "keras_overhead", c=c)
    assert [o["details"]["shapes"] for o in overheads] == [
        {"batch": 4, "inputs": 6, "hidden": 8, "outputs": 3},
        {"batch": 2, "channels": 2, "size": 4, "kernel": 3},
        SIZES.transformer[0].params(),
    ]
    assert [(r["unit"], r["params"]) for r in block] == [
        ("ms", {"backend": "numpy", **SIZES.transformer[0].params(), "pass": "train",
                "implementation": label})
        for label in ("keras", "native")
    ]  # fmt: skip
    for overhead in overheads:
        assert overhead["unit"] == "x" and overhead["details"]["method"].startswith(
            "ratio of the median per-step times (keras / native)"
        )
        assert overhead["details"]["native_execution"].startswith("numpy ")
        assert overhead["spread"]["repeats"] == overhead["details"]["rounds"]


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="Linux /proc only")
def test_every_timed_record_says_how_busy_the_rest_of_the_machine_was() -> None:
    """The other-load figure goes with every figure that was timed, native and front-end alike,
    so that a figure taken on a busy machine can be told apart."""
    native = numpy_backend.NumpyBackend()
    records = run(native, "matmul", "mlp_train", "conv_train_step", "lstm_forward",
                  "inference_latency", "dispatch_overhead", c=context(native))  # fmt: skip
    frontend = numpy_backend.NumpyFrontend(delay=0.0)
    records += run(frontend, "mlp_train", "conv_train_step", "transformer", "keras_overhead",
                   c=context(frontend))  # fmt: skip
    assert len(records) == 17 and {r["status"] for r in records} == {"ok"}  # 8 native, 9 front-end
    assert [r["params"] for r in records if "other_load_cpus" not in r["details"]] == []


def test_times_in_the_details_are_given_to_four_places() -> None:
    """Seconds and milliseconds in a record's details are rounded to 4 places (as floats)."""
    frontend = numpy_backend.NumpyFrontend(delay=0.0)
    c = worker.Context(frontend, SIZES, seed=0, import_seconds=0.123456)
    (imported,) = run(frontend, "import_time", c=c)
    assert imported["value"] == 0.1235
    records = run(frontend, "mlp_train", "conv_train_step", "transformer", "keras_overhead", c=c)
    timings = [r["details"]["first_call_s"] for r in records[:6]]
    for overhead in records[6:]:
        details = overhead["details"]
        timings += [details[k] for k in ("interval_low", "interval_high", "keras_ms", "native_ms")]
    assert len(timings) == 18
    assert all(isinstance(t, float) and t == round(t, 4) for t in timings), timings
