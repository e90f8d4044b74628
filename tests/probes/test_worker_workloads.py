"""The transformer and all-reduce probes in the real worker, over the numpy backend
(`fake_workers/numpy_backend.py`): a block that computes the same function is timed per mode
with its FLOP rate and first call; one that computes something else, in its output or in one
AdamW update, fails and is never timed; the all-reduce job reports time, algbw and busbw per
size and gives capability.distributed its answer."""

from __future__ import annotations

from typing import Any

import pytest

from probes import transformer as tr
from probes import worker
from probes.frameworks.base import Collective
from tests.probes.test_worker_checks import SIZES, numpy_backend, run


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
