"""Output formats for a recommendation: one module per format, one `render` entry point.

Adding a format is adding a module with a `render(report) -> str` function and naming it here.
"""

from __future__ import annotations

from collections.abc import Callable

from advisor.cli.formats import json_format, markdown, text
from advisor.cli.formats.report import Report

FORMATS: dict[str, Callable[[Report], str]] = {
    "text": text.render,
    "json": json_format.render,
    "markdown": markdown.render,
}


def render(report: Report, fmt: str) -> str:
    return FORMATS[fmt](report)


__all__ = ["FORMATS", "Report", "render"]
