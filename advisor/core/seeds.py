"""Cut the seed articles into numbered items, so every claim can cite 'seed §section item N'.

The two seed articles are Markdown. A *section* is a numbered heading ("### 3.3 ...") and runs to
the next numbered heading that is not inside it; unnumbered headings ("#### TensorFlow") stay part
of it. An *item* is one statement in a leaf section: a bullet, a numbered point, a prose
paragraph, or an edge of a Mermaid diagram. Code samples, sub-headings, short labels ending in a
colon ("优点：") and the closing rule with the byline are not items. Both the knowledge base (each
seed claim names its item) and the coverage test (no item is left without a claim) use this one
definition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})\s+(?:(\d+(?:\.\d+)*)\.?\s)?")
_MERMAID_EDGE = re.compile(r"-->")
_LABEL_MAX_CHARS = 20


@dataclass(frozen=True)
class SeedItem:
    section: str
    number: int
    text: str


def _strip_markup(line: str) -> str:
    text = line.strip()
    text = re.sub(r"^(?:[-*]\s+|\d+\.\s+)", "", text)
    text = re.sub(r"^A[:：]\s*", "", text)
    return text.replace("**", "").strip()


def _is_label(line: str) -> bool:
    text = _strip_markup(line)
    return text.endswith(("：", ":")) and len(text) <= _LABEL_MAX_CHARS


def _is_question(line: str) -> bool:
    text = line.strip()
    return text.startswith("**Q") and text.endswith("**")


def parse_items(article: str) -> dict[str, list[SeedItem]]:
    """Map each numbered section that holds items directly to its items, in order."""
    items: dict[str, list[SeedItem]] = {}
    section: str | None = None
    in_code = False
    code_is_mermaid = False
    for raw in article.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if stripped.startswith("```"):
            if in_code:
                in_code = False
            else:
                in_code = True
                code_is_mermaid = stripped.startswith("```mermaid")
            continue
        if in_code:
            if code_is_mermaid and section and _MERMAID_EDGE.search(stripped):
                _add(items, section, stripped)
            continue
        heading = _HEADING.match(line)
        if heading:
            if heading.group(2):
                section = heading.group(2)
            continue
        if stripped == "---":
            section = None
            continue
        if not stripped or section is None or _is_label(stripped) or _is_question(stripped):
            continue
        _add(items, section, stripped)
    return items


def _add(items: dict[str, list[SeedItem]], section: str, text: str) -> None:
    bucket = items.setdefault(section, [])
    bucket.append(SeedItem(section=section, number=len(bucket) + 1, text=text))


def items_under(items: dict[str, list[SeedItem]], section: str) -> list[SeedItem]:
    """All items of a section and of its sub-sections ('2' covers '2.1' and '2.2')."""
    return [
        item
        for name, bucket in items.items()
        if name == section or name.startswith(section + ".")
        for item in bucket
    ]
