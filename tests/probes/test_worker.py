"""The real probe workers: every probe in TensorFlow, PyTorch, MXNet and JAX, each in its interpreter.

The tiny suite runs once per module through the real runner; the tests then check the figures
are positive, finite and consistent with each other and across frameworks.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor.cli.probe import probe_plan
from probes.catalogue import CAPABILITY_PROBES, PROBES
from probes.config import Interpreter, load_config
from probes.records import ProbeRecord, ProbeStatus
from probes.runner import RunOptions, parse_message, run_probes, worker_environment

REPO = Path(__file__).resolve().parents[2]
FRAMEWORKS = ("pytorch", "tensorflow", "mxnet", "jax")

pytestmark = pytest.mark.frameworks


# The interpreters the registry declares (knowledge/frameworks/<id>.toml), as `advisor probe` uses.
INTERPRETERS = {
    item.framework: Interpreter(item.interpreter, item.source)
    for item in probe_plan(list(FRAMEWORKS), {}, load_config(REPO / "advisor.toml"))
}
MISSING = {fw: i.path for fw, i in INTERPRETERS.items() if not i.exists()}


@pytest.fixture(scope="module")
def tiny() -> Iterator[dict[str, list[ProbeRecord]]]:
    present = {fw: i for fw, i in INTERPRETERS.items() if fw not in MISSING}
    records = run_probes(present, RunOptions(suite="tiny", threads=2, timeout_s=120))
    yield {fw: [r for r in records if r.framework == fw] for fw in present}


def _present(framework: str) -> None:
    if framework in MISSING:
        pytest.skip(f"{framework} interpreter {MISSING[framework]} is missing (run ./setup.sh)")


def _ok(records: list[ProbeRecord], probe: str) -> list[ProbeRecord]:
    found = [r for r in records if r.probe == probe]
    assert found, f"no {probe} record"
    for record in found:
        assert record.status is ProbeStatus.OK, f"{record.framework} {probe}: {record.error}"
    return found


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_probe_ran_and_gave_a_positive_finite_figure(
    tiny: dict[str, list[ProbeRecord]], framework: str
) -> None:
    _present(framework)
    records = tiny[framework]
    assert {r.probe for r in records} == set(PROBES)
    for record in records:
        assert record.status is ProbeStatus.OK, f"{record.probe}: {record.error}"
        assert record.value is not None and math.isfinite(record.value)
        if record.probe in CAPABILITY_PROBES:
            assert record.value in (0.0, 1.0) and record.details["detail"]
        else:
            assert record.value > 0 or record.probe == "train_peak_memory", record
            assert record.params["device"] == "cpu" and record.params["threads"] == 2
    assert records[0].versions[framework] and records[0].versions["numpy"]
    assert records[0].machine["cpu_model"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_figures_are_internally_consistent(
    tiny: dict[str, list[ProbeRecord]], framework: str
) -> None:
    _present(framework)
    records = tiny[framework]
    for record in _ok(records, "matmul") + _ok(records, "lstm_forward"):
        assert record.details["max_rel_error"] < 2e-3
    modes = {r.params["mode"]: r for r in _ok(records, "mlp_train")}
    assert set(modes) == {"eager", "compiled"}
    eager, compiled = modes["eager"].details, modes["compiled"].details
    assert compiled["loss_before"] == pytest.approx(eager["loss_before"], rel=1e-4)
    assert compiled["loss_after"] == pytest.approx(eager["loss_after"], rel=1e-4)
    assert eager["loss_after"] < eager["loss_before"]
    (latency,) = _ok(records, "inference_latency")
    assert latency.details["p95_ms"] >= latency.value
    assert not latency.higher_is_better
    (compiled_capability,) = _ok(records, "capability.compile")
    assert compiled_capability.value == 1.0, compiled_capability.details
    assert "matches the reference" in compiled_capability.details["detail"]
    assert modes["compiled"].details["first_call_s"] > 0
    assert all(r.details["other_load_cpus"] >= 0 for r in _ok(records, "matmul"))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_larger_matmul_runs_faster(tiny: dict[str, list[ProbeRecord]], framework: str) -> None:
    """Per-call overhead weighs less on larger products; a probe timing only overhead fails."""
    _present(framework)
    matmuls = _ok(tiny[framework], "matmul")
    busy = [r.details["warning"] for r in matmuls if "warning" in r.details]
    if busy:  # not the probe's fault: another process took the cores (recorded with the figure)
        pytest.skip(f"machine busy while measuring: {busy[0]}")
    by_size = {r.params["n"]: r.value or 0.0 for r in matmuls}
    small, large = min(by_size), max(by_size)
    assert by_size[large] > by_size[small], f"{large}x{large} matmul slower than {small}x{small}"


def test_frameworks_agree_on_the_training_steps(tiny: dict[str, list[ProbeRecord]]) -> None:
    """Same weights, same data, same SGD step: the loss after it matches across frameworks."""
    if len(tiny) < 2:
        pytest.skip("fewer than two framework interpreters present: " + ", ".join(MISSING))
    conv = {fw: _ok(records, "conv_train_step")[0].details for fw, records in tiny.items()}
    first = next(iter(conv.values()))
    for details in conv.values():
        assert details["loss_after_step"] == pytest.approx(first["loss_after_step"], rel=1e-3)
        assert details["loss_before"] == pytest.approx(first["loss_before"], rel=1e-4)


def test_transformer_blocks_compute_the_same_function_in_every_framework(
    tiny: dict[str, list[ProbeRecord]],
) -> None:
    """One seeded weight set, copied into each framework: every mode's output matches the
    float64 reference, every AdamW update lands on the reference's, and the loss after the step
    agrees across frameworks."""
    after: dict[str, float] = {}
    for fw, records in tiny.items():
        timed = [r for r in _ok(records, "transformer") if "figure" not in r.params]
        assert {r.params["pass"] for r in timed} == {"forward", "train"}, fw
        for record in timed:
            assert record.details["max_rel_error"] < 1e-5, (fw, record.params)
            assert record.details["gflop_per_s"] > 0 and record.spread.ci95 is not None
            if record.params["pass"] == "train":
                assert record.details["update_mismatch_share"] == 0.0, (fw, record.details)
                after[f"{fw} {record.params['mode']}"] = record.details["loss_after_step"]
        firsts = [r for r in _ok(records, "transformer") if r.params.get("figure") == "first_call"]
        assert len(firsts) == len(timed) and all((r.value or 0) > 0 for r in firsts)
    reference = next(iter(after.values()))
    for label, loss in after.items():
        assert loss == pytest.approx(reference, rel=1e-4), label


def test_all_reduce_runs_through_each_frameworks_collective_layer_with_exact_sums(
    tiny: dict[str, list[ProbeRecord]],
) -> None:
    assert {"pytorch", "tensorflow", "jax"} - set(MISSING) <= set(tiny)
    for fw, records in tiny.items():
        (record,) = _ok(records, "allreduce")
        assert record.params["processes"] == 2 and record.params["bytes"] == 4096, fw
        assert record.details["correct"] is True and record.details["busbw_gb_s"] > 0, fw
        assert record.value is not None and 0 < record.value < 1e6, fw  # µs per all-reduce
        (capability,) = _ok(records, "capability.distributed")
        assert capability.value == 1.0 and "correct sums" in capability.details["detail"], fw


def test_a_changed_block_in_a_real_framework_fails_the_equality_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PyTorch's block with the exact (erf) GELU instead of the tanh form: 1e-3 apart, so the
    forward check and the training step's check must both refuse it, untimed."""
    torch = pytest.importorskip("torch", reason="PyTorch is not in this interpreter")
    from probes import worker
    from probes.catalogue import suite_sizes
    from probes.frameworks.pytorch import make_backend

    gelu = torch.nn.functional.gelu
    monkeypatch.setattr(torch.nn.functional, "gelu", lambda u, approximate="none": gelu(u))
    backend = make_backend("cpu", 1)
    sent: list[dict[str, object]] = []

    class Channel:
        def send(self, kind: str, **fields: object) -> None:
            sent.append({"type": kind, **fields})

    sizes = dataclasses.replace(suite_sizes("quick"), transformer_passes=("forward", "train"))
    c = worker.Context(backend, sizes, seed=0, import_seconds=0.0)
    worker.run_probe(Channel(), c, "transformer")  # type: ignore[arg-type]
    timed = [m for m in sent if m["type"] == "result" and "figure" not in m["params"]]  # type: ignore[operator]
    assert len(timed) == 2
    for message in timed:
        assert message["status"] == "failed", message["details"]
        assert "differs from the numpy reference" in str(message["error"])


