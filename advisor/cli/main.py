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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from advisor.core.answers import AnswersError, merge, read_answers, validate_answers
from advisor.core.knowledge import KnowledgeError
from advisor.core.questionnaire import (
    Accelerator,
    Codebase,
    Framework,
    Language,
    ModelSize,
    OperatingSystem,
    Priorities,
    Requirements,
    Scale,
    Stage,
    Target,
    Task,
)

EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing problem: printed as one line, exit code 2."""


def _choices(enum_type: Any) -> str:
    return ", ".join(m.value for m in enum_type)


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def add_answer_flags(parser: argparse.ArgumentParser) -> None:
    """--answers and the flags for common answers: recommend, explain and whatif share them."""
    source = parser.add_argument_group(
        "answers", "a questionnaire file, and/or flags for common answers (flags win)"
    )
    source.add_argument(
        "--answers", "-a", metavar="FILE", help="questionnaire as TOML or JSON; '-' reads stdin"
    )
    flags = [
        ("--task", "project.tasks", Task, True),
        ("--stage", "project.stage", Stage, False),
        ("--model-size", "project.model_size", ModelSize, False),
        ("--deploy", "deployment.targets", Target, True),
        ("--accelerator", "hardware.accelerators", Accelerator, True),
        ("--scale", "hardware.scale", Scale, False),
        ("--os", "hardware.os", OperatingSystem, True),
        ("--language", "team.languages", Language, True),
        ("--codebase", "team.existing_codebase", Codebase, False),
        ("--exclude", "constraints.exclude", Framework, True),
    ]
    for flag, path, enum_type, many in flags:
        source.add_argument(
            flag,
            dest=path,
            action="append" if many else "store",
            type=_csv if many else str,
            metavar="V[,V]" if many else "V",
            help=f"{path} ({_choices(enum_type)})",
        )
    source.add_argument(
        "--pretrained",
        dest="project.pretrained_models",
        action="store_true",
        default=None,
        help="project.pretrained_models = true",
    )
    source.add_argument(
        "--latency-critical",
        dest="deployment.latency_critical",
        action="store_true",
        default=None,
        help="deployment.latency_critical = true",
    )
    source.add_argument(
        "--require-maintained",
        dest="constraints.require_maintained",
        action="store_true",
        default=None,
        help="constraints.require_maintained = true",
    )
    source.add_argument(
        "--priority",
        "-p",
        action="append",
        default=[],
        metavar="NAME=N",
        help=f"priorities.NAME = N (0-5); NAME one of {', '.join(Priorities.model_fields)}",
    )


def requirements_from_args(args: argparse.Namespace) -> Requirements:
    """Combine the answers file (if any) with the flags into validated requirements."""
    data: dict[str, Any] = read_answers(args.answers) if args.answers else {}
    origin = args.answers or "flags"
    overrides: dict[str, Any] = {}
    for key, value in vars(args).items():
        if "." not in key or value is None:
            continue
        overrides[key] = (
            [item for chunk in value for item in chunk] if isinstance(value, list) else value
        )
    for item in args.priority:
        name, sep, number = item.partition("=")
        if not sep or name not in Priorities.model_fields:
            raise CliError(
                f"--priority {item!r}: expected NAME=N with NAME one of "
                + ", ".join(Priorities.model_fields)
            )
        try:
            overrides[f"priorities.{name}"] = int(number)
        except ValueError:
            raise CliError(f"--priority {item!r}: N must be an integer from 0 to 5") from None
    if not args.answers and "project.tasks" not in overrides:
        raise CliError("give --answers FILE (or '-') or at least --task (e.g. --task nlp)")
    if overrides and args.answers:
        origin = f"{args.answers} + flags"
    return validate_answers(merge(data, overrides), origin)


def add_calibration_flags(parser: argparse.ArgumentParser) -> None:
    """--no-calibrate and --store, which `load_stored_measurements` reads."""
    parser.add_argument(
        "--no-calibrate", action="store_true", help="ignore stored probe measurements"
    )
    parser.add_argument(
        "--store", metavar="PATH", help="probe store to calibrate from (default: user cache)"
    )


def load_stored_measurements(args: argparse.Namespace) -> Any:
    """The latest stored probe results for this machine, unless --no-calibrate.

    A store named with --store that cannot be read is a usage error (exit 2). The default store is
    the advisor's own cache: if it is unreadable the advice still comes, uncalibrated, with a
    one-line warning saying why.
    """
    if getattr(args, "no_calibrate", False):
        return None
    from advisor.cli.probe import load_measurements
    from probes.store import StoreError

    store = Path(args.store) if getattr(args, "store", None) else None
    try:
        return load_measurements(store, datetime.now(timezone.utc))
    except StoreError as error:
        if store is not None:
            raise CliError(f"--store {store}: {error}") from None
        print(f"advisor: warning: {error}; the advice below is not calibrated", file=sys.stderr)
        return None


def _report(args: argparse.Namespace) -> Any:
    from advisor.cli.formats import Report
    from advisor.core.engine import recommend

    requirements = requirements_from_args(args)
    measurements = load_stored_measurements(args)
    recommendation = recommend(requirements, measurements)
    extras: dict[str, Any] = {}
    if getattr(args, "robustness", False):
        from advisor.core.decision.robustness import analyse_robustness

        extras["robustness"] = analyse_robustness(recommendation)
    if getattr(args, "next_steps", False):
        from advisor.core.steps import next_steps

        extras["next_steps"] = next_steps(recommendation)
    if getattr(args, "what_if", False):
        from advisor.core.decision.whatif import smallest_flips

        extras["what_if"] = smallest_flips(requirements, measurements=measurements)
    return Report(recommendation, extras)


def cmd_recommend(args: argparse.Namespace) -> int:
    from advisor.cli.formats import render

    sys.stdout.write(render(_report(args), args.format))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from advisor.cli.explain import explain

    report = _report(args)
    sys.stdout.write(explain(report.recommendation, Framework(args.framework), args.format))
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    from advisor.cli.claims import list_claims

    sys.stdout.write(list_claims(args.verdict, args.framework, args.kind, args.seed, args.format))
    return 0


def cmd_schema(_args: argparse.Namespace) -> int:
    sys.stdout.write(
        json.dumps(Requirements.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
    )
    return 0


def add_output_flags(parser: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    """--format/-f with these choices, text by default."""
    parser.add_argument(
        "--format", "-f", choices=formats, default="text", help="output format (default text)"
    )


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
        help="also sample nearby weightings (rank acceptability)",
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
    exp.add_argument("framework", choices=[f.value for f in Framework])
    add_answer_flags(exp)
    add_output_flags(exp, ("text", "markdown"))
    add_calibration_flags(exp)
    exp.set_defaults(handler=cmd_explain)


def _add_claims(sub: Any) -> None:
    cl = sub.add_parser(
        "claims",
        help="list the knowledge base's claims with verdicts and sources",
        description="List claims from the seed articles and current facts, with verdicts.",
    )
    cl.add_argument("--verdict", choices=["holds", "outdated", "wrong"], help="only this verdict")
    cl.add_argument(
        "--framework", choices=[f.value for f in Framework], help="only claims about this framework"
    )
    cl.add_argument(
        "--kind",
        choices=["concept", "pro", "con", "application", "faq", "fact"],
        help="only this kind",
    )
    cl.add_argument("--seed", help="only claims from this seed article (e.g. 000)")
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
    from advisor.cli.probe import add_probe_parser
    from advisor.cli.ui import add_ui_parser
    from advisor.cli.whatif import add_whatif_parser

    add_probe_parser(sub)
    add_whatif_parser(sub)
    add_ui_parser(sub)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = arguments[0] if arguments else None
    parser = build_parser(command)
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
