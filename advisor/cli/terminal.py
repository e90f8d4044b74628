"""Text from files on its way to a terminal: control characters made visible.

Answers files, imported probe records, knowledge folders and worker output are not the advisor's
own text; an escape sequence in one of them (`\\x1b[2J`, a title change, a carriage return that
overwrites a line) must not act on the user's terminal. `safe` replaces every C0 control but
newline and tab, DEL, and every C1 control with a visible `\\u00XX`, which also keeps JSON valid
(the same notation is a JSON string escape). Standard library only.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def safe(text: str) -> str:
    """`text` with control characters (all but newline and tab) shown as \\u00XX."""
    return _CONTROL.sub(_visible, text) if _CONTROL.search(text) else text


class SafeStream:
    """A text stream wrapper that passes everything written through `safe` (the CLI's stdout and
    stderr); everything else is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    @property
    def unfiltered(self) -> TextIO:
        """The stream itself, for writers that emit their own escape sequences (rich)."""
        return self._stream

    def write(self, text: str) -> int:
        return self._stream.write(safe(text))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
