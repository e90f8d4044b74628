"""Flags the answer-taking commands share (recommend, explain, whatif): a questionnaire file
and/or flags for common answers, calibration from the probe store, the output format.

Framework names in choices and help come from the registry in force, never from a list here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from advisor.core.answers import merge, validate_answers
from advisor.core.in_force import knowledge_in_force
from advisor.core.questionnaire import (
    Accelerator,
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
from advisor.files.answer_files import read_answers

EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing problem: printed as one line, exit code 2."""


def _choices(values: Any) -> str:
    return ", ".join(str(getattr(m, "value", m)) for m in values)


def framework_argument(value: str) -> str:
    """A framework named on the command line: an id or alias from the registry."""
    registry = knowledge_in_force().registry
    found = registry.resolve(value)
    if found is None:
        raise argparse.ArgumentTypeError(
            f"unknown framework {value!r} (one of {', '.join(registry.ids)})"
        )
    return found


def iso_date_argument(value: str) -> date:
    """A date on the command line, YYYY-MM-DD."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {value!r} (expected YYYY-MM-DD, e.g. 2027-06-01)"
        ) from None


def days_argument(value: str) -> int:
    """A number of days, 0 to 36500."""
    try:
        days = int(value)
    except ValueError:
        days = -1
    if not 0 <= days <= 36500:
        raise argparse.ArgumentTypeError(f"not a number of days: {value!r} (0 to 36500)")
    return days


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
    registry = knowledge_in_force().registry
    flags: list[tuple[str, str, Any, bool]] = [
        ("--task", "project.tasks", Task, True),
        ("--stage", "project.stage", Stage, False),
        ("--model-size", "project.model_size", ModelSize, False),
        ("--deploy", "deployment.targets", Target, True),
        ("--accelerator", "hardware.accelerators", Accelerator, True),
        ("--scale", "hardware.scale", Scale, False),
        ("--os", "hardware.os", OperatingSystem, True),
        ("--language", "team.languages", Language, True),
        ("--codebase", "team.existing_codebase", registry.codebases, False),
        ("--exclude", "constraints.exclude", registry.ids, True),
        ("--candidates", "constraints.candidates", registry.ids, True),
    ]
    for flag, path, allowed, many in flags:
        source.add_argument(
            flag,
            dest=path,
            action="append" if many else "store",
            type=_csv if many else str,
            metavar="V[,V]" if many else "V",
            help=f"{path} ({_choices(allowed)})",
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
    return validate_answers(merge(data, overrides), origin, knowledge_in_force().registry)


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


def add_output_flags(parser: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    """--format/-f with these choices, text by default."""
    parser.add_argument(
        "--format", "-f", choices=formats, default="text", help="output format (default text)"
    )
