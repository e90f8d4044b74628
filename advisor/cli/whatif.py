"""`advisor whatif`: the ranking before and after edits to the answers, side by side.

With no `--set`, it searches for the smallest changes that would make each runner-up win.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from advisor.cli.flags import (
    CliError,
    add_answer_flags,
    add_calibration_flags,
    add_output_flags,
    load_stored_measurements,
    requirements_from_args,
)

FORMATS = ("text", "markdown", "json")


def add_whatif_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "whatif",
        help="compare the ranking before and after changing answers (--set PATH=VALUE)",
        description="Re-rank with edited answers and show before and after side by side; "
        "without --set, search the smallest changes that would make each runner-up win.",
    )
    add_answer_flags(parser)
    parser.add_argument(
        "--set", dest="changes", action="append", default=[], metavar="PATH=VALUE",
        help="an edited answer, e.g. priorities.deployment=5 or deployment.targets=mobile,browser "
        "(repeat for several)",
    )  # fmt: skip
    add_output_flags(parser, FORMATS)
    add_calibration_flags(parser)
    parser.set_defaults(handler=run_whatif)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def run_whatif(args: argparse.Namespace) -> int:
    from advisor.core.decision.whatif import WhatIfError, answer_at, apply_changes, smallest_flips
    from advisor.core.engine import recommend

    requirements = requirements_from_args(args)
    measurements = load_stored_measurements(args)
    if not args.changes:
        report = smallest_flips(requirements, measurements=measurements, as_of=date.today())
        if args.format == "json":
            sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        else:
            lines = report.markdown_lines() if args.format == "markdown" else report.text_lines()
            sys.stdout.write("\n".join(lines) + "\n")
        return 0
    try:
        edited = apply_changes(requirements, args.changes)
    except WhatIfError as error:
        raise CliError(str(error)) from None
    before = recommend(requirements, measurements)
    after = recommend(edited, measurements)
    old, new = requirements.model_dump(mode="json"), edited.model_dump(mode="json")
    changes = [
        {"path": path, "before": answer_at(old, path), "after": answer_at(new, path)}
        for path in dict.fromkeys(c.partition("=")[0].strip() for c in args.changes)
    ]
    if args.format == "json":
        payload = {
            "changes": changes,
            "winner_changed": before.top_pick != after.top_pick,
            "before": before.model_dump(mode="json"),
            "after": after.model_dump(mode="json"),
        }
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        return 0
    sys.stdout.write("\n".join(_side_by_side(before, after, changes, args.format)) + "\n")
    return 0


def _rows(rec: Any) -> list[tuple[str, str]]:
    rows = [(r.name, f"{r.score:.1f}") for r in rec.ranking]
    rows += [(e.name, "excluded") for e in rec.excluded]
    return rows


def _side_by_side(before: Any, after: Any, changes: list[dict[str, Any]], fmt: str) -> list[str]:
    left, right = _rows(before), _rows(after)
    height = max(len(left), len(right))
    left += [("", "")] * (height - len(left))
    right += [("", "")] * (height - len(right))
    edits = "; ".join(f"{c['path']}: {_show(c['before'])} -> {_show(c['after'])}" for c in changes)
    names = {r.framework: r.name for r in [*before.ranking, *after.ranking]}
    old_top = names.get(before.top_pick, "none") if before.top_pick else "none"
    new_top = names.get(after.top_pick, "none") if after.top_pick else "none"
    verdict = (
        f"Top pick: {old_top} -> {new_top} (changed)"
        if before.top_pick != after.top_pick
        else f"Top pick unchanged: {new_top}"
    )
    if fmt == "markdown":
        lines = [f"**Changes:** {edits}", "", "| # | Before | Score | After | Score |",
                 "|---|---|---|---|---|"]  # fmt: skip
        for i, ((a, sa), (b, sb)) in enumerate(zip(left, right, strict=True), start=1):
            lines.append(f"| {i} | {a} | {sa} | {b} | {sb} |")
        return [*lines, "", f"**{verdict}**"]
    lines = [
        f"Changes: {edits}",
        "",
        f" #  {'Before':<16}{'Score':>9}    {'After':<16}{'Score':>9}",
    ]
    for i, ((a, sa), (b, sb)) in enumerate(zip(left, right, strict=True), start=1):
        lines.append(f" {i}  {a:<16}{sa:>9}    {b:<16}{sb:>9}")
    return [*lines, "", verdict]
