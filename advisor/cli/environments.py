"""`advisor environments`: the interpreters the registry's frameworks need, for set-up to create.

One line per environment a framework declares in `knowledge/frameworks/<id>.toml`
(`[framework.probe] environment`), fields separated by "|" so that an empty one stays a field:
framework, venv folder, Pythons to try (newest first, comma-separated; empty: the set-up's own),
requirements file, fallback requirements file (for the set-up's own Python when none of those
Pythons exists). `setup.sh` reads it, so a new
framework's environment needs no edit there.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_environments_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "environments",
        help="list the framework environments set-up creates (from the registry)",
        description="Print one |-separated line per framework environment: framework, venv, "
        "Pythons to try, requirements, fallback requirements.",
    )
    parser.set_defaults(handler=run_environments)


def run_environments(_args: argparse.Namespace) -> int:
    from advisor.core.in_force import knowledge_in_force

    for framework, profile in knowledge_in_force().frameworks.items():
        env = profile.probe.environment if profile.probe else None
        if env is None or env.venv is None:
            continue
        row = [
            framework,
            env.venv,
            ",".join(env.pythons),
            env.requirements or "",
            env.fallback_requirements or "",
        ]
        sys.stdout.write("|".join(row) + "\n")
    return 0
