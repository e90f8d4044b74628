"""Building the knowledge base from parsed tables (advisor/core/knowledge.py), in-process: the
shipped tables with one item added or broken, and the exact message each mistake fails with; what
per-framework rules, quantifiers and corrections expand to; the models' own rules."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from typing import Any

import pytest

from advisor.core.criteria import CRITERIA, Criterion
from advisor.core.knowledge import (
    Claim,
    Effect,
    FrameworkProfile,
    Knowledge,
    KnowledgeError,
    Prior,
    Reference,
    SeedSource,
    build_knowledge,
)
from advisor.core.questionnaire import Requirements
from advisor.files.knowledge_files import _knowledge_paths, _parse_all, knowledge_dir

Tables = dict[str, dict[str, dict[str, Any]]]
KNOWN = "tensorflow, pytorch, jax, keras, mxnet"
REF = "mxnet-attic"  # a shipped reference
CLAIM = "fact-litert"  # a shipped claim
PYTORCH = "knowledge/frameworks/pytorch.toml"


@pytest.fixture(scope="module")
def shipped() -> Tables:
    root = knowledge_dir()
    return _parse_all(root, _knowledge_paths(root))


@pytest.fixture
def tables(shipped: Tables) -> Tables:
    """The shipped tables without their rules and next steps (half the build time); each test
    adds the ones it needs."""
    return copy.deepcopy({**shipped, "rules": {}, "next_steps": {}})


@pytest.fixture(scope="module")
def kb(shipped: Tables) -> Knowledge:
    return build_knowledge(copy.deepcopy(shipped))


def claim(**changes: Any) -> dict[str, Any]:
    return {"id": "t-claim", "kind": "fact", "text": "A claim made for a test.",
            "references": [REF], "checked": "2026-01-01", **changes}  # fmt: skip


def rule(**changes: Any) -> dict[str, Any]:
    return {
        "id": "t-rule",
        "when": {"field": "project.stage", "equals": "research"},
        "rationale": "A rule made for a test.",
        "claims": [CLAIM],
        "effects": [{"framework": "pytorch", "criterion": "deployment", "delta": 1.0}],
        **changes,
    }


def step(**changes: Any) -> dict[str, Any]:
    return {"id": "t-step", "framework": "pytorch", "title": "t", "detail": "d",
            "claims": [CLAIM], **changes}  # fmt: skip


def framework(tables: Tables, **changes: Any) -> dict[str, Any]:
    """A copy of PyTorch's profile under another id, ordered with MXNet (no aliases, no probe)."""
    body = copy.deepcopy(tables["frameworks"][PYTORCH]["framework"])
    body.pop("probe", None)
    return {**body, "id": "caffe", "name": "Caffe", "order": 9, "aliases": [], "codebases": [],
            **changes}  # fmt: skip


def add(tables: Tables, kind: str, key: str, *items: dict[str, Any]) -> None:
    tables[kind][f"knowledge/{kind}/test.toml"] = {key: list(items)}


def error_of(tables: Tables) -> str:
    with pytest.raises(KnowledgeError) as error:
        build_knowledge(tables)
    return str(error.value)


