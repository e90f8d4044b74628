"""The deployment-path catalogue (knowledge/deployment.toml) and what its measurements say in the
advice: the deployment criterion's evidence, caveats for a claimed path that fails here, the
probe to run when nothing is measured, and the matrix `probe --show` prints. In-process, on
records shaped exactly as probes/deployment/probe.py sends them."""

from __future__ import annotations

import ast
import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from advisor.core.criteria import Criterion
from advisor.core.deployment_evidence import deployment_evidence
from advisor.core.deployment_matrix import deployment_matrix
from advisor.core.deployment_paths import catalogue_of
from advisor.core.engine import recommend
from advisor.core.in_force import knowledge_in_force
from advisor.core.knowledge import KnowledgeError, build_knowledge
from advisor.core.questionnaire import Requirements
from advisor.files.knowledge_files import _knowledge_paths, _parse_all, knowledge_dir
from probes.records import Measurements, ProbeRecord

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
KB = knowledge_in_force()
CATALOGUE = catalogue_of(KB)
NAMES = {fw: p.name for fw, p in KB.frameworks.items()}
DEPLOYMENT_FILE = "knowledge/deployment.toml"


def mobile(**deployment: Any) -> Requirements:
    return Requirements.model_validate(
        {
            "project": {"tasks": ["computer_vision"]},
            "deployment": {"targets": ["mobile"], **deployment},
        }
    )  # the answers of a team shipping a vision model to phones (or other `targets`)


def record(
    framework: str,
    path: str,
    model: str = "conv",
    state: str = "ok",
    *,
    value: float = 0.132,
    error: str | None = None,
    params: dict[str, Any] | None = None,
    runtime_version: str = "1.5.1",
    age: timedelta = timedelta(hours=1),
) -> ProbeRecord:
    status = {"ok": "ok", "not_installed": "skipped"}.get(state, "failed")
    details: dict[str, Any] = {"deploy_status": state}
    if state == "ok":
        details.update(
            artifact_bytes=25_400,
            max_abs_diff=1.4e-7,
            ci95_low_ms=0.130,
            ci95_high_ms=0.135,
            runtime_version=runtime_version,
            delegate="XNNPACK",
        )
    return ProbeRecord(
        framework=framework,
        probe=f"deploy.{path}",
        status=status,
        value=value if state == "ok" else None,
        unit="ms" if state == "ok" else "",
        higher_is_better=False,
        params={**(params or {}), "path": path, "model": model, "batch": 1, "device": "cpu"},
        details=details,
        error=error,
        versions={"pytorch": "2.13.0+cpu", "python": "3.11.7"},
        machine_id="m1",
        measured_at=NOW - age,
        run_id="r1",
    )


def measurements(*records: ProbeRecord) -> Measurements:
    return Measurements(records=list(records), as_of=NOW, machine={"machine_id": "m1"})


EXECUTORCH = {"environment": "executorch"}
LITERT_TORCH = {"environment": "litert_torch"}


