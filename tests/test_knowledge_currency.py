"""Knowledge that says when it was true: dated checks, recorded releases, staleness that widens the
advice's uncertainty, and a version check against a package index.

The aging tests move the clock, not the data: as of the day after a claim's shelf life ends it is
stale, its score's spread is wider than on the day it was checked, and `advisor claims --stale`
lists it. The version check talks to a real HTTP server on localhost that answers as PyPI's JSON
API does (the network is never needed by the suite).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from advisor.core.currency import (
    claims_due,
    compare_releases,
    latest_releases,
    version_key,
)
from advisor.core.decision.uncertainty import claim_standing, policy_of, score_uncertainty
from advisor.core.engine import recommend
from advisor.core.knowledge import Knowledge, KnowledgeError
from advisor.core.questionnaire import Requirements
from advisor.files.knowledge_files import load_knowledge
from tests.conftest import ROOT


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def _shelf(kb: Knowledge, claim_id: str) -> int:
    return int(policy_of(kb).age.shelf_life(kb.claims[claim_id].shelf))


# -- every claim is dated, every named release recorded -------------------------------------------
def test_every_claim_is_dated_no_later_than_today_and_releases_precede_their_check(
    knowledge: Knowledge,
) -> None:
    today = date.today()
    for claim in knowledge.claims.values():
        checked = date.fromisoformat(claim.checked)
        assert date(2024, 1, 1) <= checked <= today, claim.id
        for release in claim.versions:
            released = date.fromisoformat(release.released.ljust(10, "-")[:7] + "-01")
            assert released <= checked, (claim.id, release)


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", target)
    return target


def _edit_claim(root: Path, claim_id: str, old: str, new: str) -> None:
    """Replace `old` by `new` inside the one [[claim]] table whose id is `claim_id`."""
    for path in (root / "claims").glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        marker = f'id = "{claim_id}"'
        if marker not in text:
            continue
        start = text.index(marker)
        end = text.find("[[claim]]", start)
        end = len(text) if end < 0 else end
        block = text[start:end]
        assert old in block, (claim_id, old)
        path.write_text(text[:start] + block.replace(old, new, 1) + text[end:], encoding="utf-8")
        return
    raise AssertionError(f"no claim {claim_id}")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("checked = ", "# checked = ", "checked"),
        ("checked = 20", 'checked = "last week" # 20', "checked"),
        ('version = "2.15.0"', 'version = "2.14.0"', "2.15.0"),
        ("checked = ", 'shelf = "fortnight"\nchecked = ', "fortnight"),
    ],
    ids=["no-checked", "checked-not-a-date", "named-version-not-recorded", "unknown-shelf"],
)
def test_load_rejects_an_undated_claim_or_an_unrecorded_release(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    root = _copy(tmp_path)
    _edit_claim(root, "fact-torch-maintained", old, new)
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(root)
    text = str(error.value)
    assert "knowledge/claims/facts.toml" in text and "fact-torch-maintained" in text
    assert message in text


def test_a_recorded_release_its_text_never_names_is_rejected(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_claim(
        root,
        "fact-torch-maintained",
        "checked = ",
        'versions = [{ package = "torch", version = "2.15.0", released = 2026-10-28 }, '
        '{ package = "torch", version = "2.16.0", released = 2027-01-01 }]\nchecked = ',
    )
    text = (root / "claims" / "facts.toml").read_text(encoding="utf-8")
    # the claim now has two `versions` keys: keep the new one only
    first = text.index(
        'versions = [{ package = "torch", version = "2.15.0", released = 2026-10-28, latest = true }]'
    )
    text = text[:first] + text[first:].replace(
        'versions = [{ package = "torch", version = "2.15.0", released = 2026-10-28, latest = true }]\n',
        "",
        1,
    )
    (root / "claims" / "facts.toml").write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"2\.16\.0.*never names"):
        load_knowledge(root)


# -- aging: stale claims and wider spreads ---------------------------------------------------------
def test_claims_turn_stale_the_day_after_their_shelf_life(knowledge: Knowledge) -> None:
    claim = knowledge.claims["fact-torch-maintained"]
    checked = date.fromisoformat(claim.checked)
    shelf = _shelf(knowledge, claim.id)
    policy = policy_of(knowledge)
    fresh = claim_standing(claim, policy, checked)
    last_day = claim_standing(claim, policy, checked + timedelta(days=shelf))
    stale = claim_standing(claim, policy, checked + timedelta(days=shelf + 1))
    assert not fresh.stale and not last_day.stale and stale.stale
    assert fresh.sd < last_day.sd < stale.sd
    due = {d.claim.id: d for d in claims_due(knowledge, checked + timedelta(days=shelf + 1))}
    assert claim.id in due and due[claim.id].due == checked + timedelta(days=shelf)
    assert claim.id not in {d.claim.id for d in claims_due(knowledge, checked)}
    # the window lists what turns stale soon
    soon = claims_due(knowledge, checked + timedelta(days=shelf - 5), within_days=10)
    assert claim.id in {d.claim.id for d in soon}


def test_versions_age_faster_than_architecture(knowledge: Knowledge) -> None:
    assert _shelf(knowledge, "fact-torch-maintained") < _shelf(knowledge, "s000-2.1-01")
    newest = max(date.fromisoformat(c.checked) for c in knowledge.claims.values())
    in_a_year = {d.claim.id for d in claims_due(knowledge, newest + timedelta(days=365))}
    versioned = {c.id for c in knowledge.claims.values() if c.versions}
    assert versioned <= in_a_year
    assert "s000-2.1-01" not in in_a_year  # a concept lasts two years


def test_aging_the_clock_widens_the_scores_uncertainty_and_names_the_stale_claims(
    knowledge: Knowledge,
) -> None:
    rec = recommend(
        Requirements.model_validate(
            {"project": {"tasks": ["computer_vision"]}, "team": {"existing_codebase": "mxnet"}}
        )
    )
    newest = max(date.fromisoformat(c.checked) for c in knowledge.claims.values())
    now = score_uncertainty(rec, knowledge=knowledge, as_of=newest)
    later = score_uncertainty(rec, knowledge=knowledge, as_of=newest + timedelta(days=800))
    assert not [s for sp in now.spreads for s in sp.claims if s.stale]
    pairs = list(zip(now.spreads, later.spreads, strict=True))
    widened = [b for a, b in pairs if b.sd > a.sd + 1e-9]
    assert all(b.sd >= a.sd - 1e-9 for a, b in pairs)
    assert len(widened) > len(pairs) // 2
    assert any("stale" in b.text for b in widened)


# -- the command line ------------------------------------------------------------------------------
def test_claims_stale_lists_what_to_recheck_as_of_a_date(knowledge: Knowledge) -> None:
    newest = max(date.fromisoformat(c.checked) for c in knowledge.claims.values())
    oldest = min(date.fromisoformat(c.checked) for c in knowledge.claims.values())
    before = run("claims", "--stale", "--as-of", oldest.isoformat())
    assert before.returncode == 0, before.stderr
    assert before.stdout.startswith(f"0 of {len(knowledge.claims)} claims are past")
    later = newest + timedelta(days=_shelf(knowledge, "fact-torch-maintained") + 1)
    after = run("claims", "--stale", "--as-of", later.isoformat(), "--format", "json")
    assert after.returncode == 0, after.stderr
    listed = json.loads(after.stdout)
    ids = {row["id"] for row in listed["claims"]}
    assert {c.id for c in knowledge.claims.values() if c.versions} <= ids
    row = next(r for r in listed["claims"] if r["id"] == "fact-torch-maintained")
    assert row["stale"] and row["references"] and row["references"][0].startswith("https://")
    text = run("claims", "--stale", "--as-of", later.isoformat())
    assert "fact-torch-maintained: checked" in text.stdout and "re-read: https://" in text.stdout


def test_explain_marks_stale_claims_as_of_a_later_date() -> None:
    args = ("explain", "pytorch", "--task", "nlp", "--no-calibrate")
    today = run(*args)
    later = run(*args, "--as-of", "2029-01-01")
    assert today.returncode == 0 and later.returncode == 0, later.stderr
    assert "[STALE: checked" not in today.stdout and "(checked 20" in today.stdout
    assert "[STALE: checked" in later.stdout and "stale" in later.stdout


@pytest.mark.parametrize("flag", ["--as-of", "--within"])
def test_bad_dates_and_windows_are_refused_in_one_line(flag: str) -> None:
    done = run("claims", "--stale", flag, "soon")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert flag in done.stderr.splitlines()[-1]


# -- versions against the index and the environments ----------------------------------------------
def test_version_ordering() -> None:
    ordered = [
        "0.9",
        "0.10.2",
        "0.12.0",
        "0.12.0.1",
        "2.21.0",
        "2.22.0rc0",
        "2.22.0",
        "2.22.0.post1",
    ]
    keys = [version_key(v) for v in ordered]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert version_key("2.13.0+cpu") == version_key("2.13.0") == version_key("2.13")


def test_compare_releases_names_newer_releases_and_installed_differences(
    knowledge: Knowledge,
) -> None:
    known = latest_releases(knowledge)
    assert known["torch"].version and "fact-torch-maintained" in known["torch"].claims
    index = {p: r.version for p, r in known.items()} | {"torch": "99.0.0"}
    index.pop("keras")
    checks = {
        c.package: c
        for c in compare_releases(
            known, index, {"env": {"tensorflow": known["tensorflow"].version}}
        )
    }
    assert any(
        "99.0.0, newer" in d and "fact-torch-maintained" in d for d in checks["torch"].differences
    )
    assert checks["keras"].differences == ["the index did not answer for this package"]
    assert checks["tensorflow"].differences == []
    older = compare_releases(known, None, {"env": {"torch": "1.0.0"}})
    assert next(c for c in older if c.package == "torch").differences == [
        f"env has 1.0.0, older than the knowledge's {known['torch'].version}"
    ]


class _Index(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        package = self.path.strip("/").removesuffix("/json").rsplit("/", 1)[-1]
        body = self.answers.get(package)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def index(knowledge: Knowledge) -> Iterator[str]:
    known = latest_releases(knowledge)
    answers = {
        p: json.dumps({"info": {"version": r.version}, "releases": {}}).encode()
        for p, r in known.items()
    }
    answers["torch"] = json.dumps({"info": {"version": "99.1.0"}}).encode()
    answers["keras"] = b"<html>this is not JSON</html>"
    _Index.answers = answers
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/pypi"
    finally:
        server.shutdown()
        server.server_close()


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def test_check_versions_lists_what_the_index_has_newer(index: str) -> None:
    done = run("claims", "--check-versions", env=_env(ADVISOR_PACKAGE_INDEX=index))
    assert done.returncode == 1, done.stderr
    assert "torch: knowledge" in done.stdout and "the index has 99.1.0" in done.stdout
    assert "keras:" in done.stdout and "the index did not answer" in done.stdout
    assert "Traceback" not in done.stderr
    as_json = run(
        "claims", "--check-versions", "--format", "json", env=_env(ADVISOR_PACKAGE_INDEX=index)
    )
    body = json.loads(as_json.stdout)
    torch = next(p for p in body["packages"] if p["package"] == "torch")
    assert torch["on_index"] == "99.1.0" and torch["differences"]


def test_check_versions_offline_says_so_in_one_line_and_still_compares_installed() -> None:
    done = run(
        "claims", "--check-versions", env=_env(ADVISOR_PACKAGE_INDEX="http://127.0.0.1:9/pypi")
    )
    assert done.returncode == 3
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("advisor: cannot reach the package index (http://127.0.0.1:9/pypi")
    assert "environment(s)" in done.stdout and "Traceback" not in done.stderr
