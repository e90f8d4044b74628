"""`python -m advisor`: recommend, explain, claims, schema, probe, whatif, ui.

A thin shell: it reads answers (file, stdin or flags), loads stored measurements unless told not
to, calls the pure engine and prints one of the formats. Bad input is one line on stderr and exit
code 2; it never imports a deep-learning framework.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from advisor.cli.flags import (
    EXIT_USAGE,
    CliError,
    add_answer_flags,
    add_calibration_flags,
    add_output_flags,
    days_argument,
    framework_argument,
    iso_date_argument,
    load_stored_measurements,
    requirements_from_args,
)
from advisor.core.answers import AnswersError
from advisor.core.knowledge import KnowledgeError
from advisor.core.questionnaire import Requirements


def _report(args: argparse.Namespace) -> Any:
    from advisor.cli.formats import Report
    from advisor.core.engine import recommend

    requirements = requirements_from_args(args)
    measurements = load_stored_measurements(args)
    recommendation = recommend(requirements, measurements)
    extras: dict[str, Any] = {}
    if getattr(args, "robustness", False):
        from advisor.core.decision.robustness import analyse_robustness

        # claim ages are measured at today's date: the same answers give the same report that day
        extras["robustness"] = analyse_robustness(recommendation, as_of=date.today())
    if getattr(args, "next_steps", False):
        from advisor.core.steps import next_steps

        extras["next_steps"] = next_steps(recommendation)
    if getattr(args, "what_if", False):
        from advisor.core.decision.whatif import smallest_flips

        extras["what_if"] = smallest_flips(
            requirements, measurements=measurements, as_of=date.today()
        )
    return Report(recommendation, extras)


def cmd_recommend(args: argparse.Namespace) -> int:
    from advisor.cli.formats import render

    sys.stdout.write(render(_report(args), args.format))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from advisor.cli.explain import explain

    report = _report(args)
    sys.stdout.write(
        explain(
            report.recommendation, args.framework, args.format, as_of=args.as_of or date.today()
        )
    )
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    from advisor.cli.claims import list_claims

    if args.check_versions:
        from advisor.cli.claims import check_versions

        report, problem, status = check_versions(args.format)
        if problem:
            sys.stderr.write(f"advisor: {problem}\n")
        sys.stdout.write(report)
        return status
    if args.stale or args.as_of is not None or args.within:
        from advisor.cli.claims import stale_claims

        sys.stdout.write(stale_claims(args.as_of or date.today(), args.within, args.format))
        return 0
    sys.stdout.write(list_claims(args.verdict, args.framework, args.kind, args.seed, args.format))
    return 0


def cmd_schema(_args: argparse.Namespace) -> int:
    sys.stdout.write(
        json.dumps(Requirements.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
    )
    return 0


def _add_recommend(sub: Any) -> None:
    rec = sub.add_parser(
        "recommend",
        help="rank the frameworks for a questionnaire",
        description="Rank TensorFlow, PyTorch and MXNet for your answers.",
    )
    add_answer_flags(rec)
    add_output_flags(rec, ("text", "json", "markdown"))
    add_calibration_flags(rec)
    rec.add_argument(
        "--robustness",
        action="store_true",
        help="also run SMAA-2 over uncertain scores and priorities (rank acceptability, "
        "central weights, crossover points)",
    )
    rec.add_argument(
        "--what-if",
        action="store_true",
        help="also search the smallest change that flips the winner",
    )
    rec.add_argument("--next-steps", action="store_true", help="also list next steps for the pick")
    rec.set_defaults(handler=cmd_recommend)


def _add_explain(sub: Any) -> None:
    exp = sub.add_parser(
        "explain",
        help="the full evidence trail for one framework",
        description="Show every prior, rule, claim and source behind a framework's score.",
    )
    exp.add_argument(
        "framework", type=framework_argument, help="a framework id or alias, e.g. pytorch"
    )
    add_answer_flags(exp)
    add_output_flags(exp, ("text", "markdown"))
    add_calibration_flags(exp)
    exp.add_argument(
        "--as-of",
        type=iso_date_argument,
        metavar="YYYY-MM-DD",
        help="age the claims as of this date instead of today (what turns stale by then)",
    )
    exp.set_defaults(handler=cmd_explain)


def _add_claims(sub: Any) -> None:
    cl = sub.add_parser(
        "claims",
        help="list the knowledge base's claims with verdicts and sources",
        description="List claims from the seed articles and current facts, with verdicts.",
    )
    cl.add_argument("--verdict", choices=["holds", "outdated", "wrong"], help="only this verdict")
    cl.add_argument("--framework", type=framework_argument, help="only claims about this framework")
    cl.add_argument(
        "--kind",
        choices=["concept", "pro", "con", "application", "faq", "fact"],
        help="only this kind",
    )
    cl.add_argument("--seed", help="only claims from this seed article (e.g. 000)")
    cl.add_argument(
        "--stale",
        action="store_true",
        help="list the claims past their shelf life (checked longer ago than their kind stays "
        "fresh), with the sources to re-read",
    )
    cl.add_argument(
        "--as-of",
        type=iso_date_argument,
        metavar="YYYY-MM-DD",
        help="with --stale: as of this date instead of today",
    )
    cl.add_argument(
        "--within",
        type=days_argument,
        default=0,
        metavar="DAYS",
        help="with --stale: also the claims turning stale within this many days",
    )
    cl.add_argument(
        "--check-versions",
        action="store_true",
        help="compare the releases the knowledge calls newest with the package index (network: "
        "$ADVISOR_PACKAGE_INDEX, default PyPI) and the installed environments; exit 1 if they "
        "differ, 3 if the index cannot be reached",
    )
    add_output_flags(cl, ("text", "json", "markdown"))
    cl.set_defaults(handler=cmd_claims)


def _add_schema(sub: Any) -> None:
    sch = sub.add_parser(
        "schema",
        help="print the questionnaire's JSON Schema",
        description="Print the JSON Schema of the questionnaire (schema v1).",
    )
    sch.set_defaults(handler=cmd_schema)


CORE_COMMANDS: dict[str, Callable[[Any], None]] = {
    "recommend": _add_recommend,
    "explain": _add_explain,
    "claims": _add_claims,
    "schema": _add_schema,
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for `command`: a core command gets only its own sub-parser (each costs start-up
    time, and the other commands' imports stay off the path of the advice); anything else, a
    typo or `--help` included, gets every command."""
    parser = argparse.ArgumentParser(
        prog="advisor",
        description="Which deep-learning framework fits your project, with cited evidence and "
        "measurements from your own machine.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    if command in CORE_COMMANDS:
        CORE_COMMANDS[command](sub)
        return parser
    for add_command in CORE_COMMANDS.values():
        add_command(sub)
    _add_optional_commands(sub)
    return parser


def _add_optional_commands(sub: Any) -> None:
    """Commands that live in their own modules (probes, what-if, UI launcher)."""
    from advisor.cli.environments import add_environments_parser
    from advisor.cli.probe import add_probe_parser
    from advisor.cli.ui import add_ui_parser
    from advisor.cli.whatif import add_whatif_parser

    add_probe_parser(sub)
    add_environments_parser(sub)
    add_whatif_parser(sub)
    add_ui_parser(sub)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = arguments[0] if arguments else None
    try:
        parser = build_parser(command)
    except KnowledgeError as error:
        print(f"advisor: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(arguments)
    try:
        return int(args.handler(args))
    except (AnswersError, CliError, KnowledgeError) as error:
        print(f"advisor: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
