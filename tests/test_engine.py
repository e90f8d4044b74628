"""The rules engine: verdicts on realistic questionnaires, weighting, evidence and exclusions."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.core.criteria import Criterion
from advisor.core.engine import recommend
from advisor.core.in_force import knowledge_in_force
from advisor.core.questionnaire import OFF_SERVER_TARGETS, Requirements, Target
from advisor.files.answer_files import load_answers
from tests.conftest import example_files, expected_verdicts

EXPECTED = expected_verdicts()


def test_every_example_has_an_expected_verdict() -> None:
    names = {p.stem for p in example_files()}
    assert len(names) >= 8
    assert names == set(EXPECTED)


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_examples_get_the_practitioners_verdict(path: Path) -> None:
    expected = EXPECTED[path.stem]
    rec = recommend(load_answers(str(path)))
    assert rec.top_pick is not None
    assert rec.top_pick in expected["top"], [(e.framework, e.score) for e in rec.ranking]
    excluded = {e.framework for e in rec.excluded}
    assert set(expected.get("excluded", [])) <= excluded
    if "caveat" in expected:
        entry = next(e for e in rec.ranking if e.framework == expected["caveat"])
        assert any("retired" in c.message.lower() for c in entry.caveats)
    for framework, word in expected.get("caveat_about", []):
        entry = next(e for e in rec.ranking if e.framework == framework)
        assert any(word.lower() in c.message.lower() for c in entry.caveats)


def _requirements(**sections: dict[str, object]) -> Requirements:
    return Requirements.model_validate(sections)


def test_changing_a_priority_changes_the_winner_when_criteria_disagree() -> None:
    """A browser tabular widget: the TensorFlow family wins on deployment alone (its browser
    path leads PyTorch's by half a point since LiteRT.js runs both), PyTorch on the rest."""
    base = {
        "project": {"tasks": ["tabular"], "stage": "production", "model_size": "small"},
        "deployment": {"targets": ["browser"]},
        "hardware": {"accelerators": ["cpu"]},
        "team": {"languages": ["python"]},
    }
    others = {c.value: 0 for c in Criterion if c not in (Criterion.DEPLOYMENT, Criterion.TASK_FIT)}
    deploy_first = recommend(_requirements(**base, priorities={**others, "deployment": 5}))
    assert deploy_first.top_pick in ("tensorflow", "keras")
    dev_first = recommend(
        _requirements(**base, priorities={"deployment": 0, "development_speed": 5, "ecosystem": 5})
    )
    assert dev_first.top_pick == "pytorch"


def test_contributions_add_up_to_the_score_and_trace_to_rules() -> None:
    rec = recommend(load_answers("examples/web-tabular-widget.toml"))
    for entry in rec.ranking:
        assert sum(c.contribution for c in entry.criteria) == pytest.approx(entry.score, abs=0.05)
        fired = {ev.rule for ev in entry.evidence}
        for c in entry.criteria:
            assert c.prior_claims, "every prior rests on claims"
            base = c.calibrated if c.calibrated is not None else c.prior
            assert base + sum(a.delta for a in c.adjustments) == pytest.approx(c.score, abs=1e-3)
            assert {a.rule for a in c.adjustments} <= fired
    top = rec.ranking[0]
    assert top.reasons and all(r.claims for r in top.reasons)
    for ev in top.evidence:
        assert ev.claims and all(cl.references or cl.source for cl in ev.claims)


def test_constraints_exclude_and_require_maintained() -> None:
    rec = recommend(_requirements(project={"tasks": ["nlp"]}, constraints={"exclude": ["pytorch"]}))
    assert [e.framework for e in rec.excluded] == ["pytorch"]
    assert "pytorch" not in [e.framework for e in rec.ranking]
    rec = recommend(
        _requirements(project={"tasks": ["nlp"]}, constraints={"require_maintained": True})
    )
    assert "mxnet" in [e.framework for e in rec.excluded]
    assert "retired" in " ".join(rec.excluded[0].reasons).lower()


def test_everything_excluded_gives_an_empty_ranking() -> None:
    rec = recommend(
        _requirements(
            project={"tasks": ["nlp"]},
            constraints={"exclude": list(knowledge_in_force().registry.ids)},
        )
    )
    assert (
        rec.ranking == []
        and rec.top_pick is None
        and len(rec.excluded) == len(knowledge_in_force().frameworks)
    )


def test_weights_follow_priorities_and_relevance() -> None:
    rec = recommend(
        _requirements(
            project={"tasks": ["nlp"]},
            deployment={"targets": ["none"]},
            priorities={"deployment": 4, "ecosystem": 0},
        )
    )
    weights = {c.criterion: c.weight for c in rec.ranking[0].criteria}
    assert weights[Criterion.DEPLOYMENT] == pytest.approx(4 * 0.25)  # deploys nowhere
    assert weights[Criterion.ECOSYSTEM] == 0
    assert weights[Criterion.TASK_FIT] > 0


def test_off_server_targets_stress_deployment_once() -> None:
    def deployment_weight(targets: list[str]) -> float:
        rec = recommend(_requirements(project={"tasks": ["nlp"]}, deployment={"targets": targets}))
        return {c.criterion: c.weight for c in rec.ranking[0].criteria}[Criterion.DEPLOYMENT]

    assert deployment_weight(["cloud_server"]) == pytest.approx(3)
    assert deployment_weight(["browser"]) == pytest.approx(3 * 1.5)
    assert deployment_weight(["browser", "mobile", "microcontroller"]) == pytest.approx(3 * 1.5)


@pytest.mark.parametrize("target", list(Target), ids=str)
def test_the_off_server_rule_and_the_questionnaires_off_server_set_agree(target: Target) -> None:
    """Calibration reads OFF_SERVER_TARGETS in code; the deployment rule names targets in data."""
    from advisor.files.knowledge_files import default_knowledge

    (rule,) = [r for r in default_knowledge().rules if r.rule.id == "deploy-off-server"]
    answers = _requirements(project={"tasks": ["nlp"]}, deployment={"targets": [target.value]})
    assert rule.applies(answers) == (target in OFF_SERVER_TARGETS)


def test_seed_claims_overridden_by_the_advice_are_listed() -> None:
    rec = recommend(load_answers("examples/llm-finetuning-research.toml"))
    assert rec.overrides
    assert all(c.verdict.value in ("outdated", "wrong") and c.source for c in rec.overrides)


def test_recommend_is_deterministic() -> None:
    answers = load_answers("examples/mxnet-nlp-service.toml")
    assert recommend(answers).model_dump_json() == recommend(answers).model_dump_json()


@pytest.mark.parametrize("path", example_files()[:6], ids=lambda p: p.stem)
def test_engine_output_equals_its_validated_json_round_trip(path: Path) -> None:
    """The engine builds output models without validation; they must still be valid models."""
    from advisor.core.recommendation import Recommendation

    rec = recommend(load_answers(str(path)))
    assert Recommendation.model_validate_json(rec.model_dump_json()) == rec


def test_a_frontend_with_every_backend_ruled_out_is_excluded_and_the_rest_ranked() -> None:
    rec = recommend(
        Requirements.model_validate(
            {
                "project": {"tasks": ["nlp"]},
                "constraints": {"exclude": ["tensorflow", "pytorch", "jax"]},
            }
        )
    )
    assert [e.framework for e in rec.ranking] == ["mxnet"]
    ruled_out = {e.framework: e.reasons for e in rec.excluded}
    assert ruled_out["keras"] == ["every backend it runs on is ruled out: jax, tensorflow, pytorch"]
