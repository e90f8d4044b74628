"""How current the knowledge is: which claims are due for a re-check, and which releases it names.

Framework facts age in months. Every claim says when its source was last read (`checked`) and how
long such a fact stays fresh (`shelf`, knowledge/uncertainty.toml); a claim past that is *stale*:
its score's spread widens (`decision.uncertainty`) and `advisor claims --stale` lists it. Claims
that name a release record it (`versions`), so `advisor claims --check-versions` can compare the
newest release the knowledge knows with what the package index offers and what is installed.

Pure: the date, the index's answers and the installed versions come in as arguments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import NamedTuple

from advisor.core.decision.uncertainty import ClaimStanding, claim_standing, policy_of
from advisor.core.knowledge import Claim, Knowledge


class DueClaim(NamedTuple):
    """A claim whose shelf life has run out by the date asked about (or will within the window)."""

    claim: Claim
    standing: ClaimStanding
    due: date
    """the day it turns (turned) stale: checked + shelf life"""


def claims_due(knowledge: Knowledge, as_of: date, within_days: int = 0) -> list[DueClaim]:
    """Claims stale on `as_of`, or turning stale within `within_days` after it; most overdue
    first."""
    policy = policy_of(knowledge)
    horizon = as_of + timedelta(days=max(0, within_days))
    due: list[DueClaim] = []
    for claim in knowledge.claims.values():
        standing = claim_standing(claim, policy, as_of)
        if standing.checked is None:
            continue
        turns = date.fromisoformat(standing.checked) + timedelta(days=int(standing.shelf_life_days))
        if turns < horizon or standing.stale:
            due.append(DueClaim(claim, standing, turns))
    return sorted(due, key=lambda d: (d.due, d.claim.id))


class KnownRelease(NamedTuple):
    """The newest release of a package the knowledge names as the latest, and which claims
    say so."""

    package: str
    version: str
    released: str
    claims: tuple[str, ...]


_VERSION = re.compile(r"^(\d+(?:\.\d+)*)(?:[.-]?(a|b|rc|dev|post)\.?(\d*))?")
_PRE = {"dev": -4, "a": -3, "b": -2, "rc": -1, None: 0, "post": 1}


def version_key(version: str) -> tuple[tuple[int, ...], int, int]:
    """An ordering of release numbers good enough for PyPI's (2.21.0 < 2.22.0rc0 < 2.22.0);
    text that is no version sorts first."""
    found = _VERSION.match(version.strip())
    if found is None:
        return ((), -9, 0)
    numbers = tuple(int(n) for n in found.group(1).split("."))
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers = numbers[:-1]
    return numbers, _PRE.get(found.group(2), 0), int(found.group(3) or 0)


def latest_releases(knowledge: Knowledge) -> dict[str, KnownRelease]:
    """Per package, the newest release a claim calls the latest."""
    found: dict[str, KnownRelease] = {}
    for claim in knowledge.claims.values():
        for release in claim.versions:
            if not release.latest:
                continue
            known = found.get(release.package)
            if known is None or version_key(release.version) > version_key(known.version):
                found[release.package] = KnownRelease(
                    release.package, release.version, release.released, (claim.id,)
                )
            elif known.version == release.version:
                found[release.package] = known._replace(claims=(*known.claims, claim.id))
    return dict(sorted(found.items()))


class VersionCheck(NamedTuple):
    """One package: what the knowledge says is newest, what the index and the environments
    have, and the differences in words (none: the knowledge is current)."""

    package: str
    knowledge: str
    on_index: str | None
    installed: dict[str, str]
    differences: list[str]
    claims: tuple[str, ...]


def compare_releases(
    known: Mapping[str, KnownRelease],
    index: Mapping[str, str] | None,
    installed: Mapping[str, Mapping[str, str]],
) -> list[VersionCheck]:
    """Compare the knowledge's newest releases with the index's (`index`: package -> newest
    version there; None when it was not asked) and with each environment's installed ones
    (environment -> package -> version)."""
    checks: list[VersionCheck] = []
    for package, release in known.items():
        differences: list[str] = []
        newest = index.get(package) if index is not None else None
        if index is not None and newest is None:
            differences.append("the index did not answer for this package")
        elif newest is not None:
            ours, theirs = version_key(release.version), version_key(newest)
            if theirs > ours:
                differences.append(
                    f"the index has {newest}, newer than the knowledge's {release.version}: "
                    f"re-check {', '.join(release.claims)}"
                )
            elif theirs < ours:
                differences.append(
                    f"the knowledge names {release.version}, but the index's newest is {newest}"
                )
        here = {
            env: versions[package] for env, versions in installed.items() if package in versions
        }
        for env, version in here.items():
            if version_key(version) != version_key(release.version):
                relation = (
                    "older than"
                    if version_key(version) < version_key(release.version)
                    else "newer than"
                )
                differences.append(
                    f"{env} has {version}, {relation} the knowledge's {release.version}"
                )
        checks.append(
            VersionCheck(package, release.version, newest, here, differences, release.claims)
        )
    return checks