def test_jax_records_name_the_release_and_how_threads_were_held(
    tiny: dict[str, list[ProbeRecord]],
) -> None:
    """Every JAX record says which jax/jaxlib it measured (0.12 on Python >= 3.12, else the
    0.10.2 fallback) and how its threads were restricted (XLA ignores thread settings)."""
    _present("jax")
    records = tiny["jax"]
    versions = records[0].versions
    assert versions["jax"] and versions["jaxlib"] == versions["jax"], versions
    modern = tuple(int(p) for p in versions["python"].split(".")[:2]) >= (3, 12)
    assert versions["jax"].startswith("0.12." if modern else "0.10."), versions
    for record in records:
        assert record.versions == versions
        assert "CPU affinity" in record.details["threading"], record.details
        assert "disabled" in record.details["compilation_cache"]
    modes = {r.params["mode"]: r.details for r in _ok(records, "mlp_train")}
    assert modes["compiled"]["execution"].startswith("jax.jit")
    assert modes["eager"]["execution"].startswith("eager: un-jitted")
    assert modes["eager"]["first_call_s"] > 0 and modes["compiled"]["first_call_s"] > 0
    (onnx,) = _ok(records, "capability.onnx_export")
    assert onnx.value == 0.0 and onnx.details["unknown"] is True
    assert "no official ONNX" in onnx.details["detail"] and "failed" not in onnx.details["detail"]
    (distributed,) = _ok(records, "capability.distributed")
    assert distributed.value == 1.0, distributed.details  # a real 2-process psum over Gloo


