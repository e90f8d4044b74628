"""`advisor claims`: the knowledge base's claims with verdicts and sources, filtered."""

from __future__ import annotations

import json

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
