"""JSON output: the Recommendation model as is, plus any analyses asked for, for team tooling."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from advisor.cli.formats.report import Report


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def render(report: Report) -> str:
    data = report.recommendation.model_dump(mode="json")
    for name, extra in report.extras.items():
        data[name] = _plain(extra)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