# -- the catalogue -----------------------------------------------------------------------------
def _exporter_ids(framework: str) -> set[str]:
    """The keys of PATHS in probes/deployment/<framework>.py, read without importing it."""
    tree = ast.parse((REPO / "probes" / "deployment" / f"{framework}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "PATHS":
            assert isinstance(node.value, ast.Dict)
            return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError(f"no PATHS in probes/deployment/{framework}.py")


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow", "keras", "jax", "mxnet"])
def test_every_catalogued_path_has_an_exporter_and_every_exporter_a_path(framework: str) -> None:
    catalogued = {p.id for p in CATALOGUE.path if p.framework == framework}
    assert catalogued == _exporter_ids(framework)


def test_the_quick_suite_runs_exactly_one_cheap_path_per_framework_and_backend() -> None:
    quick = {
        (p.framework, backend): p.id
        for p in CATALOGUE.path
        if "quick" in p.suites
        for backend in (p.backends or [None])
    }
    assert quick == {
        ("pytorch", None): "onnx_dynamo",
        ("tensorflow", None): "litert",
        ("keras", "tensorflow"): "litert",
        ("keras", "pytorch"): "onnx",
        ("jax", None): "jax_export",
        ("mxnet", None): "onnx",
    }
    assert not [p for p in CATALOGUE.path if p.environment and "quick" in p.suites]


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    root = knowledge_dir()
    return _parse_all(root, _knowledge_paths(root))


def _broken(shipped: dict[str, Any], change: Any) -> str:
    tables = copy.deepcopy({**shipped, "rules": {}, "next_steps": {}})
    change(tables["deployment"][DEPLOYMENT_FILE])
    with pytest.raises(KnowledgeError) as error:
        build_knowledge(tables)
    return str(error.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t["path"][0].update(runtime="coreml"), "unknown runtime 'coreml'"),
        (lambda t: t["path"][0].update(framework="caffe"), "unknown framework 'caffe'"),
        (lambda t: t["path"][0].update(claims=["no-such-claim"]), "unknown claim 'no-such-claim'"),
        (lambda t: t["path"][0].update(environment="conda"), "unknown environment 'conda'"),
        (lambda t: t["path"][0].update(suites=["nightly"]), "suites.0"),
        (lambda t: t["path"].append(dict(t["path"][0])), "listed twice"),
        (
            lambda t: next(p for p in t["path"] if p["framework"] == "keras").update(
                backends=["mxnet"]
            ),
            "'mxnet' is not a backend of 'keras'",
        ),
        (
            lambda t: next(p for p in t["path"] if p["framework"] == "keras").pop("backends"),
            "'keras' is a front-end; say which backends",
        ),
        (lambda t: t["target"][0].update(id="fridge"), "target.0.id"),
    ],
)
def test_a_broken_catalogue_is_a_knowledge_error_naming_the_file(
    shipped: dict[str, Any], change: Any, message: str
) -> None:
    text = _broken(shipped, change)
    assert text.startswith(DEPLOYMENT_FILE)
    assert message in text


# -- evidence -------------------------------------------------------------------------------------
def test_a_measured_executorch_path_is_cited_with_its_figures() -> None:
    evidence = deployment_evidence(
        mobile(),
        measurements(
            record("pytorch", "executorch_xnnpack", params=EXECUTORCH),
            record("pytorch", "executorch_xnnpack", "mlp", value=0.023, params=EXECUTORCH),
        ),
        CATALOGUE,
        "pytorch",
        names=NAMES,
    )
    text = evidence.measured or ""
    assert text.startswith("Deployment paths to mobile, on this machine: ")
    assert (
        "torch.export -> ExecuTorch (XNNPACK delegate): ok here (conv net 0.132 ms [0.13-0.135], 25 KB, max diff 1.4e-07; MLP 0.023 ms"
        in text
    )
    assert "ExecuTorch 1.5.1" in text and "measured 2026-12-03" in text
    # litert-torch and the portable kernels were not measured: the run that measures them
    assert (
        "not measured here yet: torch.export -> ExecuTorch (portable kernels, no delegate); litert_torch.convert -> LiteRT; run `advisor probe --suite deploy --framework pytorch`"
        in text
    )
    assert evidence.confirmed and not evidence.contradicted and evidence.caveats == ()


def test_without_measurements_it_says_which_probe_to_run() -> None:
    evidence = deployment_evidence(mobile(), None, CATALOGUE, "pytorch", names=NAMES)
    assert evidence.measured is not None
    assert "ok here" not in evidence.measured
    assert evidence.measured.endswith("run `advisor probe --suite deploy --framework pytorch`")
    assert not evidence.confirmed


def test_the_probe_to_run_is_the_default_suite_when_it_holds_every_missing_path() -> None:
    browser = mobile(targets=["browser"])
    nothing = deployment_evidence(browser, None, CATALOGUE, "tensorflow", names=NAMES).measured
    # LiteRT is in the default suite, tf2onnx only in deploy: deploy measures both
    assert nothing is not None and nothing.endswith(
        "not measured here yet: tf.lite.TFLiteConverter -> LiteRT; tf2onnx.convert.from_function "
        "-> ONNX Runtime; run `advisor probe --suite deploy --framework tensorflow`"
    )
    tf2onnx = record("tensorflow", "tf2onnx", runtime_version="1.31.1")
    some = deployment_evidence(browser, measurements(tf2onnx), CATALOGUE, "tensorflow", names=NAMES)
    assert (some.measured or "").endswith(
        "not measured here yet: tf.lite.TFLiteConverter -> LiteRT; "
        "run `advisor probe --suite quick --framework tensorflow`"
    )


