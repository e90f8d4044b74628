"""The transformer and all-reduce probes in the real worker, over the numpy backend
(`fake_workers/numpy_backend.py`): a block that computes the same function is timed per mode
with its FLOP rate and first call; one that computes something else, in its output or in one
AdamW update, fails and is never timed; the all-reduce job reports time, algbw and busbw per
size and gives capability.distributed its answer."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from probes import transformer as tr
from probes import worker
from probes.frameworks.base import Capability, Collective
from probes.timing import Timed, percentile, summarise
from tests.probes.test_worker_checks import SIZES, numpy_backend, run
from tests.probes.test_worker_mutants import fake_clock, spy_ok


@pytest.fixture(autouse=True)
def no_settle_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("probes.timing.SETTLE_S", 0.0)


def _by(results: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
    (found,) = [r for r in results if all(r["params"].get(k) == v for k, v in params.items())]
    return found


def test_a_faithful_block_is_timed_per_mode_and_pass_with_its_flop_rate_and_first_call() -> None:
    results = run(numpy_backend.NumpyBackend(), "transformer")
    shape = SIZES.transformer[0]
    assert len(results) == 8  # 2 modes x (forward, train, and their two first calls)
    for mode in ("eager", "compiled"):
        for kind, flops in (("forward", tr.forward_flops(shape)), ("train", tr.train_flops(shape))):
            timed = _by(results, mode=mode, **{"pass": kind}, figure=None)
            assert timed["status"] == "ok", timed
            assert timed["unit"] == "ms" and timed["higher_is_better"] is False
            assert timed["params"] == {**shape.params(), "mode": mode, "pass": kind}
            assert timed["spread"]["repeats"] == 3 and "ci95" in timed["spread"]
            expected_rate = flops / 1e9 / (timed["value"] / 1e3)
            assert timed["details"]["gflop_per_s"] == pytest.approx(expected_rate, rel=1e-3)
            assert timed["details"]["max_rel_error"] < 1e-6
            first = _by(results, mode=mode, **{"pass": kind}, figure="first_call")
            assert first["unit"] == "s" and first["value"] > 0
    train = _by(results, mode="eager", **{"pass": "train"}, figure=None)
    assert train["details"]["update_mismatch_share"] == 0.0
    block, x, target = tr.problem(0, shape)
    assert train["details"]["loss_after_step"] < tr.loss(block, x, target)  # the step descends


def test_flops_follow_the_formula_of_the_facts() -> None:
    small = tr.BlockShape(batch=8, seq=128, d_model=256, heads=4, d_ff=1024)
    assert tr.forward_flops(small) == pytest.approx(1.745e9, rel=1e-3)  # workload-probes.md
    assert tr.train_flops(small) == 3 * tr.forward_flops(small)
    large = tr.BlockShape(batch=8, seq=256, d_model=512, heads=8, d_ff=2048)
    assert tr.forward_flops(large) == pytest.approx(13.96e9, rel=1e-3)


@pytest.mark.parametrize("change", ["unscaled"])
def test_a_block_that_computes_something_else_fails_and_is_not_timed(change: str) -> None:
    backend = numpy_backend.NumpyBackend(block_change=change)
    results = run(backend, "transformer")
    timed = [r for r in results if r["params"].get("figure") is None]
    assert len(timed) == 4 and all(r["status"] == "failed" for r in timed)
    assert all("differs from the numpy reference" in r["error"] for r in timed)
    assert backend.synced == 1 * 4  # the first call of each job only, never the timing loop


def test_an_update_that_skips_the_weight_decay_fails_the_training_step_only() -> None:
    backend = numpy_backend.NumpyBackend(block_change="update")
    results = run(backend, "transformer")
    forward = _by(results, mode="eager", **{"pass": "forward"}, figure=None)
    train = _by(results, mode="eager", **{"pass": "train"}, figure=None)
    assert forward["status"] == "ok"
    assert train["status"] == "failed"
    assert "one AdamW step differs from the reference's" in train["error"]


def test_a_small_error_in_the_output_fails_the_forward_check() -> None:
    results = run(numpy_backend.NumpyBackend(error=1e-4), "transformer")
    forward = _by(results, mode="eager", **{"pass": "forward"}, figure=None)
    assert forward["status"] == "failed" and "1.00e-04 > 1e-05" in forward["error"]


def test_the_update_check_ignores_only_gradients_float32_cannot_sign() -> None:
    shape = tr.BlockShape(batch=2, seq=4, d_model=8, heads=2, d_ff=16)
    block, x, target = tr.problem(0, shape)
    grads = tr.gradients(block, x, target)
    expected = tr.adamw_step(block, grads)
    assert tr.update_mismatch(expected, grads, expected.weights) == 0.0
    # the key bias's gradient is zero in exact arithmetic: its weights are not checked
    d = shape.d_model
    assert abs(grads["b_qkv"][d : 2 * d]).max() < 1e-12
    flipped = {**expected.weights, "b_qkv": expected.weights["b_qkv"].copy()}
    flipped["b_qkv"][d : 2 * d] += 2 * tr.LEARNING_RATE
    assert tr.update_mismatch(expected, grads, flipped) == 0.0
    flipped["b_qkv"][:d] += 2 * tr.LEARNING_RATE  # the query bias is checked
    assert tr.update_mismatch(expected, grads, flipped) > 0


def test_the_all_reduce_reports_time_algbw_and_busbw_per_size_and_answers_distributed() -> None:
    backend = numpy_backend.NumpyBackend()
    c = worker.Context(backend, SIZES, seed=0, import_seconds=0.1)
    results = run(backend, "allreduce", "capability.distributed", c=c)
    sizes = [r for r in results if r["probe"] == "allreduce"]
    assert [r["params"]["bytes"] for r in sizes] == [64, 4096]
    for r in sizes:
        assert r["status"] == "ok" and r["unit"] == "µs" and r["higher_is_better"] is False
        assert r["params"] == {"bytes": r["params"]["bytes"], "processes": 2, "dtype": "float32"}
        assert r["spread"]["repeats"] == 3
        algbw = r["params"]["bytes"] / (r["value"] / 1e6) / 1e9
        assert r["details"]["algbw_gb_s"] == pytest.approx(algbw, rel=0.01, abs=1e-4)
        assert r["details"]["busbw_gb_s"] == r["details"]["algbw_gb_s"]  # 2 (n - 1) / n = 1
        assert "not multi-node scaling" in r["details"]["scope"]
    (capability,) = [r for r in results if r["probe"] == "capability.distributed"]
    assert capability["value"] == 1.0
    assert capability["details"]["detail"] == "numpy sums over 2 processes: correct sums"


def test_a_wrong_all_reduce_fails_its_sizes_and_the_capability() -> None:
    wrong = Collective(numpy_backend.HONEST_ALL_REDUCE.replace("/ 2,", "/ 2 + 1,"), "off by one")
    backend = numpy_backend.NumpyBackend(collective=wrong)
    c = worker.Context(backend, SIZES, seed=0, import_seconds=0.1)
    results = run(backend, "allreduce", "capability.distributed", c=c)
    sizes = [r for r in results if r["probe"] == "allreduce"]
    assert all(r["status"] == "failed" for r in sizes)
    assert all("off by 1 from the exact sum" in r["error"] for r in sizes)
    (capability,) = [r for r in results if r["probe"] == "capability.distributed"]
    assert capability["value"] == 0.0 and "wrong sums" in capability["details"]["detail"]


def test_without_a_collective_layer_the_probe_fails_and_the_capability_is_absent() -> None:
    backend = numpy_backend.NumpyBackend(collective=None)
    results = run(backend, "allreduce", "capability.distributed")
    (failed,) = [r for r in results if r["probe"] == "allreduce"]
    assert failed["status"] == "failed" and "no collective layer" in failed["error"]
    (capability,) = [r for r in results if r["probe"] == "capability.distributed"]
    assert capability["value"] == 0.0


def test_capability_distributed_runs_its_own_small_job_when_the_probe_did_not_run() -> None:
    results = run(numpy_backend.NumpyBackend(), "capability.distributed")
    (capability,) = results
    assert capability["value"] == 1.0
    assert capability["details"]["detail"].startswith("numpy sums over 2 processes works")


# -- exact figures, texts and arguments (fixed samples, a fake clock, a fake all-reduce) ---------
def _fixed_samples(monkeypatch: pytest.MonkeyPatch, timed: Timed) -> None:
    monkeypatch.setattr(worker, "measure", lambda call, sync, budget: timed)


FIRST_NOTE = "preparing the block and its first call (tracing and compilation included)"


def test_the_transformer_figures_are_exact_from_fixed_samples_and_afake_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    samples = [0.001, 0.0005, 0.002]  # median 1 ms
    _fixed_samples(monkeypatch, Timed(samples, 0.25))
    fake_clock(monkeypatch, 10.0, 0.123456)
    # a forward FLOP count at a rounding edge of 4 decimals in GFLOP, a training one at the edge
    # of 4 significant digits in GFLOP/s
    monkeypatch.setattr(tr, "forward_flops", lambda shape: 1234550001.0)
    monkeypatch.setattr(tr, "train_flops", lambda shape: 1234500001.0)
    problems: list[Any] = []
    problem = tr.problem
    monkeypatch.setattr(
        tr, "problem", lambda seed, shape: problems.append(seed) or problem(seed, shape)
    )
    backend = numpy_backend.NumpyBackend()
    asked: list[Any] = []
    synced: list[Any] = []
    transformer, sync = backend.transformer, backend.sync
    backend.transformer = lambda block, x, target, mode: (
        asked.append(  # type: ignore[method-assign]
            (target is None, mode)
        )
        or transformer(block, x, target, mode)
    )
    backend.sync = lambda result: synced.append(result) or sync(result)  # type: ignore[method-assign]
    c = worker.Context(backend, SIZES, seed=5, import_seconds=0.1, suite="tiny")
    results = run(backend, "transformer", c=c)
    shape = SIZES.transformer[0]
    assert problems == [5, 5]  # c.seed, once per mode
    assert asked == [(True, "eager"), (False, "eager"), (True, "compiled"), (False, "compiled")]
    assert len(synced) == 4 and all(s is not None for s in synced)
    figures = [s * 1e3 for s in samples]
    for mode in ("eager", "compiled"):
        forward = _by(results, mode=mode, **{"pass": "forward"}, figure=None)
        train = _by(results, mode=mode, **{"pass": "train"}, figure=None)
        for r, kind in ((forward, "forward"), (train, "train")):
            assert r["value"] == percentile(figures, 50) == 1.0
            assert r["spread"] == summarise(figures)
            assert r["details"]["execution"] == f"numpy transformer.{mode}.{kind}"
            assert r["details"]["other_load_cpus"] == 0.25
        assert forward["details"]["gflop"] == 1.2346
        assert forward["details"]["gflop_per_s"] == 1235.0
        assert train["details"]["gflop"] == 1.2345
        assert train["details"]["gflop_per_s"] == 1235.0  # 1234.500001, above the half
        for kind in ("forward", "train"):
            first = _by(results, mode=mode, **{"pass": kind}, figure="first_call")
            assert first["value"] == 0.1235  # 0.123456 s by the fake clock, to 4 places
            assert first["unit"] == "s" and first["higher_is_better"] is False
            assert first["params"] == {
                **shape.params(),
                "mode": mode,
                "pass": kind,
                "figure": "first_call",
            }
            assert first["details"] == {
                "note": FIRST_NOTE,
                "execution": f"numpy transformer.{mode}.{kind}",
            }


def test_the_transformer_blocks_follow_the_device_and_its_modes_the_suite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fixed_samples(monkeypatch, Timed([0.001], None))
    gpu_shape = tr.BlockShape(batch=1, seq=2, d_model=4, heads=1, d_ff=8)
    monkeypatch.setattr(worker, "GPU_BLOCKS", (gpu_shape,))

    def shapes_and_modes(backend: Any, suite: str) -> set[tuple[Any, ...]]:
        c = worker.Context(backend, SIZES, seed=0, import_seconds=0.1, suite=suite)
        results = run(backend, "transformer", c=c)
        assert all(r["status"] == "ok" for r in results), results
        return {(r["params"]["d_model"], r["params"]["mode"]) for r in results}

    cuda = numpy_backend.NumpyBackend()
    cuda.device = "cuda"  # type: ignore[misc]
    assert shapes_and_modes(cuda, "quick") == {(4, "eager"), (4, "compiled")}
    cpu = numpy_backend.NumpyBackend()
    assert shapes_and_modes(cpu, "full") == {(8, "eager"), (8, "compiled"), (8, "graph")}
    assert shapes_and_modes(cpu, "tiny") == {(8, "eager"), (8, "compiled")}  # quick's


def test_a_training_step_without_weights_fails_in_these_words() -> None:
    shape = SIZES.transformer[0]
    block, x, target = tr.problem(0, shape)
    job = worker.Prepared(lambda: 0.0, np.asarray)
    with pytest.raises(RuntimeError) as caught:
        worker._check_transformer_step(job, worker._step_reference(block, x, target), 0.0)
    assert str(caught.value) == "the training step does not expose its weights"


def test_an_update_mismatch_at_exactly_the_allowed_share_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shape = SIZES.transformer[0]
    block, x, target = tr.problem(0, shape)
    job = numpy_backend.NumpyBackend().transformer(block, x, target, "eager")
    monkeypatch.setattr(tr, "update_mismatch", lambda *a: tr.UPDATE_MISMATCH_SHARE)
    loss = float(job.fetch(job.run()))
    checks = worker._check_transformer_step(job, worker._step_reference(block, x, target), loss)
    assert checks["update_mismatch_share"] == tr.UPDATE_MISMATCH_SHARE


def test_capability_distributed_without_a_layer_and_with_one_passes_its_helpers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare = numpy_backend.NumpyBackend(collective=None)
    assert worker._distributed(worker.Context(bare, SIZES, seed=0, import_seconds=0.1)) == (
        Capability(False, "numpy has no collective layer in this build")
    )
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(
        worker.collectives, "check_all_reduce", lambda script, **kw: calls.append((script, kw))
    )
    backend = numpy_backend.NumpyBackend(collective=Collective("the script", "a layer", helpers=3))
    found = worker._distributed(worker.Context(backend, SIZES, seed=0, import_seconds=0.1))
    assert calls == [("the script", {"helpers": 3})]
    assert found.present is True and found.detail.startswith("a layer over 2 processes works")


SCOPE = "one machine: the collective layer's overhead, not multi-node scaling"


def test_the_all_reduce_figures_are_exact_from_fixed_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from probes.collectives import SizeResult

    seconds = [0.001, 0.0005, 0.004]  # median 1 ms; the 51st percentile is not
    nbytes = 1234567851  # 1234.567851 GB/s: at a rounding edge of 4 decimals
    asked: list[tuple[Any, ...]] = []

    def all_reduce(*args: Any) -> list[SizeResult]:
        asked.append(args)
        return [SizeResult(64, [1e-6], 1.0), SizeResult(nbytes, list(seconds), 0.0)]

    monkeypatch.setattr(worker.collectives, "all_reduce", all_reduce)
    fake_clock(monkeypatch, 100.0, 0.12345)
    seen = spy_ok(monkeypatch)
    backend = numpy_backend.NumpyBackend(collective=Collective("the script", "a layer", helpers=3))
    c = worker.Context(backend, SIZES, seed=0, import_seconds=0.1)
    wrong, right = run(backend, "allreduce", c=c)
    assert asked == [("the script", (64, 4096), 1, 3, 2, 3)]
    assert wrong["status"] == "failed"
    assert wrong["params"] == {"bytes": 64, "processes": 2, "dtype": "float32"}
    assert wrong["error"] == "Mismatch: the all-reduce is off by 1 from the exact sum"
    assert c.collective == Capability(False, "a layer over 2 processes: wrong sums")
    assert seen == [Timed(seconds, None)]
    micros = [s * 1e6 for s in seconds]
    assert right["status"] == "ok" and right["value"] == percentile(micros, 50)
    assert right["unit"] == "µs" and right["higher_is_better"] is False
    assert right["spread"] == summarise(micros)
    assert right["details"] == {
        "algbw_gb_s": 1234.5679,
        "busbw_gb_s": 1234.5679,
        "transport": "a layer",
        "job_wall_s": 0.123,
        "correct": True,
        "scope": SCOPE,
    }


def test_the_all_reduce_wall_time_is_rounded_to_3_places(monkeypatch: pytest.MonkeyPatch) -> None:
    from probes.collectives import SizeResult

    monkeypatch.setattr(worker.collectives, "all_reduce", lambda *a: [SizeResult(64, [0.001], 0.0)])
    fake_clock(monkeypatch, 100.0, 1.2346)
    (result,) = run(numpy_backend.NumpyBackend(), "allreduce")
    assert result["details"]["job_wall_s"] == 1.235


def test_a_failing_all_reduce_job_answers_distributed_with_its_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def all_reduce(*args: Any) -> Any:
        raise RuntimeError("rank 1\n   exited")

    monkeypatch.setattr(worker.collectives, "all_reduce", all_reduce)
    backend = numpy_backend.NumpyBackend()
    c = worker.Context(backend, SIZES, seed=0, import_seconds=0.1)
    (result,) = run(backend, "allreduce", c=c)
    assert result["status"] == "failed" and result["error"] == "RuntimeError: rank 1 exited"
    assert c.collective == Capability(False, "numpy sums failed: RuntimeError: rank 1 exited")


def test_the_procs_option_is_an_int_of_default_2_with_its_help() -> None:
    import contextlib
    import io

    assert worker.parse_args(["--framework", "x"]).procs == 2
    assert worker.parse_args(["--framework", "x", "--procs", "4"]).procs == 4
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        worker.parse_args(["--help"])
    text = " ".join(out.getvalue().split())
    assert "--procs PROCS ranks of the all-reduce probe" in text


def test_main_builds_the_context_from_the_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[worker.Context] = []
    monkeypatch.setattr(worker, "load_backend", lambda *_: numpy_backend.NumpyBackend())
    monkeypatch.setattr(worker, "run_probe", lambda channel, c, name: made.append(c))
    monkeypatch.setattr(worker, "Channel", lambda: SimpleNamespace(send=lambda *a, **k: None))
    argv = ["--framework", "numpy", "--suite", "full", "--threads", "3", "--seed", "7"]
    assert worker.main([*argv, "--procs", "4", "--probe", "import_time"]) == 0
    (c,) = made
    assert (c.seed, c.suite, c.threads, c.processes) == (7, "full", 3, 4)
    assert c.sizes == worker.suite_sizes("full")
