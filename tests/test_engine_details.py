"""The engine's evidence trail, worked out by hand: rule impacts, reasons, relevance, exclusions.

Like tests/test_golden_scores.py, the expected numbers come from the knowledge base on paper
(priors, the rules that fire, weights), not from the engine's output. Rules the shipped knowledge
does not have (an exclusion effect, relevance factors that combine) are added to a copy of it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from advisor.core.criteria import Criterion
from advisor.core.engine import claim_evidence, criterion_relevance, recommend
from advisor.core.in_force import knowledge_in_force
from advisor.core.knowledge import Knowledge
from advisor.core.questionnaire import Requirements
from advisor.files.answer_files import load_answers
from advisor.files.knowledge_files import knowledge_dir, load_knowledge

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
STUDENT = EXAMPLES / "student-cpu-laptop.toml"
# student-cpu-laptop: the weights sum to 24.6 (tests/test_golden_scores.py), so one criterion
# point of weight w is worth w x 100 / (5 x 24.6) = w x 0.81301 points of the total.
PER_POINT = 100 / (5 * 24.6)


def _entry(rec: Any, fw: str) -> Any:
    return next(e for e in rec.ranking if e.framework == fw)


def test_rule_impacts_are_their_share_of_the_total() -> None:
    rec = recommend(load_answers(str(STUDENT)))
    impacts = {ev.rule: ev.impact for ev in _entry(rec, "pytorch").evidence}
    assert impacts == pytest.approx(
        {
            "hw-cpu": 0.0,  # level 4.5 = the prior 4.5
            "task-nlp": 1.0 * 4 * PER_POINT,  # 3.252
            "task-computer-vision": 0.5 * 4 * PER_POINT,  # 1.626
            # ecosystem clamped at 5: 1.0 and 0.25 keep 0.4 of themselves (tests/test_golden_scores)
            "pretrained-language-models": 0.4 * 3 * PER_POINT,  # 0.9756
            "pretrained-models": 0.1 * 3 * PER_POINT,  # 0.2439
        },
        abs=1e-4,
    )
    tf = {ev.rule: ev.impact for ev in _entry(rec, "tensorflow").evidence}
    assert tf == pytest.approx(
        {
            "hw-cpu": (4.5 - 3.5) * 1.5 * PER_POINT,  # the level lifts 3.5 to 4.5
            # task fit: -0.5 and +0.5 cancel, nothing of the score is theirs
            "task-nlp": 0.0,
            "task-computer-vision": 0.0,
            "pretrained-language-models": -1.0 * 3 * PER_POINT,
        },
        abs=1e-4,
    )
    # evidence in knowledge order, with each rule's effects on this framework and its claims
    jax = _entry(rec, "jax").evidence
    assert [ev.rule for ev in jax] == [
        "jax-hw-cpu",
        "jax-windows",
        "jax-pretrained",
        "jax-newcomers",
    ]
    pretrained = jax[2]
    assert pretrained.effects == ["jax ecosystem -1", "warns about jax"]
    assert [c.id for c in pretrained.claims] == ["fact-jax-hf-dropped"]
    assert pretrained.rationale.startswith("Building on pretrained checkpoints favours")
    assert pretrained.impact == pytest.approx(-1.0 * 3 * PER_POINT, abs=1e-4)


def test_reasons_are_the_largest_gains_over_the_rival() -> None:
    """PyTorch (first) against Keras 3 on PyTorch (second): Keras's ecosystem is its own 3.25 +
    0.5 (keras-pretrained-checkpoints) = 3.75, its hardware support 2.0 (keras-windows level),
    its runtime PyTorch's 3.5 - 0.25 (inherit delta) - 0.5 (keras-overhead-on-pytorch) = 2.75.
    Gains: ecosystem 3 x (5 - 3.75) x 0.813 = 3.05, hardware 1.5 x (4.5 - 2) x 0.813 = 3.05 (tied,
    so by criterion name), runtime 3 x 0.75 x 0.813 = 1.83; development speed (5 x 0.25 x 0.813
    = 1.02) is fourth and left out."""
    rec = recommend(load_answers(str(STUDENT)))
    reasons = _entry(rec, "pytorch").reasons
    assert [r.points for r in reasons] == [3.05, 3.05, 1.83]
    kb = knowledge_in_force()
    rationale = next(
        c.rule for c in kb.rules if c.rule.id == "pretrained-language-models"
    ).rationale
    assert reasons[0].summary == f"Ecosystem 5.0/5 vs Keras 3 3.8: {rationale}"
    assert [c.id for c in reasons[0].claims] == ["fact-hf-pytorch-only", "fact-mxnet-zoos-dead"]
    # hardware: the hw-cpu level moved nothing (delta 0), so the prior's claims explain it
    assert reasons[1].summary.startswith("Hardware support 4.5/5 vs Keras 3 2.0: ")
    prior = kb.frameworks["pytorch"].priors[Criterion.HARDWARE_SUPPORT]
    assert [c.id for c in reasons[1].claims] == list(prior.claims)
    assert reasons[2].summary.startswith("Runtime performance 3.5/5 vs Keras 3 2.8: ")
    # the second is compared with the first: Keras's deployment 4.0 + 0.25 against PyTorch's 4.0,
    # weight 0.75: 0.75 x 0.25 x 0.813 = 0.15, explained by the prior's note
    keras = _entry(rec, "keras").reasons
    assert [r.points for r in keras] == [0.15]
    note = kb.frameworks["keras"].priors[Criterion.DEPLOYMENT].note
    assert keras[0].summary == f"Deployment 4.2/5 vs PyTorch 4.0: {note}"
    # MXNet gains on nothing against PyTorch: no reasons
    assert _entry(rec, "mxnet").reasons == []


def test_ranking_margin_names_and_options() -> None:
    rec = recommend(load_answers(str(STUDENT)))
    assert [e.framework for e in rec.ranking] == ["pytorch", "keras", "tensorflow", "jax", "mxnet"]
    assert [e.rank for e in rec.ranking] == [1, 2, 3, 4, 5]
    assert rec.margin == pytest.approx(85.96 - 75.95, abs=0.011)
    keras = _entry(rec, "keras")
    assert (keras.name, keras.backend) == ("Keras 3 on PyTorch", "pytorch")
    assert [(o.backend, o.name) for o in keras.options] == [
        ("pytorch", "Keras 3 on PyTorch"),
        ("tensorflow", "Keras 3 on TensorFlow"),
        ("jax", "Keras 3 on JAX"),
    ]
    assert keras.score == keras.options[0].score
    assert [o.score for o in keras.options] == sorted(
        (o.score for o in keras.options), reverse=True
    )
    pytorch = _entry(rec, "pytorch")
    assert (pytorch.name, pytorch.backend, pytorch.options) == ("PyTorch", None, [])
    mxnet = _entry(rec, "mxnet")
    assert (mxnet.version, mxnet.lifecycle) == ("1.9.1", "retired")
    # a retired framework's first caveat says so, with the lifecycle claims
    first = mxnet.caveats[0]
    assert first.message.startswith("Retired: moved to the Apache Attic in 2023")
    assert (first.rule, first.claims) == (None, ["fact-mxnet-retired", "fact-mxnet-last-release"])
    assert rec.requirements == load_answers(str(STUDENT))
    assert rec.knowledge_version == knowledge_in_force().version


def test_rule_caveats_carry_their_rule_and_claims_and_standing_caveats_follow() -> None:
    rec = recommend(load_answers(str(STUDENT)))
    jax = _entry(rec, "jax").caveats
    assert jax[0].rule == "jax-pretrained"
    assert jax[0].claims == ["fact-jax-hf-dropped"]
    assert jax[0].message.startswith("Few ready-made JAX checkpoints")
    standing = knowledge_in_force().frameworks["jax"].standing_caveats
    assert [(c.message, c.rule) for c in jax[1:]] == [(c.message, None) for c in standing]


def test_excluded_and_not_chosen_frameworks_are_reported_with_reasons() -> None:
    answers = Requirements.model_validate(
        {
            "project": {"tasks": ["computer_vision"]},
            "constraints": {
                "exclude": ["tensorflow"],
                "candidates": ["pytorch", "tensorflow", "keras", "mxnet"],
                "require_maintained": True,
            },
        }
    )
    rec = recommend(answers)
    excluded = {e.framework: e for e in rec.excluded}
    assert list(excluded) == ["tensorflow", "jax", "mxnet"]  # knowledge order
    assert excluded["tensorflow"].reasons == ["excluded by your constraints (constraints.exclude)"]
    assert excluded["tensorflow"].name == "TensorFlow"
    assert excluded["jax"].reasons == [
        "not among the frameworks you choose from (constraints.candidates)"
    ]
    note = knowledge_in_force().frameworks["mxnet"].lifecycle_note
    assert excluded["mxnet"].reasons == [
        f"retired, not maintained (constraints.require_maintained): {note}"
    ]
    assert all(e.rules == [] for e in rec.excluded)
    # Keras still runs on JAX and PyTorch (ruled out only as picks / by the user); not on TF
    assert [e.framework for e in rec.ranking] == ["pytorch", "keras"]
    keras = _entry(rec, "keras")
    assert {o.backend for o in keras.options} == {"pytorch", "jax"}


def test_a_front_end_without_backends_is_excluded() -> None:
    answers = Requirements.model_validate(
        {
            "project": {"tasks": ["computer_vision"]},
            "constraints": {"exclude": ["tensorflow", "pytorch", "jax"]},
        }
    )
    rec = recommend(answers)
    excluded = {e.framework: e for e in rec.excluded}
    assert excluded["keras"].reasons == [
        "every backend it runs on is ruled out: "
        + ", ".join(knowledge_in_force().frameworks["keras"].backends)
    ]
    assert excluded["keras"].name == "Keras 3"
    assert [e.framework for e in rec.ranking] == ["mxnet"]
    assert rec.margin is None and rec.top_pick == "mxnet"
    assert _entry(rec, "mxnet").reasons != []  # no rival: every positive contribution counts


def test_unknown_frameworks_in_the_answers_are_refused() -> None:
    kb = knowledge_in_force()
    answers = Requirements.model_validate({"project": {"tasks": ["other"]}})
    odd = answers.model_copy(
        update={
            "constraints": answers.constraints.model_copy(update={"exclude": ["zeta", "alpha"]}),
            "team": answers.team.model_copy(update={"existing_codebase": "cobol"}),
        }
    )
    with pytest.raises(ValueError) as caught:
        recommend(odd, knowledge=kb)
    assert str(caught.value) == (
        "the answers name frameworks this knowledge base does not know: alpha, zeta, cobol"
    )


def test_claim_evidence_resolves_seed_sources_and_references() -> None:
    kb = knowledge_in_force()
    seeded = next(
        c for c in kb.claims.values() if c.source is not None and c.references and c.correction
    )
    evidence = claim_evidence(seeded, kb)
    seed = kb.seeds[seeded.source.seed]
    assert evidence.source is not None
    assert evidence.source.id == f"seed:{seed.id}:{seeded.source.section}:{seeded.source.item}"
    assert evidence.source.label == f"{seeded.source.label()} ({seed.file})"
    assert evidence.source.url is None
    refs = [kb.references[r] for r in seeded.references]
    assert [(r.id, r.label, r.url) for r in evidence.references] == [
        (r.id, r.title, r.url) for r in refs
    ]
    assert (evidence.id, evidence.text, evidence.verdict, evidence.kind) == (
        seeded.id,
        seeded.text,
        seeded.verdict,
        seeded.kind,
    )
    assert evidence.frameworks == seeded.frameworks
    assert (evidence.checked, evidence.versions, evidence.correction) == (
        seeded.checked,
        seeded.versions,
        seeded.correction,
    )
    unseeded = next(c for c in kb.claims.values() if c.source is None)
    assert claim_evidence(unseeded, kb).source is None


def test_overrides_are_the_seed_claims_corrected_by_claims_in_use() -> None:
    """The claims in use: those of every rule that fired with an effect on a ranked framework or
    on all of them (relevance), and the lifecycle claims of the ranked frameworks."""
    kb = knowledge_in_force()
    answers = load_answers(str(STUDENT))
    rec = recommend(answers)
    ranked = {e.framework for e in rec.ranking}
    used = {c for fw in ranked for c in kb.frameworks[fw].lifecycle_claims}
    for compiled in kb.rules:
        if compiled.applies(answers) and any(
            e.framework is None or e.framework in ranked for e in compiled.rule.effects
        ):
            used.update(compiled.rule.claims)
    expected = sorted({s for c in used for s in kb.overridden_by.get(c, ())})
    assert expected  # the example does overturn seed claims
    assert [c.id for c in rec.overrides] == expected
    assert rec.overrides[0] == claim_evidence(kb.claims[expected[0]], kb)
    # without MXNet among the ranked, its lifecycle claims no longer count
    without = recommend(
        answers.model_copy(
            update={"constraints": answers.constraints.model_copy(update={"exclude": ["mxnet"]})}
        )
    )
    lifecycle_only = {
        s for c in kb.frameworks["mxnet"].lifecycle_claims for s in kb.overridden_by.get(c, ())
    } - {
        s
        for c in used - set(kb.frameworks["mxnet"].lifecycle_claims)
        for s in kb.overridden_by.get(c, ())
    }
    assert not lifecycle_only & {c.id for c in without.overrides}


# --- rules the shipped knowledge lacks ---------------------------------------------------------

EXTRA_RULES = """
[[rule]]
id = "test-exclude-mxnet"
when = { field = "project.stage", equals = "research" }
rationale = "Test: research excludes MXNet."
claims = ["fact-switching-cost"]
effects = [
  { framework = "mxnet", exclude = true },
  { framework = "jax", criterion = "deployment", level = 3.5 },
  { framework = "jax", criterion = "deployment", level = 1.0 },
]

