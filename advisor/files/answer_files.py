"""Read questionnaire answers from a file or standard input (the disk side of `core.answers`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from advisor.core.answers import AnswersError, parse_answers, validate_answers
from advisor.core.questionnaire import Requirements


def read_answers(source: str) -> dict[str, Any]:
    """Read answers from a file path (format by extension) or '-' for standard input."""
    if source == "-":
        text = sys.stdin.read()
        fmt = "json" if text.lstrip().startswith("{") else "toml"
        return parse_answers(text, fmt, "<stdin>")
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnswersError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise AnswersError(f"{source}: is a directory, not an answers file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise AnswersError(f"{source}: cannot read: {error}") from None
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        fmt = "json" if text.lstrip().startswith("{") else "toml"
    else:
        fmt = suffix[1:]
    return parse_answers(text, fmt, source)


def load_answers(source: str) -> Requirements:
    """Read and validate answers from a TOML/JSON file or '-' (stdin)."""
    return validate_answers(read_answers(source), source)
