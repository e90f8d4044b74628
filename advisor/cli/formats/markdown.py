"""Markdown output: a report a team can paste into a design document, sources linked."""

from __future__ import annotations

from advisor.cli.formats.report import Report, describe_requirements
from advisor.core.criteria import LABELS
from advisor.core.recommendation import ClaimEvidence, RankedFramework


def _link(claim: ClaimEvidence) -> str:
    parts = [f"[{r.label}]({r.url})" if r.url else r.label for r in claim.references]
    if claim.source is not None:
        parts.insert(0, claim.source.label)
    return "; ".join(parts)


def _framework_section(entry: RankedFramework) -> list[str]:
    out = [f"### {entry.rank}. {entry.name} {entry.version} — {entry.score:.1f}/100", ""]
    out.append("| Criterion | Score (0-5) | Weight | Points |")
    out.append("|---|---:|---:|---:|")
    for c in entry.criteria:
        out.append(
            f"| {LABELS[c.criterion]} | {c.score:.2f} | {c.weight:.2f} | {c.contribution:.1f} |"
        )
    out.append("")
    if entry.reasons:
        out.append("**Strongest reasons**")
        out.append("")
        for reason in entry.reasons:
            sources = "; ".join(_link(c) for c in reason.claims[:2])
            out.append(f"- {reason.summary} (+{reason.points:.1f} pts) — {sources}")
        out.append("")
    if entry.caveats:
        out.append("**Caveats**")
        out.append("")
        out.extend(f"- ⚠️ {c.message}" for c in entry.caveats)
        out.append("")
    if entry.evidence:
        out.append("<details><summary>Rules that fired</summary>")
        out.append("")
        for ev in entry.evidence:
            out.append(
                f"- `{ev.rule}` ({', '.join(ev.effects)}; {ev.impact:+.1f} pts): {ev.rationale}"
            )
            for claim in ev.claims:
                out.append(f"  - {claim.text} — {_link(claim)}")
        out.append("")
        out.append("</details>")
        out.append("")
    return out


def render(report: Report) -> str:
    rec = report.recommendation
    out = ["# Deep-learning framework recommendation", ""]
    out.append(f"**Project:** {describe_requirements(rec.requirements)}")
    out.append("")
    if rec.ranking:
        top = rec.ranking[0]
        margin = (
            f", {rec.margin:.1f} points ahead of {rec.ranking[1].name}"
            if rec.margin is not None
            else ""
        )
        out.append(f"**Top pick: {top.name_with_version}** ({top.score:.1f}/100{margin})")
    else:
        out.append("**No framework is eligible**: every one was excluded.")
    out.append("")
    out.append("| Rank | Framework | Score | Lifecycle |")
    out.append("|---:|---|---:|---|")
    for entry in rec.ranking:
        out.append(
            f"| {entry.rank} | {entry.name} {entry.version} | {entry.score:.1f} | {entry.lifecycle} |"
        )
    for excluded in rec.excluded:
        out.append(f"| – | {excluded.name} | excluded | {'; '.join(excluded.reasons)} |")
    out.append("")
    out.append("## Frameworks")
    out.append("")
    for entry in rec.ranking:
        out.extend(_framework_section(entry))
    out.append("## Calibration")
    out.append("")
    cal = rec.calibration
    out.append(f"{'Used' if cal.used else 'Not used'}: {cal.reason}")
    out.append("")
    for fc in cal.frameworks:
        changes = ", ".join(
            f"{c.value} {fc.prior[c]:.2f} → {fc.calibrated[c]:.2f}" for c in fc.calibrated
        )
        out.append(
            f"- {fc.framework}: {changes} (confidence {fc.confidence:.2f}, data from {fc.measured_at})"
        )
    out.extend(f"- ⚠️ {c}" for c in cal.caveats)
    out.append("")
    for name, extra in report.extras.items():
        lines = getattr(extra, "markdown_lines", None) or getattr(extra, "text_lines", None)
        out.append(f"## {name.replace('_', ' ').capitalize()}")
        out.append("")
        if callable(lines):
            out.extend(lines())
        elif isinstance(extra, list):
            for item in extra:
                item_lines = getattr(item, "markdown_lines", None) or getattr(
                    item, "text_lines", None
                )
                out.extend(item_lines() if callable(item_lines) else [f"- {item}"])
        out.append("")
    if rec.overrides:
        out.append("## Seed-article claims this advice overrides")
        out.append("")
        for claim in rec.overrides:
            out.append(
                f"- **{claim.verdict.value}** — {claim.text} ({claim.source.label if claim.source else claim.id})"
            )
            if claim.correction:
                out.append(f"  - Today: {claim.correction} — {_link(claim)}")
        out.append("")
    out.append(f"<sub>knowledge base {rec.knowledge_version}</sub>")
    return "\n".join(out) + "\n"