[[rule]]
id = "test-damp-a-little"
when = { field = "project.stage", equals = "research" }
rationale = "Test: ecosystem counts x0.8."
claims = ["fact-switching-cost"]
effects = [{ criterion = "ecosystem", relevance = 0.8 }]

[[rule]]
id = "test-damp-more"
when = { field = "project.stage", equals = "research" }
rationale = "Test: ecosystem counts x0.5."
claims = ["fact-switching-cost"]
effects = [{ criterion = "ecosystem", relevance = 0.5 }]

[[rule]]
id = "test-stress"
when = { field = "project.stage", equals = "research" }
rationale = "Test: ecosystem counts x1.2 and x1.5."
claims = ["fact-switching-cost"]
effects = [{ criterion = "ecosystem", relevance = 1.2 }]

[[rule]]
id = "test-stress-more"
when = { field = "project.stage", equals = "research" }
rationale = "Test: ecosystem counts x1.5."
claims = ["fact-switching-cost"]
effects = [{ criterion = "ecosystem", relevance = 1.5 }, { criterion = "ecosystem", relevance = 1.0 }]
"""


@pytest.fixture(scope="module")
def extra_kb(tmp_path_factory: pytest.TempPathFactory) -> Knowledge:
    folder = tmp_path_factory.mktemp("kb") / "knowledge"
    shutil.copytree(knowledge_dir(), folder)
    (folder / "rules" / "zz-test.toml").write_text(EXTRA_RULES, encoding="utf-8")
    return load_knowledge(folder)


RESEARCH = {
    "project": {"tasks": ["other"], "stage": "research"},
    "priorities": {"ecosystem": 4},
}


def test_relevance_is_strongest_damping_times_strongest_stress(extra_kb: Knowledge) -> None:
    answers = Requirements.model_validate(RESEARCH)
    relevance = criterion_relevance(answers, extra_kb)
    assert relevance[Criterion.ECOSYSTEM] == pytest.approx(0.5 * 1.5)
    assert relevance[Criterion.TASK_FIT] == 4.0  # task fit keeps its fixed weight
    assert relevance[Criterion.DEVELOPMENT_SPEED] == 1.0
    # defaults: NVIDIA GPU, one device, medium model -> single-device damps distributed x0.25
    assert relevance[Criterion.DISTRIBUTED_TRAINING] == 0.25
    rec = recommend(answers, knowledge=extra_kb)
    weights = {c.criterion: c.weight for c in _entry(rec, "pytorch").criteria}
    assert weights[Criterion.ECOSYSTEM] == pytest.approx(4 * 0.75)
    assert weights[Criterion.DEVELOPMENT_SPEED] == 3.0


def test_an_exclusion_effect_names_its_rule_and_rationale(extra_kb: Knowledge) -> None:
    rec = recommend(Requirements.model_validate(RESEARCH), knowledge=extra_kb)
    (mx,) = [e for e in rec.excluded if e.framework == "mxnet"]
    assert mx.reasons == ["Test: research excludes MXNet."]
    assert mx.rules == ["test-exclude-mxnet"]
    assert "mxnet" not in {e.framework for e in rec.ranking}


def test_the_weakest_level_counts(extra_kb: Knowledge) -> None:
    """JAX deployment: levels 3.5 and 1.0 fire (and jax-deploy-server's 3.0 for the default
    cloud target): 1.0 counts, shown as one step of 1.0 - 2.0 = -1.0 from the prior."""
    rec = recommend(Requirements.model_validate(RESEARCH), knowledge=extra_kb)
    deployment = next(c for c in _entry(rec, "jax").criteria if c.criterion is Criterion.DEPLOYMENT)
    assert deployment.score == 1.0
    assert [(a.rule, a.delta) for a in deployment.adjustments] == [("test-exclude-mxnet", -1.0)]


def test_a_rules_evidence_lists_only_its_effects_on_that_framework(extra_kb: Knowledge) -> None:
    """test-exclude-mxnet excludes MXNet and sets two JAX levels: JAX's evidence shows the two
    levels, in the rule's order, and not the exclusion. (A knowledge base of its own: the
    effects are worked out once per knowledge base and kept.)"""
    rec = recommend(Requirements.model_validate(RESEARCH), knowledge=extra_kb)
    evidence = {ev.rule: ev.effects for ev in _entry(rec, "jax").evidence}
    assert evidence["test-exclude-mxnet"] == [
        "jax deployment at 3.5 for your needs",
        "jax deployment at 1 for your needs",
    ]
    assert evidence["jax-deploy-server"] == ["jax deployment at 3 for your needs"]


def test_rule_impacts_are_given_to_four_places() -> None:
    from advisor.core.engine import recommend as _recommend
    from advisor.files.answer_files import load_answers as _load

    impacts = [
        e.impact
        for path in sorted((Path(__file__).parents[1] / "examples").glob("*.toml"))
        if path.name != "expected.toml"
        for entry in _recommend(_load(path)).ranking
        for e in entry.evidence
    ]
    assert impacts and all(i == round(i, 4) for i in impacts)
    assert any(round(i, 3) != i for i in impacts)  # not all of them round numbers already
