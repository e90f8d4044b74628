"""Terminal output: the top pick, a score table, the three strongest reasons, caveats."""

from __future__ import annotations

from advisor.cli.formats.report import SHORT, Report, cite, describe_requirements
from advisor.cli.terminal import safe
from advisor.core.recommendation import Recommendation


def _table(rec: Recommendation) -> list[str]:
    criteria = [c.criterion for c in rec.ranking[0].criteria] if rec.ranking else []
    names = [e.name for e in rec.ranking] + [
        f"  or {o.name}" for e in rec.ranking for o in e.options
    ]
    width = max([13, *(len(name) + 1 for name in names)])
    head = f" #  {'Framework':<{width}}{'Score':>6}  " + " ".join(
        f"{SHORT[c]:>4}" for c in criteria
    )
    weights = (
        f"    {'weight':<{width}}{'':>6}  "
        + " ".join(f"{c.weight:>4.1f}" for c in rec.ranking[0].criteria)
        if rec.ranking
        else ""
    )
    lines = [head, weights]
    for entry in rec.ranking:
        scores = " ".join(f"{c.score:>4.1f}" for c in entry.criteria)
        lines.append(f" {entry.rank}  {entry.name:<{width}}{entry.score:>6.1f}  {scores}")
        for option in entry.options[1:]:
            others = " ".join(f"{c.score:>4.1f}" for c in option.criteria)
            lines.append(f"    {'  or ' + option.name:<{width}}{option.score:>6.1f}  {others}")
    return lines


def render(report: Report) -> str:
    rec = report.recommendation
    out: list[str] = [f"Project: {describe_requirements(rec.requirements)}"]
    if not rec.ranking:
        out.append("No framework is eligible: every one was excluded (see below).")
    else:
        top = rec.ranking[0]
        lead = ""
        if rec.margin is not None and len(rec.ranking) > 1:
            lead = f", {rec.margin:.1f} points ahead of {rec.ranking[1].name}"
        out.append(f"Top pick: {top.name_with_version} ({top.score:.1f}/100{lead})")
        out.append("")
        out.extend(_table(rec))
        out.append(
            "    scores 0-5 per criterion; weight = your priority x relevance (task fit fixed)"
        )
        if top.reasons:
            out.append("")
            out.append(f"Why {top.name}:")
            for number, reason in enumerate(top.reasons, start=1):
                out.append(f" {number}. {reason.summary} [+{reason.points:.1f} pts]")
                for claim in reason.claims[:2]:
                    out.append(f"    source: {cite(claim)}")
    caveats = [(e.name, c.message) for e in rec.ranking for c in e.caveats]
    if caveats:
        out.append("")
        out.append("Caveats:")
        out.extend(f" ! {name}: {message}" for name, message in caveats)
    if rec.excluded:
        out.append("")
        out.append("Excluded:")
        out.extend(f" x {e.name}: {'; '.join(e.reasons)}" for e in rec.excluded)
    out.append("")
    cal = rec.calibration
    out.append(f"Calibration: {'used' if cal.used else 'not used'} - {cal.reason}")
    for fc in cal.frameworks:
        changes = ", ".join(
            f"{c.value} {fc.prior[c]:.1f}->{fc.calibrated[c]:.1f}" for c in fc.calibrated
        )
        out.append(f"    {fc.framework}: {changes} (confidence {fc.confidence:.2f})")
    for caveat in cal.caveats:
        if not any(caveat == c.message for e in rec.ranking for c in e.caveats):
            out.append(f" ! {caveat}")
    if rec.overrides:
        out.append(
            f"Overrides {len(rec.overrides)} seed-article claim(s) as outdated or wrong "
            "(--format markdown lists them; `advisor claims --verdict outdated`)."
        )
    for name, extra in report.extras.items():
        lines = getattr(extra, "text_lines", None)
        if callable(lines):
            out.append("")
            out.extend(lines())
        elif isinstance(extra, list):
            out.append("")
            out.append(f"{name.replace('_', ' ').capitalize()}:")
            for item in extra:
                item_lines = getattr(item, "text_lines", None)
                out.extend(item_lines() if callable(item_lines) else [f" - {item}"])
    # text from files (knowledge, probe records) may hold escape sequences: show, never send them
    return safe("\n".join(out) + "\n")