T = "knowledge/{}/test.toml"
CASES: dict[str, tuple[Callable[[Tables], None], str]] = {
    "reference twice": (
        lambda t: add(t, "references", "reference", {"id": REF, "title": "again", "url": "https://x"}),
        f"{T.format('references')}: reference '{REF}' is defined twice",
    ),
    "reference without url": (
        lambda t: add(t, "references", "reference", {"id": "t-ref", "title": "no url"}),
        f"{T.format('references')}: reference 't-ref': Value error, only a measurement reference may lack a url",
    ),
    "claim twice": (
        lambda t: add(t, "claims", "claim", claim(id=CLAIM)),
        f"{T.format('claims')}: claim '{CLAIM}' is defined twice (also in knowledge/claims/",
    ),
    "claim with unknown seed": (
        lambda t: add(t, "claims", "claim", claim(kind="pro", source={"seed": "999", "section": "2", "item": 1})),
        f"{T.format('claims')}: claim 't-claim': unknown seed '999'",
    ),
    "claim with unknown reference": (
        lambda t: add(t, "claims", "claim", claim(references=[REF, "no-such-ref"])),
        f"{T.format('claims')}: claim 't-claim': unknown reference 'no-such-ref'",
    ),
    "claim about an unknown framework": (
        lambda t: add(t, "claims", "claim", claim(frameworks=["pytorch", "caffe"])),
        f"{T.format('claims')}: claim 't-claim': unknown framework 'caffe' (the registry in "
        f"knowledge/frameworks/ has: {KNOWN})",
    ),
    "corrected_by an unknown claim": (
        lambda t: add(t, "claims", "claim", claim(corrected_by=["no-such-claim"])),
        f"{T.format('claims')}: claim 't-claim': corrected_by names unknown claim 'no-such-claim'",
    ),
    "claim with an unknown shelf": (
        lambda t: add(t, "claims", "claim", claim(shelf="forever")),
        f"{T.format('claims')}: claim 't-claim': shelf 'forever' is not a kind of uncertainty.toml "
        "(allowed: architecture, concept, default, ecosystem, lifecycle, release, release_status, "
        "support, version, or a number of days)",
    ),
    "claim with a zero shelf": (
        lambda t: add(t, "claims", "claim", claim(shelf=0)),
        f"{T.format('claims')}: claim 't-claim': shelf must be a positive number of days",
    ),
    "invalid claim, two problems": (
        lambda t: add(t, "claims", "claim", claim(kind="gossip", text="short")),
        f"{T.format('claims')}: claim 't-claim': kind: Input should be 'concept', 'pro', 'con', "
        "'application', 'faq' or 'fact' (and 1 more)",
    ),
    "claim that fails a model rule": (
        lambda t: add(t, "claims", "claim", claim(references=[])),
        f"{T.format('claims')}: claim 't-claim': Value error, a claim needs a seed source or at "
        "least one reference",
    ),
    "unexpected top-level key": (
        lambda t: t["claims"].update({T.format("claims"): {"claim": [], "rule": []}}),
        f"{T.format('claims')}: unexpected top-level key(s) ['rule']; expected [[claim]]",
    ),
    "entry that is not a table": (
        lambda t: t["claims"].update({T.format("claims"): {"claim": ["text"]}}),
        f"{T.format('claims')}: every [[claim]] entry must be a table",
    ),
    "framework twice": (
        lambda t: add(t, "frameworks", "framework", framework(t, id="pytorch")),
        f"{T.format('frameworks')}: framework 'pytorch' is defined twice (also in {PYTORCH})",
    ),
    "invalid seed": (
        lambda t: add(t, "seeds", "seed", {"id": "12", "file": "12.md", "title": "a seed"}),
        f"{T.format('seeds')}: seed '12': id: String should match pattern '^\\d{{3}}$'",
    ),
    "invalid framework": (
        lambda t: add(t, "frameworks", "framework", framework(t, maintainer="someone")),
        f"{T.format('frameworks')}: framework 'caffe': maintainer: Extra inputs are not permitted",
    ),
    "framework alias that lower-cases to another's": (  # U+212A KELVIN SIGN lower-cases to k,
        # as the registry compares names (it upper-cases to itself)
        lambda t: add(t, "frameworks", "framework", framework(t, aliases=["\u212aeras"])),
        f"{T.format('frameworks')}: framework 'caffe': name '\u212aeras' already means 'keras'",
    ),
    "framework alias clash": (
        lambda t: add(t, "frameworks", "framework", framework(t, aliases=["Torch"])),
        f"{T.format('frameworks')}: framework 'caffe': name 'Torch' already means 'pytorch'",
    ),
    "codebase none": (
        lambda t: add(t, "frameworks", "framework", framework(t, codebases=["none"])),
        f"{T.format('frameworks')}: framework 'caffe': codebase 'none' is reserved",
    ),
    "probe backend named after another": (
        lambda t: add(t, "frameworks", "framework",
                      framework(t, probe={"backend": "probes.frameworks.pytorch"})),
        f"{T.format('frameworks')}: framework 'caffe': probe.backend must be "
        "'probes.frameworks.caffe' (the worker loads the module named after the id)",
    ),
    "frontend over an unknown backend": (
        lambda t: add(t, "frameworks", "framework",
                      framework(t, kind="frontend", backends=["pytorch", "theano"])),
        f"{T.format('frameworks')}: framework 'caffe': backend 'theano' is not a declared framework",
    ),
    "frontend over a frontend": (
        lambda t: add(t, "frameworks", "framework",
                      framework(t, kind="frontend", backends=["keras"])),
        f"{T.format('frameworks')}: framework 'caffe': backend 'keras' is not a declared framework",
    ),
    "framework citing an unknown claim": (
        lambda t: add(t, "frameworks", "framework", framework(t, lifecycle_claims=["nope"])),
        f"{T.format('frameworks')}: framework 'caffe': unknown claim 'nope'",
    ),
    "caveat citing an unknown claim": (
        lambda t: add(t, "frameworks", "framework", framework(
            t, standing_caveats=[{"message": "m", "claims": ["nope"]}])),
        f"{T.format('frameworks')}: framework 'caffe' caveat 'standing_caveats': unknown claim 'nope'",
    ),
    "prior citing an unknown claim": (
        lambda t: add(t, "frameworks", "framework", framework(t, priors={
            **t["frameworks"][PYTORCH]["framework"]["priors"],
            "ecosystem": {"score": 3.0, "claims": ["nope"]}})),
        f"{T.format('frameworks')}: framework 'caffe' prior 'ecosystem': unknown claim 'nope'",
    ),
    "no framework": (
        lambda t: t.update({"frameworks": {}}),
        "frameworks: no framework is declared (knowledge/frameworks/*.toml)",
    ),
    "rule twice": (
        lambda t: add(t, "rules", "rule", rule(), rule()),
        f"{T.format('rules')}: rule 't-rule' is defined twice",
    ),
    "rule citing an unknown claim": (
        lambda t: add(t, "rules", "rule", rule(claims=[CLAIM, "nope"])),
        f"{T.format('rules')}: rule 't-rule': unknown claim 'nope'",
    ),
    "rule on an unknown framework": (
        lambda t: add(t, "rules", "rule", rule(effects=[
            {"framework": "caffe", "criterion": "deployment", "delta": 1.0}])),
        f"{T.format('rules')}: rule 't-rule': unknown framework 'caffe'",
    ),
    "rule on a backend the framework lacks": (
        lambda t: add(t, "rules", "rule", rule(effects=[
            {"framework": "keras", "backend": "mxnet", "criterion": "deployment", "delta": 1.0}])),
        f"{T.format('rules')}: rule 't-rule': backend 'mxnet' is not a backend of 'keras'",
    ),
    "backend effect on a plain framework": (
        lambda t: add(t, "rules", "rule", rule(effects=[
            {"framework": "pytorch", "backend": "jax", "criterion": "deployment", "delta": 1.0}])),
        f"{T.format('rules')}: rule 't-rule': backend 'jax' is not a backend of 'pytorch'",
    ),
    "rule whose condition misfits": (
        lambda t: add(t, "rules", "rule", rule(when={"field": "project.stag", "equals": "x"})),
        f"{T.format('rules')}: rule 't-rule': 'project.stag' is not a questionnaire field",
    ),
    "codebase_of an unknown framework": (
        lambda t: add(t, "rules", "rule", rule(when={"codebase_of": "caffe"})),
        f"{T.format('rules')}: rule 't-rule': codebase_of names unknown framework 'caffe'",
    ),
    "condition with no operator": (
        lambda t: add(t, "rules", "rule", rule(when={"field": "project.stage"})),
        f"{T.format('rules')}: rule 't-rule': condition on 'project.stage' needs exactly one "
        "operator (equals, in, contains, contains_any, subset_of, at_least, at_most); got none",
    ),
    "invalid rule": (
        lambda t: add(t, "rules", "rule", rule(effects=[])),
        f"{T.format('rules')}: rule 't-rule': effects: List should have at least 1 item",
    ),
    "step twice": (
        lambda t: add(t, "next_steps", "step", step(), step()),
        f"{T.format('next_steps')}: step 't-step' is defined twice (also in {T.format('next_steps')})",
    ),
    "step on an unknown framework": (
        lambda t: add(t, "next_steps", "step", step(framework="caffe")),
        f"{T.format('next_steps')}: step 't-step': unknown framework 'caffe'",
    ),
    "step citing an unknown claim": (
        lambda t: add(t, "next_steps", "step", step(claims=["nope"])),
        f"{T.format('next_steps')}: step 't-step': unknown claim 'nope'",
    ),
    "invalid step": (
        lambda t: add(t, "next_steps", "step", step(command=3)),
        f"{T.format('next_steps')}: step 't-step': command: Input should be a valid string",
    ),
    "step whose condition misfits": (
        lambda t: add(t, "next_steps", "step", step(when={"field": "project.stage", "contains": "x"})),
        f"{T.format('next_steps')}: step 't-step': 'contains' needs a list field",
    ),
    "step whose condition names an unknown framework": (
        lambda t: add(t, "next_steps", "step", step(when={"field": "team.experience.caffe", "equals": "none"})),
        f"{T.format('next_steps')}: step 't-step': 'team.experience.caffe': unknown framework 'caffe' (known: {KNOWN})",
    ),
    "invalid scoring": (
        lambda t: t["scoring"]["knowledge/scoring.toml"].update({"task_fit_weight": 0}),
        "knowledge/scoring.toml: scoring: task_fit_weight: Input should be greater than 0",
    ),
    "no calibration": (
        lambda t: t.update({"calibration": {}}),
        "calibration.toml: missing (the calibration policy is data)",
    ),
    "calibration with an unexpected key": (
        lambda t: t["calibration"]["knowledge/calibration.toml"].update({"extra": {}}),
        "knowledge/calibration.toml: unexpected top-level key(s) ['extra']; expected [calibration]",
    ),
    "calibration without its table": (
        lambda t: t["calibration"].update({"knowledge/calibration.toml": {}}),
        "knowledge/calibration.toml: calibration: max_confidence: Field required (and 13 more)",
    ),
    "invalid calibration": (
        lambda t: t["calibration"]["knowledge/calibration.toml"]["calibration"].update({"x": 1}),
        "knowledge/calibration.toml: calibration: x: Extra inputs are not permitted",
    ),
    "no uncertainty": (
        lambda t: t.update({"uncertainty": {}}),
        "uncertainty.toml: missing (the uncertainty policy is data)",
    ),
    "uncertainty with an unexpected key": (
        lambda t: t["uncertainty"]["knowledge/uncertainty.toml"].update({"extra": {}}),
        "knowledge/uncertainty.toml: unexpected top-level key(s) ['extra']; expected [uncertainty]",
    ),
    "invalid uncertainty": (
        lambda t: t["uncertainty"]["knowledge/uncertainty.toml"]["uncertainty"].update({"x": 1}),
        "knowledge/uncertainty.toml: uncertainty: x: Extra inputs are not permitted",
    ),
    "invalid deployment catalogue": (
        lambda t: t["deployment"]["knowledge/deployment.toml"].update({"x": 1}),
        "knowledge/deployment.toml: deployment: x: Extra inputs are not permitted",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("change", "expected"), CASES.values(), ids=list(CASES))
def test_each_mistake_fails_with_its_message(
    tables: Tables, change: Callable[[Tables], None], expected: str
) -> None:
    change(tables)
    assert error_of(tables).startswith(expected), error_of(tables)


def test_a_valid_addition_of_each_kind_loads(tables: Tables) -> None:
    """The helpers' items are valid: each case above fails for its one change only."""
    add(
        tables,
        "references",
        "reference",
        {"id": "t-ref", "title": "a test page", "url": "https://t"},
    )
    add(tables, "claims", "claim", claim(references=["t-ref"], shelf=30),
        claim(id="t-concept", kind="concept", references=["t-ref"]),
        claim(id="t-day", references=["t-ref"], shelf=1))  # fmt: skip
    add(tables, "frameworks", "framework", framework(tables))
    add(tables, "rules", "rule", rule(claims=["t-claim"]))
    add(tables, "next_steps", "step", step(framework="caffe"))
    kb = build_knowledge(tables)
    assert kb.claims["t-claim"].shelf == 30
    assert kb.claims["t-concept"].shelf == "concept"  # a concept's default shelf
    assert kb.claims["t-day"].shelf == 1  # the shortest shelf there is
    assert kb.claim_files["t-claim"] == "knowledge/claims/test.toml"
    assert kb.registry.ids[-2:] == ("caffe", "mxnet")  # order 9 ties mxnet's; ids break the tie
    assert list(kb.frameworks)[-2:] == ["caffe", "mxnet"]
    assert any(r.rule.id == "t-rule" and r.source_file == T.format("rules") for r in kb.rules)
    assert kb.next_steps[-1].step.id == "t-step"


def _outcome(tables: Tables) -> tuple[Any, ...]:
    try:
        kb = build_knowledge(tables)
    except KnowledgeError as error:
        return ("error", str(error))
    return ("built", sorted(kb.claims), len(kb.rules), len(kb.next_steps), kb.scoring,
            kb.deployment)  # fmt: skip


@pytest.mark.parametrize(
    "kind",
    ["seeds", "references", "frameworks", "claims", "rules", "next_steps", "scoring",
     "calibration", "uncertainty", "deployment"],
)  # fmt: skip
def test_a_kind_left_out_of_the_tables_is_a_kind_without_files(shipped: Tables, kind: str) -> None:
    """A caller may leave a kind out instead of passing it empty: the same knowledge, or the
    same message naming what is missing, never a crash."""
    empty = copy.deepcopy({**shipped, "rules": {}, kind: {}})
    absent = copy.deepcopy({k: v for k, v in {**shipped, "rules": {}}.items() if k != kind})
    assert _outcome(absent) == _outcome(empty)


def test_the_deployment_catalogue_is_kept_and_absent_without_its_file(tables: Tables) -> None:
    from advisor.core.deployment_paths import DeploymentCatalogue

    catalogue = tables["deployment"]["knowledge/deployment.toml"]
    assert build_knowledge(copy.deepcopy(tables)).deployment == (
        DeploymentCatalogue.model_validate(catalogue)
    )
    assert build_knowledge({**tables, "deployment": {}}).deployment is None


def test_a_steps_condition_may_name_a_framework_of_this_registry(tables: Tables) -> None:
    """Conditions are checked against the registry being built, not the one in force."""
    add(tables, "frameworks", "framework", framework(tables))
    add(tables, "next_steps", "step", step(framework="caffe",
        when={"field": "team.experience.caffe", "equals": "none"}))  # fmt: skip
    kb = build_knowledge(tables)
    assert kb.next_steps[-1].step.id == "t-step" and "caffe" not in KNOWN


@pytest.mark.parametrize(("codebase", "expected"), [("tf_keras", True), ("none", False)])
def test_a_quantifier_expands_the_registry_forms_inside_it(
    tables: Tables, codebase: str, expected: bool
) -> None:
    """`any_framework` over `codebase_of` holds when the codebase runs on any framework."""
    add(tables, "rules", "rule", rule(when={"any_framework": {"codebase_of": "{framework}"}}))
    compiled = next(r for r in build_knowledge(tables).rules if r.rule.id == "t-rule")
    answers = Requirements.model_validate(
        {"project": {"tasks": ["nlp"]}, "team": {"existing_codebase": codebase}}
    )
    assert compiled.applies(answers) is expected


def test_frameworks_follow_their_order_then_id(tables: Tables) -> None:
    add(tables, "frameworks", "framework", framework(tables, id="aaa", name="A", order=0),
        framework(tables, id="zzz", name="Z", order=0))  # fmt: skip
    ids = build_knowledge(tables).registry.ids
    assert ids[:2] == ("aaa", "zzz")


def test_a_single_table_counts_as_one_entry(tables: Tables) -> None:
    tables["rules"][T.format("rules")] = {"rule": rule()}
    assert any(r.rule.id == "t-rule" for r in build_knowledge(tables).rules)


def test_per_framework_rules_expand_with_the_framework_substituted(tables: Tables) -> None:
    add(tables, "rules", "rule", rule(
        per_framework=True, when={"field": "team.experience.{framework}", "at_least": "some"},
        effects=[{"framework": "{framework}", "criterion": "team_fit", "delta": 1.0}]))  # fmt: skip
    rules = {r.rule.id: r for r in build_knowledge(tables).rules}
    assert [i for i in rules if i.startswith("t-rule")] == [
        f"t-rule:{fw}" for fw in KNOWN.split(", ")
    ]
    jax = rules["t-rule:jax"]
    assert jax.rule.effects[0].framework == "jax"
    assert jax.applies(Requirements.model_validate(
        {"project": {"tasks": ["nlp"]}, "team": {"experience": {"jax": "some"}}}))  # fmt: skip
    assert not jax.applies(Requirements.model_validate({"project": {"tasks": ["nlp"]}}))
    assert "t-rule" not in rules


@pytest.mark.parametrize(
    ("when", "experience", "expected"),
    [
        ({"every_framework": {"field": "team.experience.{framework}", "equals": "none"}}, {}, True),
        ({"every_framework": {"field": "team.experience.{framework}", "equals": "none"}},
         {"mxnet": "some"}, False),
        ({"any_framework": {"field": "team.experience.{framework}", "equals": "expert"}},
         {"mxnet": "expert"}, True),
        ({"any_framework": {"field": "team.experience.{framework}", "equals": "expert"}},
         {"mxnet": "some"}, False),
        ({"not": {"any_framework": {"field": "team.experience.{framework}", "equals": "expert"}}},
         {}, True),
    ],
)  # fmt: skip
def test_quantifiers_range_over_the_registry(
    tables: Tables, when: dict[str, Any], experience: dict[str, str], expected: bool
) -> None:
    add(tables, "next_steps", "step", step(when=when))
    compiled = build_knowledge(tables).next_steps[-1]
    answers = Requirements.model_validate(
        {"project": {"tasks": ["nlp"]}, "team": {"experience": experience}}
    )
    assert compiled.applies(answers) is expected


@pytest.mark.parametrize(
    ("codebase", "expected"), [("tf_keras", True), ("keras", True), ("tensorflow", False)]
)
def test_codebase_of_holds_for_every_codebase_the_framework_runs(
    tables: Tables, codebase: str, expected: bool
) -> None:
    add(tables, "rules", "rule", rule(when={"all": [{"codebase_of": "keras"}]}))
    compiled = next(r for r in build_knowledge(tables).rules if r.rule.id == "t-rule")
    answers = Requirements.model_validate(
        {"project": {"tasks": ["nlp"]}, "team": {"existing_codebase": codebase}}
    )
    assert compiled.applies(answers) is expected


def test_corrections_link_current_claims_to_the_seed_claims_they_overturn(
    tables: Tables,
) -> None:
    seed = {"seed": "000", "section": "2.1", "item": 1}
    add(
        tables,
        "references",
        "reference",
        {"id": "t-ref", "title": "a test page", "url": "https://t"},
        {"id": "t-ref2", "title": "another page", "url": "https://t2"},
    )
    add(tables, "claims", "claim",
        claim(id="t-current", references=["t-ref"]),
        claim(id="t-named", references=["t-ref2"]),
        claim(id="t-old", kind="pro", references=["t-ref"], source=seed, verdict="outdated",
              correction="It changed.", corrected_by=["t-named"]),
        claim(id="t-holds", kind="pro", references=["t-ref"], source=seed),
        claim(id="t-wrong", kind="con", references=["t-ref2"], source=seed, verdict="wrong",
              correction="It was never so."))  # fmt: skip
    overridden = build_knowledge(tables).overridden_by
    assert overridden["t-current"] == ("t-old",)
    assert overridden["t-named"] == ("t-old", "t-wrong")
    assert "t-holds" not in overridden and "t-old" not in overridden


def test_the_version_digest_follows_the_content(shipped: Tables, kb: Knowledge) -> None:
    assert len(kb.version) == 12 and int(kb.version, 16) >= 0
    again = build_knowledge(copy.deepcopy(shipped))
    assert again.version == kb.version
    changed = copy.deepcopy(shipped)
    add(changed, "rules", "rule", rule())
    assert build_knowledge(changed).version != kb.version


def test_toml_dates_are_kept_as_iso_text(tables: Tables) -> None:
    add(tables, "claims", "claim", claim(checked=datetime.date(2026, 3, 4)))
    assert build_knowledge(tables).claims["t-claim"].checked == "2026-03-04"


# --- the models' own rules -----------------------------------------------------------------------


def test_prior_base() -> None:
    assert Prior(score=3.5, claims=["c"]).base(1.0) == 3.5
    inherit = Prior(inherit=True, delta=-0.5, claims=["c"])
    assert inherit.base(4.0) == 3.5
    assert inherit.base(0.25) == 0.0  # never below 0
    assert inherit.base(None) == 0.0
    assert Prior(inherit=True, delta=1.0, claims=["c"]).base(4.5) == 5.0  # never above 5
    assert Prior(inherit=True, at_most=4.0, claims=["c"]).base(4.5) == 4.0
    assert Prior(inherit=True, at_most=4.0, claims=["c"]).base(3.0) == 3.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"claims": ["c"]}, "a prior has either a score or inherit = true"),
        ({"score": 3, "inherit": True, "claims": ["c"]}, "a prior has either a score or inherit"),
        ({"score": 3, "delta": 0.5, "claims": ["c"]}, "delta and at_most only apply to an inherited prior"),
        ({"score": 3, "at_most": 4, "claims": ["c"]}, "delta and at_most only apply to an inherited prior"),
    ],
)  # fmt: skip
def test_prior_rules(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Prior.model_validate(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"framework": "jax", "criterion": "deployment", "delta": 1, "level": 2},
         "an effect is exactly one of: delta, level, relevance, exclude, caveat"),
        ({"framework": "jax"}, "an effect is exactly one of"),
        ({"criterion": "deployment", "relevance": 1.5, "framework": "jax"},
         "a relevance effect names a criterion and no framework"),
        ({"relevance": 1.5}, "a relevance effect names a criterion and no framework"),
        ({"criterion": "deployment", "delta": 1}, "this effect needs a framework"),
        ({"framework": "jax", "delta": 1}, "a delta or level needs a criterion"),
        ({"framework": "jax", "level": 1}, "a delta or level needs a criterion"),
        ({"framework": "jax", "exclude": True, "criterion": "deployment"},
         "exclusions and caveats take no criterion"),
        ({"framework": "jax", "caveat": "c", "criterion": "deployment"},
         "exclusions and caveats take no criterion"),
    ],
)  # fmt: skip
def test_effect_rules(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Effect.model_validate(data)


def test_effect_descriptions() -> None:
    def describe(**data: Any) -> str:
        return Effect.model_validate(data).describe()

    assert describe(criterion="deployment", relevance=1.5) == "deployment counts x1.5"
    assert describe(framework="jax", exclude=True) == "excludes jax"
    assert describe(framework="jax", caveat="careful") == "warns about jax"
    assert describe(framework="jax", criterion="deployment", level=4.5) == (
        "jax deployment at 4.5 for your needs"
    )
    assert describe(framework="jax", criterion="deployment", delta=0.5) == "jax deployment +0.5"
    assert describe(framework="jax", criterion="deployment", delta=-1) == "jax deployment -1"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "fact", "source": {"seed": "000", "section": "2", "item": 1}},
         "a fact claim is sourced by references, not by a seed"),
        ({"verdict": "outdated"}, "verdict 'outdated' needs a correction"),
        ({"verdict": "wrong", "correction": "c", "references": [],
          "source": {"seed": "000", "section": "2", "item": 1}, "kind": "pro"},
         "verdict 'wrong' needs references for its correction"),
        ({"text": "Released as 1.2.3 last spring."},
         r"names version\(s\) 1.2.3 without recording them: add versions = \[\{ package = \.\.\., "
         r"version = \.\.\., released = YYYY-MM-DD \}\]"),
        ({"versions": [{"package": "torch", "version": "2.9.0", "released": "2025-10"}]},
         r"records version\(s\) 2.9.0 that its text never names"),
    ],
)  # fmt: skip
def test_claim_rules(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Claim.model_validate(claim(**changes))


def test_claim_version_bookkeeping() -> None:
    version = {"package": "torch", "version": "2.9.0", "released": "2025-10"}
    named = Claim.model_validate(claim(text="PyTorch 2.9.0 is out.", versions=[version]))
    assert named.shelf == "version"  # a claim naming a release ages as a version
    # A seed claim's own text is the article's: a version there need not be recorded, and one
    # recorded may be named there or in the correction.
    seed = {"seed": "000", "section": "2", "item": 1}
    old = claim(kind="pro", source=seed, text="TF 1.15.0 is the newest.", verdict="outdated",
                correction="2.9.0 is newer.", versions=[version])  # fmt: skip
    assert Claim.model_validate(old).versions[0].version == "2.9.0"
    unrecorded = {**old, "versions": []}
    with pytest.raises(ValueError, match="names version"):
        Claim.model_validate(unrecorded)
    assert Claim.model_validate(claim(text="Since TF 2.16 and 0.4.30.1x it works.")).versions == []
    assert Claim.model_validate(claim(shelf=None)).shelf is None


def test_profile_rules(kb: Knowledge, tables: Tables) -> None:
    base = framework(tables)
    priors = dict(base["priors"])
    with pytest.raises(ValueError, match="priors missing for: ecosystem"):
        FrameworkProfile.model_validate(
            {**base, "priors": {k: v for k, v in priors.items() if k != "ecosystem"}}
        )
    with pytest.raises(ValueError, match="a frontend names its backends, and only a frontend"):
        FrameworkProfile.model_validate({**base, "kind": "frontend"})
    with pytest.raises(ValueError, match="a frontend names its backends, and only a frontend"):
        FrameworkProfile.model_validate({**base, "backends": ["jax"]})
    inheriting = {**priors, "ecosystem": {"inherit": True, "claims": ["c"]}}
    with pytest.raises(ValueError, match=r"only a frontend inherits priors \(ecosystem\)"):
        FrameworkProfile.model_validate({**base, "priors": inheriting})
    assert set(kb.frameworks["keras"].priors) == set(CRITERIA)
    assert kb.frameworks["mxnet"].maintained is False
    assert kb.frameworks["pytorch"].maintained is True
    entry = kb.frameworks["keras"].entry()
    assert (entry.id, entry.name, entry.codebases) == ("keras", "Keras 3", ("keras", "tf_keras"))
    assert "keras3" in entry.aliases
    assert kb.frameworks["jax"].entry().codebases == ("jax",)  # default: its id
    assert kb.frameworks["keras"].priors[Criterion("long_term_support")].at_most == 4.0


def test_small_models() -> None:
    assert SeedSource(seed="001", section="3.4", item=2).label() == "seed 001 §3.4 item 2"
    assert Reference(id="m", title="a measurement", kind="measurement").url is None
    with pytest.raises(ValueError):
        Reference(id="Bad Id", title="title", url="https://x")


def test_an_empty_file_and_absent_scoring_are_fine(tables: Tables) -> None:
    tables["claims"][T.format("claims")] = {}
    tables["scoring"] = {}
    kb = build_knowledge(tables)
    assert kb.scoring.task_fit_weight == 4.0 and kb.scoring.score_max == 5.0
    assert len(kb.claims) == sum(len(f.get("claim", [])) for f in tables["claims"].values())


def test_the_version_digest_ignores_key_order_and_reads_enums_as_their_value(
    tables: Tables,
) -> None:
    from advisor.core.knowledge import ClaimKind

    add(tables, "claims", "claim", claim())
    version = build_knowledge(copy.deepcopy(tables)).version
    reordered = {kind: dict(reversed(files.items())) for kind, files in reversed(tables.items())}
    assert build_knowledge(reordered).version == version
    tables["claims"][T.format("claims")]["claim"][0]["kind"] = ClaimKind.FACT
    assert build_knowledge(tables).version == version


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: add(t, "rules", "rule", rule(effects=[
            {"framework": "pytorch", "criterion": "beauty", "delta": 1.0}])),
         f"{T.format('rules')}: rule 't-rule': effects.0.criterion: Input should be "),
        (lambda t: t["scoring"]["knowledge/scoring.toml"].update({"task_fit_weight": 0}),
         "knowledge/scoring.toml: scoring: task_fit_weight: Input should be greater than 0"),
        (lambda t: t["uncertainty"].update({"knowledge/uncertainty.toml": {}}),
         "knowledge/uncertainty.toml: uncertainty: spread: Field required (and 9 more)"),
    ],
)  # fmt: skip
def test_one_problem_is_named_by_its_dotted_place_and_more_are_counted(
    tables: Tables, change: Callable[[Tables], None], expected: str
) -> None:
    change(tables)
    text = error_of(tables)
    assert text.startswith(expected), text
    assert "(and" not in text or text.endswith("more)")
    if "more)" not in expected:
        assert "(and" not in text


def test_the_version_digest_reads_toml_dates(tables: Tables) -> None:
    add(tables, "claims", "claim", claim(checked=datetime.date(2026, 3, 4)))
    version = build_knowledge(copy.deepcopy(tables)).version
    tables["claims"][T.format("claims")]["claim"][0]["checked"] = datetime.date(2026, 3, 5)
    assert build_knowledge(tables).version != version