def _worker(*args: str, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-m", "probes.worker", "--threads", "1", *args],
        cwd=REPO, env=worker_environment(1, REPO, os.environ), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_distributed_is_a_real_collective_and_an_untestable_onnx_export_is_unknown(
    framework: str,
) -> None:
    """capability.distributed runs an all-reduce over 2 processes on 127.0.0.1 (Gloo; TF's
    MultiWorkerMirroredStrategy; MXNet's dist_sync kvstore with a scheduler and a server), and
    onnx_export, where onnx or onnxruntime is not installed, is unknown with the reason."""
    _present(framework)
    python = INTERPRETERS[framework].path
    result = _worker(
        "--framework", framework, "--suite", "tiny",
        "--probe", "capability.distributed", "--probe", "capability.onnx_export", python=python,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    records = {
        m["probe"]: m for m in map(json.loads, result.stdout.splitlines()) if m["type"] == "result"
    }
    distributed = records["capability.distributed"]
    assert distributed["status"] == "ok" and distributed["value"] == 1.0, distributed
    assert (
        "2 processes" in distributed["details"]["detail"]
        or "2 workers" in (distributed["details"]["detail"])
    )
    onnx = records["capability.onnx_export"]
    assert onnx["status"] == "ok", onnx
    check = subprocess.run(
        [python, "-c", "import importlib.util as u; print(all(u.find_spec(m) for m in "
         "('onnx', 'onnxruntime')))"], capture_output=True, text=True, check=True,
    )  # fmt: skip
    if framework == "jax":
        assert onnx["details"]["unknown"] is True  # no official exporter at all
    elif check.stdout.strip() == "False":
        assert onnx["value"] == 0.0 and onnx["details"]["unknown"] is True, onnx
        assert "cannot be tested here" in onnx["details"]["detail"]
        assert "not installed" in onnx["details"]["detail"]
    else:
        assert onnx["value"] == 1.0, onnx  # exported, run in onnxruntime, same output


def test_unknown_framework_says_so_in_hello_and_exits_3() -> None:
    result = _worker("--framework", "caffe", "--suite", "tiny")
    assert result.returncode == 3
    (hello,) = [parse_message(line) for line in result.stdout.splitlines()]
    assert hello["type"] == "hello" and "unknown framework 'caffe'" in hello["error"]


def test_stdout_carries_only_protocol_lines_whatever_the_framework_prints() -> None:
    result = _worker("--framework", "tensorflow", "--suite", "tiny", "--probe", "matmul",
                     "--probe", "no_such_probe")  # fmt: skip
    assert result.returncode == 0, result.stderr
    messages = [parse_message(line) for line in result.stdout.splitlines()]
    assert [m["type"] for m in messages] == ["hello", "start", "result", "result", "start",
                                             "result", "done"]  # fmt: skip
    assert messages[-2]["status"] == "failed" and "unknown probe" in messages[-2]["error"]
    assert json.dumps(messages[0]["fingerprint"])


def _nvidia_gpus() -> list[dict[str, object]]:
    """The machine's NVIDIA GPUs as nvidia-smi lists them: the hardware, not what a build sees."""
    from probes.fingerprint import nvidia_gpus

    return nvidia_gpus()


# Gated on the GPU alone: with one present, a CPU-only framework build is a failure of the set-up
# (./setup.sh installs the CUDA builds where nvidia-smi lists a GPU), not a reason to skip.
@pytest.mark.skipif(
    not _nvidia_gpus(), reason="no NVIDIA GPU on this machine (nvidia-smi lists none)"
)
@pytest.mark.parametrize("framework", ["pytorch", "tensorflow", "jax"])
def test_cuda_probes_run_on_the_gpu(framework: str) -> None:
    _present(framework)
    result = _worker("--framework", framework, "--suite", "tiny", "--device", "cuda",
                     "--probe", "matmul", "--probe", "train_peak_memory",
                     python=INTERPRETERS[framework].path)  # fmt: skip
    results = [m for m in map(parse_message, result.stdout.splitlines()) if m["type"] == "result"]
    assert results and all(m["status"] == "ok" for m in results), (
        f"{framework} on a machine with an NVIDIA GPU: {results or result.stderr[-2000:]} "
        "(a CPU-only build? ./setup.sh installs the CUDA builds where nvidia-smi lists a GPU)"
    )
    assert {m["params"]["dtype"] for m in results if m["probe"] == "matmul"} >= {"float16"}