def test_a_claimed_path_that_fails_here_is_a_caveat_with_its_error_and_versions() -> None:
    evidence = deployment_evidence(
        mobile(),
        measurements(
            record(
                "pytorch",
                "litert_torch",
                "conv",
                "export_failed",
                params=LITERT_TORCH,
                error="KeyError: 'keras_tensor_5'",
            ),
            record("pytorch", "litert_torch", "mlp", params=LITERT_TORCH, value=0.0025),
        ),
        CATALOGUE,
        "pytorch",
        names=NAMES,
    )
    assert evidence.contradicted
    (caveat,) = evidence.caveats
    assert caveat.startswith(
        "PyTorch: litert_torch.convert -> LiteRT failed on this machine (export_failed: KeyError: 'keras_tensor_5'; pytorch 2.13.0+cpu, 2026-12-03)"
    )
    assert "litert_torch.convert -> LiteRT: failed here (see caveats)" in (evidence.measured or "")


def test_a_missing_exporter_is_not_a_failure() -> None:
    evidence = deployment_evidence(
        mobile(),
        measurements(
            record(
                "pytorch",
                "executorch_xnnpack",
                state="not_installed",
                params=EXECUTORCH,
                error="ModuleNotFoundError: No module named 'executorch'",
            )
        ),
        CATALOGUE,
        "pytorch",
        names=NAMES,
    )
    assert not evidence.contradicted and evidence.caveats == ()
    assert "ExecuTorch (XNNPACK delegate) (exporter or runtime not installed)" in (
        evidence.measured or ""
    )


def test_the_newest_record_of_a_path_wins() -> None:
    evidence = deployment_evidence(
        mobile(),
        measurements(
            record(
                "pytorch",
                "executorch_xnnpack",
                "conv",
                "run_failed",
                params=EXECUTORCH,
                error="RuntimeError: old",
                age=timedelta(days=2),
            ),
            record(
                "pytorch", "executorch_xnnpack", "conv", params=EXECUTORCH, age=timedelta(hours=1)
            ),
        ),
        CATALOGUE,
        "pytorch",
        names=NAMES,
    )
    assert not evidence.contradicted
    assert "ExecuTorch (XNNPACK delegate): ok here" in (evidence.measured or "")


def test_a_record_from_another_environment_or_backend_is_not_this_paths() -> None:
    # the ExecuTorch path runs in its own environment: a record without that param is another key
    stray = record("pytorch", "executorch_xnnpack")
    keras_tf = record("keras", "litert", params={"backend": "tensorflow"})
    found = deployment_evidence(
        mobile(), measurements(stray, keras_tf), CATALOGUE, "pytorch", names=NAMES
    )
    assert "ok here" not in (found.measured or "")
    on_torch = deployment_evidence(
        mobile(), measurements(keras_tf), CATALOGUE, "keras", names=NAMES, backend="pytorch"
    )
    assert "ok here" not in (on_torch.measured or "")
    on_tf = deployment_evidence(
        mobile(), measurements(keras_tf), CATALOGUE, "keras", names=NAMES, backend="tensorflow"
    )
    assert 'Keras model.export(format="litert") -> LiteRT: ok here' in (on_tf.measured or "")


def test_a_declared_impossible_path_is_named_with_its_reason() -> None:
    evidence = deployment_evidence(mobile(), None, CATALOGUE, "keras", names=NAMES, backend="jax")
    assert "no path to LiteRT: Keras refuses LiteRT export on the JAX backend" in (
        evidence.measured or ""
    )


def test_no_target_means_no_deployment_evidence() -> None:
    requirements = mobile(targets=["none"])
    assert (
        deployment_evidence(requirements, None, CATALOGUE, "pytorch", names=NAMES).measured is None
    )


# -- in the recommendation ------------------------------------------------------------------------
def _deployment_row(result: Any, framework: str) -> Any:
    entry = next(r for r in result.ranking if r.framework == framework)
    return next(c for c in entry.criteria if c.criterion is Criterion.DEPLOYMENT), entry


