"""The knowledge base: seed coverage, verdict discipline, and validation at load."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from advisor.core.knowledge import Knowledge, KnowledgeError, Verdict
from advisor.core.seeds import items_under, parse_items
from advisor.files.knowledge_files import CACHES_KEPT, load_knowledge
from tests.conftest import ROOT, SEEDS

REQUIRED_SECTIONS = ("2", "3.3", "3.4", "6", "9")


needs_seed_texts = pytest.mark.skipif(
    not SEEDS.is_dir(),
    reason=f"the seed articles are not at {SEEDS} (set ADVISOR_SEEDS_DIR); coverage is still "
    "checked against the item counts recorded in knowledge/seeds.toml",
)


@pytest.mark.parametrize("seed_id", ["000", "003"])
def test_every_item_of_the_required_seed_sections_has_a_claim(
    knowledge: Knowledge, seed_id: str
) -> None:
    seed = knowledge.seeds[seed_id]
    required = [(section, n) for section, count in seed.items.items() for n in range(1, count + 1)]
    assert len(required) > 40  # the sections exist and were cut into items
    assert all(s.split(".")[0] in {r.split(".")[0] for r in REQUIRED_SECTIONS} for s in seed.items)
    covered = {
        (c.source.section, c.source.item)
        for c in knowledge.claims.values()
        if c.source is not None and c.source.seed == seed_id
    }
    missing = [key for key in required if key not in covered]
    assert not missing, f"seed {seed_id} items without a claim: {missing}"


@needs_seed_texts
@pytest.mark.parametrize("seed_id", ["000", "003"])
def test_recorded_item_counts_match_the_articles(knowledge: Knowledge, seed_id: str) -> None:
    """The counts the coverage test uses are those of the article text, cut by `advisor.core.seeds`."""
    seed = knowledge.seeds[seed_id]
    raw = (SEEDS / seed.file).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == seed.sha256
    items = parse_items(raw.decode("utf-8"))
    found: dict[str, list[int]] = {}
    for section in REQUIRED_SECTIONS:
        for item in items_under(items, section):
            found.setdefault(item.section, []).append(item.number)
    assert {s: len(numbers) for s, numbers in found.items()} == seed.items
    assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in found.values())


@needs_seed_texts
def test_seed_claims_point_at_items_that_exist(knowledge: Knowledge) -> None:
    for claim in knowledge.claims.values():
        if claim.source is None:
            continue
        items = parse_items(
            (SEEDS / knowledge.seeds[claim.source.seed].file).read_text(encoding="utf-8")
        )
        numbers = [i.number for i in items.get(claim.source.section, [])]
        assert claim.source.item in numbers, f"{claim.id} cites a missing item"


def test_outdated_and_wrong_claims_carry_a_sourced_correction(knowledge: Knowledge) -> None:
    corrected = [c for c in knowledge.claims.values() if c.verdict is not Verdict.HOLDS]
    assert len(corrected) >= 20
    for claim in corrected:
        assert claim.correction
        assert claim.references or claim.corrected_by


def test_known_seed_errors_are_marked(knowledge: Knowledge) -> None:
    """The articles' best-known errors must not survive as 'holds'."""
    distributed = [
        c
        for c in knowledge.claims.values()
        if c.source
        and "pytorch" in c.frameworks
        and "distributed" in c.text.lower()
        and c.kind.value == "con"
    ]
    assert distributed and all(c.verdict is Verdict.WRONG for c in distributed)
    mxnet_pros = [
        c
        for c in knowledge.claims.values()
        if c.source and c.frameworks == ["mxnet"] and c.kind.value == "pro"
    ]
    assert mxnet_pros and all(c.verdict is not Verdict.HOLDS for c in mxnet_pros)


def test_mxnet_profile_is_retired(knowledge: Knowledge) -> None:

    assert not knowledge.frameworks["mxnet"].maintained
    assert knowledge.frameworks["pytorch"].maintained


