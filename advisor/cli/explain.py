"""The full evidence trail behind one framework's score, for `advisor explain`.

Each score shows its uncertainty ("3.50 ± 0.60 — from two claims, one unverified"), and the end
says what would change the pick: the crossover points that concern this framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from advisor.core.criteria import LABELS
from advisor.core.decision.crossover import CrossoverReport, crossovers
from advisor.core.decision.matrix import decision_matrix
from advisor.core.decision.uncertainty import (
    ClaimStanding,
    ScoreUncertainty,
    score_uncertainty,
)
from advisor.core.engine import claim_evidence
from advisor.core.recommendation import ClaimEvidence, Recommendation
from advisor.files.knowledge_files import default_knowledge


def _claim_line(
    claim: ClaimEvidence, markdown: bool, standings: Mapping[str, ClaimStanding]
) -> str:
    sources = [
        f"[{r.label}]({r.url})" if markdown and r.url else (r.url or r.label)
        for r in claim.references
    ]
    if claim.source is not None:
        sources.insert(0, claim.source.label)
    verdict = (
        ""
        if claim.verdict.value == "holds"
        else f" [{claim.verdict.value.upper()}: {claim.correction}]"
    )
    standing = standings.get(claim.id)
    if standing is not None and standing.stale:
        dated = (
            f" [STALE: checked {standing.checked}, {standing.age_days} days ago, past its "
            f"{standing.shelf_life_days:.0f}-day shelf life; `advisor claims --stale`]"
        )
    else:
        dated = f" (checked {claim.checked})" if claim.checked else ""
    return f"{claim.text}{verdict} — {'; '.join(sources)}{dated}"


def _changes(
    rec: Recommendation, framework: str, crossing: CrossoverReport, markdown: bool
) -> list[str]:
    """The crossovers that concern `framework`: what would make it lose (the top pick) or win."""
    bullet = "- " if markdown else "  "
    top = rec.top_pick == framework
    priorities = [p for p in crossing.priorities if top or p.winner == framework]
    scores = [s for s in crossing.scores if top or framework in (s.winner, s.framework)]
    if not priorities and not scores:
        return []
    title = "What would change the pick" if top else "What would make it the pick"
    out = [f"## {title}" if markdown else f"{title} (holding your other answers):"]
    out.extend(f"{bullet}{p.sentence()} (crosses at {p.at:.2f})" for p in priorities[:4])
    for s in scores[:4]:
        settle = f"; to settle it: {s.settle()}" if s.evidence else ""
        out.append(f"{bullet}{s.sentence()}, {s.z:.1f} sd away{settle}")
    return [*out, ""]


def explain(
    rec: Recommendation, framework: str, fmt: str = "text", as_of: date | None = None
) -> str:
    """Every prior, adjustment, claim and caveat behind a framework's standing, each score with
    its uncertainty (claim ages as of `as_of`), and the crossovers that concern it."""
    markdown = fmt == "markdown"
    bullet = "- " if markdown else "  "
    sub = "  - " if markdown else "      "
    kb = default_knowledge()
    out: list[str] = []
    excluded = next((e for e in rec.excluded if e.framework == framework), None)
    if excluded is not None:
        out.append(f"{'# ' if markdown else ''}{excluded.name} is excluded")
        out.extend(f"{bullet}{reason}" for reason in excluded.reasons)
        return "\n".join(out) + "\n"
    entry = next(e for e in rec.ranking if e.framework == framework)
    head = (
        f"{entry.name_with_version}: rank {entry.rank}, {entry.score:.1f}/100 ({entry.lifecycle})"
    )
    out.append(f"# {head}" if markdown else head)
    if kb.uncertainty:
        out.append(
            f"{bullet}each score's uncertainty (± one sd) comes from its claims' standing and "
            "age (knowledge/uncertainty.toml); a claim checked longer ago than its kind stays "
            "fresh is marked STALE and widens it"
        )
    if entry.options:
        out.append(
            f"{bullet}scored on each backend it runs on: "
            + ", ".join(f"{o.name} {o.score:.1f}" for o in entry.options)
            + "; priors marked 'from the backend' start from that backend's score for your answers"
        )
    out.append("")
    rules = {ev.rule: ev for ev in entry.evidence}
    profile = kb.frameworks.get(framework)
    spreads: ScoreUncertainty | None = None
    crossing: CrossoverReport | None = None
    if kb.uncertainty:
        spreads = score_uncertainty(rec, knowledge=kb, as_of=as_of)
        if len(rec.ranking) > 1:
            matrix = decision_matrix(rec, kb)
            crossing = crossovers(matrix, spreads, rec.requirements, kb)
    standings = {s.id: s for spread in spreads.spreads for s in spread.claims} if spreads else {}
    for c in entry.criteria:
        title = (
            f"{LABELS[c.criterion]}: {c.score:.2f}/5 x weight {c.weight:.2f} = "
            f"{c.contribution:.1f} points"
        )
        out.append(f"## {title}" if markdown else title)
        spread = spreads.of(framework, c.criterion, entry.backend) if spreads else None
        if spread is not None:
            stale = [s.id for s in spread.claims if s.stale]
            note = f" (stale: {', '.join(stale)})" if stale else ""
            out.append(f"{bullet}uncertainty: {spread.text}{note}")
        base = f"prior {c.prior:.2f}"
        prior = profile.priors.get(c.criterion) if profile else None
        if prior is not None and prior.inherit and entry.backend:
            moved = (
                f", {prior.delta:+.2f} for {kb.frameworks[entry.framework].name}"
                if prior.delta
                else ""
            )
            base += f" (from the backend, {kb.frameworks[entry.backend].name}{moved})"
        if c.calibrated is not None:
            base += f", calibrated by measurements to {c.calibrated:.2f}"
        out.append(f"{bullet}{base}")
        if c.measured is not None:
            out.append(f"{sub}measured: {c.measured}")
        for claim_id in c.prior_claims:
            out.append(
                f"{sub}{_claim_line(claim_evidence(kb.claims[claim_id], kb), markdown, standings)}"
            )
        for adj in c.adjustments:
            ev = rules.get(adj.rule)
            out.append(f"{bullet}{adj.delta:+.2f} by rule {adj.rule}: {ev.rationale if ev else ''}")
            for evidence_claim in ev.claims if ev else []:
                out.append(f"{sub}{_claim_line(evidence_claim, markdown, standings)}")
        out.append("")
    if crossing is not None:
        out.extend(_changes(rec, framework, crossing, markdown))
    if entry.caveats:
        out.append("## Caveats" if markdown else "Caveats:")
        out.extend(f"{bullet}{c.message}" for c in entry.caveats)
        out.append("")
    other = [ev for ev in entry.evidence if not ev.effects or all("warns" in e for e in ev.effects)]
    if other:
        out.append("## Warnings from rules" if markdown else "Rules that only warn:")
        for ev in other:
            out.append(f"{bullet}{ev.rule}: {ev.rationale}")
    return "\n".join(out) + "\n"
