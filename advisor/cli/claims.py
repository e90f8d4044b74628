"""`advisor claims`: the knowledge base's claims with verdicts and sources, filtered."""

from __future__ import annotations

import json
from datetime import date

from advisor.core.engine import claim_evidence
from advisor.files.knowledge_files import default_knowledge


def list_claims(
    verdict: str | None, framework: str | None, kind: str | None, seed: str | None, fmt: str
) -> str:
    kb = default_knowledge()
    selected = [
        claim
        for claim in kb.claims.values()
        if (verdict is None or claim.verdict.value == verdict)
        and (framework is None or framework in claim.frameworks)
        and (kind is None or claim.kind.value == kind)
        and (seed is None or (claim.source is not None and claim.source.seed == seed))
    ]
    evidence = [claim_evidence(c, kb) for c in selected]
    if fmt == "json":
        return (
            json.dumps([e.model_dump(mode="json") for e in evidence], indent=2, ensure_ascii=False)
            + "\n"
        )
    counts = {
        v: sum(1 for c in selected if c.verdict.value == v) for v in ("holds", "outdated", "wrong")
    }
    summary = (
        f"{len(selected)} claims: {counts['holds']} hold, {counts['outdated']} outdated, "
        f"{counts['wrong']} wrong"
    )
    lines = [f"# Claims\n\n{summary}\n" if fmt == "markdown" else summary, ""]
    for e in evidence:
        where = e.source.label if e.source else "fact"
        frameworks = ",".join(e.frameworks) or "general"
        refs = "; ".join(r.url or r.label for r in e.references)
        if fmt == "markdown":
            lines.append(
                f"- **{e.id}** ({e.kind.value}, {frameworks}, {where}) — "
                f"*{e.verdict.value}*: {e.text}"
            )
            if e.correction:
                lines.append(f"  - Today: {e.correction}")
            if refs:
                lines.append(f"  - Sources: {refs}")
        else:
            lines.append(
                f"[{e.verdict.value.upper():8}] {e.id} ({e.kind.value}; {frameworks}; {where})"
            )
            lines.append(f"    {e.text}")
            if e.correction:
                lines.append(f"    today: {e.correction}")
            if refs:
                lines.append(f"    sources: {refs}")
    return "\n".join(lines) + "\n"


def stale_claims(as_of: date, within_days: int, fmt: str) -> str:
    """The claims past their shelf life on `as_of` (and those turning stale within the window),
    with what to re-read."""
    from advisor.core.currency import claims_due

    kb = default_knowledge()
    due = claims_due(kb, as_of, within_days)
    if fmt == "json":
        rows = [
            {
                **d.standing.model_dump(mode="json"),
                "due": d.due.isoformat(),
                "frameworks": d.claim.frameworks,
                "text": d.claim.text,
                "references": [
                    kb.references[r].url or kb.references[r].title for r in d.claim.references
                ],
            }
            for d in due
        ]
        return (
            json.dumps(
                {"as_of": as_of.isoformat(), "within_days": within_days, "claims": rows},
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    stale = sum(1 for d in due if d.standing.stale)
    window = f", {len(due) - stale} more within {within_days} days" if within_days else ""
    summary = (
        f"{stale} of {len(kb.claims)} claims are past their shelf life on {as_of.isoformat()}"
        f"{window}" + (": re-read their sources and update `checked`." if due else ".")
    )
    markdown = fmt == "markdown"
    lines = [f"# Stale claims\n\n{summary}\n" if markdown else summary, ""]
    for d in due:
        s = d.standing
        state = (
            f"stale since {d.due.isoformat()}" if s.stale else f"turns stale {d.due.isoformat()}"
        )
        head = (
            f"{d.claim.id}: checked {s.checked}, {s.age_days} days ago; shelf life "
            f"{s.shelf_life_days:.0f} days ({d.claim.shelf or 'default'}); {state}"
        )
        refs = "; ".join(kb.references[r].url or kb.references[r].title for r in d.claim.references)
        if markdown:
            lines.append(f"- **{head}**: {d.claim.text}")
            if refs:
                lines.append(f"  - Re-read: {refs}")
        else:
            lines.append(head)
            lines.append(f"    {d.claim.text}")
            if refs:
                lines.append(f"    re-read: {refs}")
    return "\n".join(lines) + "\n"


def check_versions(fmt: str, timeout: float = 5.0) -> tuple[str, str | None, int]:
    """The knowledge's newest releases against the package index and the installed environments:
    (report, a problem to tell on stderr, exit status: 0 current, 1 differences, 3 the index
    could not be reached)."""
    from advisor.cli.versions import (
        IndexUnreachable,
        environments,
        index_url,
        index_versions,
        installed_versions,
    )
    from advisor.core.currency import compare_releases, latest_releases

    kb = default_knowledge()
    known = latest_releases(kb)
    packages = list(known)
    problem: str | None = None
    index: dict[str, str] | None
    try:
        index = index_versions(packages, timeout=timeout)
    except IndexUnreachable as error:
        index = None
        problem = (
            f"cannot reach the package index ({error}); compared with the installed "
            "environments only (set ADVISOR_PACKAGE_INDEX for a mirror)"
        )
    venvs = [
        p.probe.environment.venv
        for p in kb.frameworks.values()
        if p.probe and p.probe.environment and p.probe.environment.venv
    ]
    variants = {
        variant: p.pypi
        for p in kb.frameworks.values()
        for variant in p.pypi_variants
        if p.pypi in known
    }
    asked, unasked = installed_versions(environments(venvs), [*packages, *variants])
    installed = {
        env: {**{variants[n]: v for n, v in found.items() if n in variants}, **found}
        for env, found in asked.items()
    }
    checks = compare_releases(known, index, installed)
    status = 3 if index is None else (1 if any(c.differences for c in checks) else 0)
    if fmt == "json":
        body = {
            "index": index_url() if index is not None else None,
            "index_error": problem,
            "environments_not_asked": unasked,
            "packages": [c._asdict() for c in checks],
        }
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n", problem, status
    differing = [c for c in checks if c.differences]
    where = f"the index ({index_url()}) and " if index is not None else ""
    lines = [
        f"{len(checks)} packages the knowledge names a newest release of, compared with "
        f"{where}{len(installed)} environment(s): {len(differing)} differ",
        "",
    ]
    for c in checks:
        mark = (
            "differs"
            if c.differences
            else ("current" if c.on_index is not None else "index not asked")
        )
        lines.append(
            f"{c.package}: knowledge {c.knowledge}, index {c.on_index or '-'} [{mark}]"
            + (f" ({', '.join(c.claims)})" if c.differences else "")
        )
        lines.extend(f"    {d}" for d in c.differences)
    if unasked:
        lines.append("")
        lines.append("not asked: " + "; ".join(unasked))
    return "\n".join(lines) + "\n", problem, status
