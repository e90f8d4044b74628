"""Deployment-path probes for real: an exported model run in its target runtime (ONNX Runtime,
LiteRT) in another interpreter, compared with the framework's eager output, timed; an exporter
broken on purpose must come back export_failed, mismatch or load_failed, never ok; and the probe
command plans, runs, stores and shows them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from probes.deployment import models
from probes.deployment.export import Exported, check_eager, reference_output
from probes.deployment.runtime import run_artifact
from probes.timing import Budget

REPO = Path(__file__).resolve().parents[2]
QUICK_BUDGET = Budget(warmup=2, min_repeats=10, min_seconds=0.0)


def _onnx_dense(path: Path, weight: np.ndarray, bias: np.ndarray) -> None:
    """A one-layer ONNX model (y = x W^T + b) written with the onnx package alone."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)],
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, weight.shape[1]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, weight.shape[0]])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


@pytest.fixture
def dense(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    generator = np.random.default_rng(3)
    weight = generator.standard_normal((4, 8)).astype(np.float32)
    bias = generator.standard_normal(4).astype(np.float32)
    x = generator.standard_normal((1, 8)).astype(np.float32)
    _onnx_dense(tmp_path / "dense.onnx", weight, bias)
    return tmp_path / "dense.onnx", x, (x.astype(np.float64) @ weight.T + bias)


# -- the runtime step, in this process with the real ONNX Runtime ---------------------------------
def test_an_artifact_that_reproduces_the_output_is_timed(dense: Any) -> None:
    artifact, x, expected = dense
    result = run_artifact("onnxruntime", artifact, x, expected, tolerance=1e-4, budget=QUICK_BUDGET)
    assert result["status"] == "ok", result
    assert result["max_abs_diff"] < 1e-5
    assert len(result["samples_ms"]) >= 10 and min(result["samples_ms"]) > 0
    assert result["provider"] == "CPUExecutionProvider"
    assert result["runtime_version"].count(".") >= 1


def test_an_artifact_whose_output_strays_is_a_mismatch_and_is_not_timed(dense: Any) -> None:
    artifact, x, expected = dense
    result = run_artifact(
        "onnxruntime", artifact, x, expected + 1e-3, tolerance=1e-4, budget=QUICK_BUDGET
    )
    assert result["status"] == "mismatch"
    assert "exceeds the tolerance 0.0001" in result["error"]
    assert "samples_ms" not in result


def test_a_wrong_shape_is_a_mismatch(dense: Any) -> None:
    artifact, x, expected = dense
    result = run_artifact(
        "onnxruntime", artifact, x, expected.T, tolerance=1e-4, budget=QUICK_BUDGET
    )
    assert result["status"] == "mismatch" and "output shape (1, 4)" in result["error"]


def test_a_damaged_artifact_is_load_failed(tmp_path: Path, dense: Any) -> None:
    _, x, expected = dense
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx model")
    result = run_artifact("onnxruntime", broken, x, expected, tolerance=1e-4, budget=QUICK_BUDGET)
    assert result["status"] == "load_failed"
    assert result["error"].startswith(
        ("InvalidProtobuf", "Fail", "RuntimeError", "InvalidArgument")
    )


def test_an_input_the_model_refuses_is_run_failed(dense: Any) -> None:
    artifact, _, expected = dense
    result = run_artifact(
        "onnxruntime", artifact, np.zeros((1, 3), np.float32), expected, tolerance=1e-4,
        budget=QUICK_BUDGET,
    )  # fmt: skip
    assert result["status"] == "run_failed"


@pytest.mark.frameworks
def test_a_runtime_the_interpreter_lacks_is_not_installed(tmp_path: Path, dense: Any) -> None:
    """The MXNet environment has onnx (for mx.onnx) but no ONNX Runtime."""
    artifact, x, expected = dense
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", expected)
    subprocess.run(
        [str(REPO / ".venv-mxnet" / "bin" / "python"), "-m", "probes.deployment.runtime",
         "--runtime", "onnxruntime", "--artifact", str(artifact), "--input", str(tmp_path / "x.npy"),
         "--expected", str(tmp_path / "y.npy"), "--result", str(tmp_path / "r.json")],
        cwd=REPO, check=True, timeout=60,
    )  # fmt: skip
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["status"] == "not_installed"
    assert result["error"] == (
        "ModuleNotFoundError: No module named 'onnxruntime' (install: pip install onnxruntime)"
    )


# -- the reference models --------------------------------------------------------------------------
def test_the_reference_models_have_the_facts_files_sizes() -> None:
    conv, image = models.conv_net(0)
    mlp, row = models.dense_net(0)
    assert (conv.parameters(), image.shape) == (5_418, (1, 3, 64, 64))
    assert (mlp.parameters(), row.shape) == (35_594, (1, 128))
    assert reference_output("conv", 0).shape == reference_output("mlp", 0).shape == (1, 10)


def test_a_framework_model_that_strays_from_the_reference_is_refused() -> None:
    expected = reference_output("conv", 0)
    check_eager("conv", 0, expected.astype(np.float32))
    with pytest.raises(RuntimeError, match="differs from the numpy reference"):
        check_eager("conv", 0, expected + 1e-3)


# -- whole paths, with PyTorch's real exporters ---------------------------------------------------
@pytest.mark.frameworks
class TestPyTorchPaths:
    """measure_path in this process: export with torch, run in ONNX Runtime in a subprocess."""

    def measure(self, exporter: Any = None, path: str = "onnx_legacy", model: str = "conv") -> Any:
        from probes.deployment.probe import measure_path

        return measure_path("pytorch", path, model, suite="tiny", exporter=exporter)

    def test_the_torchscript_exporter_reaches_onnx_runtime(self) -> None:
        result = self.measure()
        d = result["details"]
        assert (result["status"], d["deploy_status"]) == ("ok", "ok"), result
        assert result["unit"] == "ms" and result["higher_is_better"] is False
        assert d["ci95_low_ms"] <= result["value"] <= d["ci95_high_ms"] <= d["p90_ms"] * 10
        assert d["max_abs_diff"] <= d["tolerance"] == 1e-4
        assert d["runtime"] == "onnxruntime" and d["opset"] == 17
        assert 15_000 < d["artifact_bytes"] < 40_000  # 5,418 float32 weights and the graph
        assert result["params"] == {"path": "onnx_legacy", "model": "conv", "batch": 1}

    def test_an_exporter_that_writes_a_different_model_is_a_mismatch(self) -> None:
        from probes.deployment import pytorch

        def drifting(model: str, seed: int, folder: Path) -> Exported:
            # the artifact comes from other weights than the eager output it is compared with
            exported = pytorch.onnx_legacy(model, seed + 1, folder)
            exported.eager = pytorch.onnx_legacy(model, seed, folder / "..").eager
            return exported

        result = self.measure(drifting)
        assert (result["status"], result["details"]["deploy_status"]) == ("failed", "mismatch")
        assert "exceeds the tolerance" in result["error"]
        assert result["value"] is None

    def test_an_exporter_that_raises_is_export_failed(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import torch

        def broken_export(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("exporter broken on purpose")

        monkeypatch.setattr(torch.onnx, "export", broken_export)
        result = self.measure(path="onnx_legacy")
        assert (result["status"], result["details"]["deploy_status"]) == ("failed", "export_failed")
        assert result["error"] == "RuntimeError: exporter broken on purpose"

    def test_an_exporter_that_writes_garbage_is_load_failed(self) -> None:
        from probes.deployment import pytorch

        def garbage(model: str, seed: int, folder: Path) -> Exported:
            exported = pytorch.onnx_legacy(model, seed, folder)
            exported.artifact.write_bytes(exported.artifact.read_bytes()[:100])
            return exported

        result = self.measure(garbage)
        assert (result["status"], result["details"]["deploy_status"]) == ("failed", "load_failed")

    def test_an_unknown_path_and_an_exporters_own_key_error_are_export_failures(self) -> None:
        unknown = self.measure(path="onnx_nowhere")
        assert unknown["details"]["deploy_status"] == "export_failed"
        assert unknown["error"] == "pytorch has no deployment path 'onnx_nowhere'"

        def lookup_fails(model: str, seed: int, folder: Path) -> Exported:
            raise KeyError("keras_tensor_5")  # what tf2onnx's from_keras raises on Keras 3

        raised = self.measure(lookup_fails)
        assert (raised["details"]["deploy_status"], raised["error"]) == (
            "export_failed",
            "KeyError: 'keras_tensor_5'",
        )

    def test_a_missing_exporter_package_is_not_installed_not_a_failure(self) -> None:
        # executorch lives in its own environment, never in the main one (requirements/)
        result = self.measure(path="executorch_xnnpack")
        assert (result["status"], result["details"]["deploy_status"]) == (
            "skipped",
            "not_installed",
        )
        assert result["error"] == (
            "ModuleNotFoundError: No module named 'executorch' (install: pip install executorch)"
        )


# -- the probe command ------------------------------------------------------------------------------
def advisor(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args], check=False, cwd=REPO, capture_output=True,
        text=True,
        timeout=timeout,
    )  # fmt: skip


def test_the_plan_gives_each_worker_its_deployment_paths() -> None:
    quick = advisor("probe", "--plan").stdout.splitlines()
    pytorch = next(line for line in quick if line.startswith("pytorch "))
    assert pytorch.endswith("capability.compile, deploy.onnx_dynamo")
    assert not any("environment executorch" in line for line in quick)
    deploy = advisor("probe", "--plan", "--suite", "deploy", "--framework", "pytorch").stdout
    assert "probes deploy.onnx_dynamo, deploy.onnx_legacy\n" in deploy
    assert (
        ".venv-executorch/bin/python (knowledge/deployment.toml, environment executorch); "
        "probes deploy.executorch_xnnpack, deploy.executorch_portable" in deploy
    )
    tiny = advisor("probe", "--plan", "--suite", "tiny").stdout
    assert "deploy." not in tiny
    one = advisor("probe", "--plan", "--probe", "deploy.onnx_legacy").stdout.splitlines()
    assert len(one) == 1 and one[0].endswith("probes deploy.onnx_legacy")


def test_no_matching_probe_is_a_usage_error() -> None:
    done = advisor("probe", "--probe", "deploy.nowhere", "--store", "/nonexistent/x.db")
    assert done.returncode == 2
    assert done.stderr.strip() == "advisor probe: nothing to run (no probe matches --probe)"


@pytest.mark.frameworks
def test_the_default_paths_of_pytorch_and_tensorflow_run_store_and_show(tmp_path: Path) -> None:
    store = str(tmp_path / "probes.db")
    done = advisor(
        "probe", "--framework", "pytorch", "--framework", "tensorflow", "--probe",
        "deploy.onnx_dynamo", "--probe", "deploy.litert", "--store", store, "--format", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    records = json.loads(done.stdout)
    states = {
        (r["framework"], r["probe"], r["params"]["model"]): r["details"]["deploy_status"]
        for r in records
    }
    assert states == {
        ("pytorch", "deploy.onnx_dynamo", "conv"): "ok",
        ("pytorch", "deploy.onnx_dynamo", "mlp"): "ok",
        ("tensorflow", "deploy.litert", "conv"): "ok",
        ("tensorflow", "deploy.litert", "mlp"): "ok",
    }
    litert = next(r for r in records if r["probe"] == "deploy.litert")
    assert (
        litert["details"]["runtime"] == "litert" and litert["details"]["runtime_version"] == "2.3.0"
    )
    shown = advisor("probe", "--show", "--store", store).stdout
    matrix = shown[shown.index("deployment (conv net)") :].splitlines()
    pytorch_row = next(line for line in matrix if line.startswith("PyTorch "))
    tensorflow_row = next(line for line in matrix if line.startswith("TensorFlow "))
    assert (
        pytorch_row.split()[1] == "ok" and "not measured" in pytorch_row
    )  # ONNX yes, ExecuTorch not yet
    assert tensorflow_row.split()[1:3] == ["not", "measured"] and " ok " in tensorflow_row


@pytest.mark.frameworks
def test_the_default_paths_of_jax_mxnet_and_keras_run_in_their_own_environments(
    tmp_path: Path,
) -> None:
    """The quick suite's other paths, each from its framework's interpreter: JAX -> jax.export
    (.venv-jax), MXNet -> ONNX -> ONNX Runtime (exported with numpy 1.23 in .venv-mxnet, run
    with the advisor's), Keras on TensorFlow -> LiteRT and on PyTorch -> ONNX."""
    for venv in (".venv-jax", ".venv-mxnet"):
        if not (REPO / venv / "bin" / "python").exists():
            pytest.skip(f"{venv} is not set up here (./setup.sh makes it)")
    store = str(tmp_path / "probes.db")
    done = advisor(
        "probe", "--framework", "jax", "--framework", "mxnet", "--framework", "keras",
        "--probe", "deploy.jax_export", "--probe", "deploy.onnx", "--probe", "deploy.litert",
        "--store", store, "--format", "json", timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    records = json.loads(done.stdout)
    states = {
        (r["framework"], r["params"].get("backend"), r["probe"], r["params"]["model"]): (
            r["details"]["deploy_status"]
        )
        for r in records
    }
    default = {
        (framework, backend, probe, model): "ok"
        for framework, backend, probe in (
            ("jax", None, "deploy.jax_export"),
            ("mxnet", None, "deploy.onnx"),
            ("keras", "tensorflow", "deploy.litert"),
            ("keras", "pytorch", "deploy.onnx"),
        )
        for model in ("conv", "mlp")
    }
    assert {k: v for k, v in states.items() if k in default} == default
    # the same --probe names also reach other backends' paths: Keras on TF -> ONNX works too;
    # Keras on JAX -> ONNX and on PyTorch -> LiteRT need exporters this set-up does not install
    assert {v for k, v in states.items() if k not in default} <= {"ok", "not_installed"}
    for record in records:
        details = record["details"]
        if details["deploy_status"] != "ok":
            continue
        assert 0 < record["value"] < 50 and details["max_abs_diff"] <= 1e-4, record
        assert details["artifact_bytes"] > 1000


def test_a_mobile_explanation_cites_stored_executorch_figures_or_the_probe_to_run(
    tmp_path: Path,
) -> None:
    """`advisor explain` on a store holding this machine's ExecuTorch records, and on none."""
    from datetime import datetime, timezone

    from probes.fingerprint import machine_fingerprint, machine_id
    from probes.paths import gpu_cache_file
    from probes.records import ProbeRecord
    from probes.store import open_store

    here = str(machine_id(dict(machine_fingerprint(gpu_cache=gpu_cache_file()))))
    store = tmp_path / "probes.db"
    with open_store(store) as db:
        db.add(
            ProbeRecord(
                framework="pytorch",
                probe="deploy.executorch_xnnpack",
                status="ok",
                value=value,
                unit="ms",
                higher_is_better=False,
                params={
                    "environment": "executorch",
                    "path": "executorch_xnnpack",
                    "model": model,
                    "batch": 1,
                    "device": "cpu",
                    "threads": 2,
                },
                details={
                    "deploy_status": "ok",
                    "artifact_bytes": 26_024,
                    "max_abs_diff": 1.2e-6,
                    "ci95_low_ms": value * 0.95,
                    "ci95_high_ms": value * 1.05,
                    "runtime_version": "1.5.1",
                    "delegate": "XNNPACK",
                },
                machine_id=here,
                measured_at=datetime.now(timezone.utc),
                run_id="t",
            )
            for model, value in (("conv", 0.221), ("mlp", 0.033))
        )
    answers = str(REPO / "examples" / "mobile-vision-app.toml")
    cited = advisor("explain", "pytorch", "--answers", answers, "--store", str(store))
    assert cited.returncode == 0, cited.stderr
    line = next(x for x in cited.stdout.splitlines() if "measured: Deployment paths" in x)
    assert "torch.export -> ExecuTorch (XNNPACK delegate): ok here (conv net 0.221 ms" in line
    assert "ExecuTorch 1.5.1" in line
    assert "litert_torch.convert -> LiteRT" in line and "--suite deploy --framework pytorch" in line
    bare = advisor("explain", "pytorch", "--answers", answers, "--store", str(tmp_path / "none.db"))
    line = next(x for x in bare.stdout.splitlines() if "measured: Deployment paths" in x)
    assert "ok here" not in line
    assert line.endswith("run `advisor probe --suite deploy --framework pytorch`")