def test_every_reference_is_cited_by_some_claim(knowledge: Knowledge) -> None:
    """A reference nothing cites is dead data: either a claim lost it or it was never needed."""
    cited = {ref for claim in knowledge.claims.values() for ref in claim.references}
    assert sorted(set(knowledge.references) - cited) == []


def _copy_knowledge(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", target)
    return target


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('when = { field = "deployment.target", contains = "mobile" }', "deployment.target"),
        ('when = { field = "deployment.targets", contains = "smartwatch" }', "smartwatch"),
        ('when = { field = "project.stage", contains = "research" }', "project.stage"),
        (
            'when = { field = "hardware.os", contains = "linux" }\nclaims = ["no-such-claim"]',
            "no-such-claim",
        ),
    ],
)
def test_a_bad_rule_fails_at_load_naming_file_and_rule(
    tmp_path: Path, rule: str, message: str
) -> None:
    root = _copy_knowledge(tmp_path)
    claims_line = "" if "claims" in rule else 'claims = ["fact-litert"]\n'
    (root / "rules" / "broken.toml").write_text(
        f'[[rule]]\nid = "broken-rule"\n{rule}\n{claims_line}'
        'rationale = "a rule that cannot work"\n'
        'effects = [{ framework = "tensorflow", criterion = "deployment", delta = 1.0 }]\n',
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(root)
    text = str(error.value)
    assert "knowledge/rules/broken.toml" in text
    assert "broken-rule" in text
    assert message in text


def test_malformed_toml_names_the_file_and_line(tmp_path: Path) -> None:
    root = _copy_knowledge(tmp_path)
    (root / "rules" / "broken.toml").write_text("[[rule]\nid = 1\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"broken\.toml: invalid TOML.*line 1"):
        load_knowledge(root)


def test_per_framework_rules_expand_to_one_rule_each(knowledge: Knowledge) -> None:
    ids = {compiled.rule.id for compiled in knowledge.rules}
    assert {
        "existing-codebase:tensorflow",
        "existing-codebase:pytorch",
        "existing-codebase:mxnet",
    } <= ids


def test_the_compiled_knowledge_cache_follows_edits_and_survives_corruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    root = _copy_knowledge(tmp_path)
    first = load_knowledge(root)
    (cached,) = (tmp_path / "cache").glob("knowledge-*.json")
    assert load_knowledge(root).claims.keys() == first.claims.keys()

    facts = root / "claims" / "facts.toml"
    text = facts.read_text(encoding="utf-8")
    facts.write_text(
        text.replace("TensorBoard works with both", "TensorBoard serves both"), "utf-8"
    )
    edited = load_knowledge(root)
    assert edited.claims["fact-tensorboard-both"].text.startswith("TensorBoard serves both")

    for stale in (tmp_path / "cache").glob("knowledge-*.json"):
        stale.write_bytes(b"not a cache")
    assert (
        load_knowledge(root)
        .claims["fact-tensorboard-both"]
        .text.startswith("TensorBoard serves both")
    )
    assert cached.exists()


def test_old_compiled_caches_are_pruned_when_a_new_one_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(cache))
    old = [cache / f"knowledge-old{i:02d}.json" for i in range(CACHES_KEPT + 3)]
    for age, path in enumerate(old, start=1):
        path.write_bytes(b"stale")
        os.utime(path, (1_000_000 - age, 1_000_000 - age))  # old00 is the newest of them
    pickled = cache / "knowledge-0123456789abcdef.pickle"  # what an older advisor left
    pickled.write_bytes(b"stale")
    knowledge_root = _copy_knowledge(tmp_path)
    load_knowledge(knowledge_root)
    assert not pickled.exists()
    left = sorted(p.name for p in cache.glob("knowledge-*.json"))
    assert len(left) == CACHES_KEPT
    assert [p.name for p in old[: CACHES_KEPT - 1]] == [n for n in left if "old" in n]
    assert load_knowledge(knowledge_root).claims  # the fresh cache is among the kept ones