def test_the_recommendation_cites_the_measured_path_and_keeps_the_score() -> None:
    answers = mobile()
    plain = recommend(answers)
    measured = recommend(
        answers,
        measurements(
            record("pytorch", "executorch_xnnpack", params=EXECUTORCH),
            record(
                "pytorch",
                "litert_torch",
                "conv",
                "mismatch",
                params=LITERT_TORCH,
                error="max abs difference 0.3 exceeds the tolerance 0.0001",
            ),
        ),
    )
    row, entry = _deployment_row(measured, "pytorch")
    before, _ = _deployment_row(plain, "pytorch")
    assert row.score == before.score  # evidence, not a speed ranking
    assert "ExecuTorch (XNNPACK delegate): ok here" in (row.measured or "")
    assert "run `advisor probe --suite deploy --framework pytorch`" in (before.measured or "")
    caveats = [c for c in entry.caveats if c.rule == "deployment-probe"]
    assert len(caveats) == 1 and "mismatch: max abs difference 0.3" in caveats[0].message
    assert "fact-litert" in caveats[0].claims


def test_deployment_records_never_feed_the_speed_calibration() -> None:
    result = recommend(
        mobile(),
        measurements(
            record("pytorch", "onnx_dynamo", value=0.1),
            record("tensorflow", "litert", value=5.0, runtime_version="2.3.0"),
            record("jax", "jax_export", "conv", "run_failed", error="RuntimeError: x"),
        ),
    )
    assert result.calibration.frameworks == [] or all(
        "deploy." not in message for message in result.calibration.caveats
    )
    for entry in result.ranking:
        assert all("deploy." not in c.message for c in entry.caveats if c.rule == "calibration")


# -- the matrix ---------------------------------------------------------------------------------
def test_the_matrix_shows_each_runtime_per_framework_and_backend() -> None:
    rows = deployment_matrix(
        CATALOGUE,
        [
            record("pytorch", "onnx_dynamo", value=0.106, runtime_version="1.31.1"),
            record("pytorch", "onnx_legacy", "conv", "export_failed", error="x"),
            record("keras", "onnx", "conv", "not_installed", params={"backend": "jax"}),
        ],
        NAMES,
        {fw: list(p.backends) for fw, p in KB.frameworks.items()},
    )
    by = {row.label: row.cells for row in rows}
    assert by["PyTorch"]["onnxruntime"].text == "ok 0.106 ms, 25 KB"  # the best of its two paths
    assert by["PyTorch"]["executorch"].state == "not_measured"
    assert by["PyTorch"]["tf_saved_model"].state == ""
    assert by["Keras 3 on JAX"]["litert"].state == "unsupported"
    assert by["Keras 3 on JAX"]["onnxruntime"].text == "not installed"
    assert by["Apache MXNet"]["executorch"].state == "unsupported"
    assert [row.label for row in rows][:2] == ["TensorFlow", "PyTorch"]  # registry order


def _deployment_sd(result: Any) -> float:
    from advisor.core.decision.uncertainty import score_uncertainty

    spreads = score_uncertainty(result).spreads
    return next(
        s.sd for s in spreads if s.framework == "pytorch" and s.criterion is Criterion.DEPLOYMENT
    )


def test_a_measured_path_narrows_the_deployment_scores_spread_and_a_failed_one_widens_it() -> None:
    policy = KB.uncertainty["deployment"]
    plain = _deployment_sd(recommend(mobile()))
    worked = _deployment_sd(
        recommend(
            mobile(), measurements(record("pytorch", "executorch_xnnpack", params=EXECUTORCH))
        )
    )
    failed = _deployment_sd(
        recommend(
            mobile(),
            measurements(
                record("pytorch", "executorch_xnnpack", params=EXECUTORCH),
                record(
                    "pytorch", "litert_torch", "conv", "run_failed", params=LITERT_TORCH, error="x"
                ),
            ),
        )
    )
    assert worked == pytest.approx(plain * policy["confirmed"], abs=1e-3)
    assert failed == pytest.approx(plain * policy["contradicted"], abs=1e-3)
    assert (policy["confirmed"], policy["contradicted"]) == (0.5, 1.5)
