"""Probe results as the engine sees them: records of one figure each, plus when 'now' is.

The probe runner writes these (and the store keeps them); `recommend()` only reads them. The record model
lives on the lowest floor, beside the store and the runner, because both sides share it: the
probes write records and the advisor's pure calibration reads them (handed data and a clock
reading, never opening the store itself).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

RECORD_VERSION = 1

# Limits of one record: far above what a probe reports, far below what could hurt. A record from
# a worker or an import file that breaks one is rejected with the field named.
MAX_VALUE = 1e15
"""the largest figure a record may hold (GFLOP/s, items/s, MB, ms...), and 1/MAX_VALUE the
smallest positive one: a ratio of two figures always stays a normal float"""
MIN_VALUE = 1.0 / MAX_VALUE
FUTURE_SKEW = timedelta(hours=1)
"""how far in the future a record's time may lie (clocks of two machines differ a little)"""
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
MAX_TEXT = 10_000
"""characters of an error message"""
MAX_TREE_ITEMS = {"params": 64, "spread": 64, "details": 512, "machine": 512}
MAX_TREE_CHARS = {"params": 4_000, "spread": 4_000, "details": 32_000, "machine": 32_000}
MAX_TREE_DEPTH = 6
CAPABILITY_PREFIX = "capability"


def check_tree(value: Any, what: str) -> None:
    """Limit a free-form JSON-like field: nesting depth, item count and characters (ValueError).

    Iterative, so a deeply nested input is refused rather than overflowing the stack.
    """
    items, chars = 0, 0
    max_items, max_chars = MAX_TREE_ITEMS.get(what, 512), MAX_TREE_CHARS.get(what, 32_000)
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            raise ValueError(f"nested more than {MAX_TREE_DEPTH} levels deep")
        items += 1
        if items > max_items:
            raise ValueError(f"more than {max_items} items")
        if isinstance(node, dict):
            for key, child in node.items():
                chars += len(str(key))
                stack.append((child, depth + 1))
        elif isinstance(node, list | tuple):
            stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, str):
            chars += len(node)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise ValueError("holds a non-finite number")
            chars += 8
        elif isinstance(node, int) and not isinstance(node, bool):
            if abs(node) > 2**63:
                raise ValueError("holds an integer beyond 64 bits")
            chars += 8
        elif node is not None and not isinstance(node, bool):
            chars += len(str(node))
        if chars > max_chars:
            raise ValueError(f"more than {max_chars} characters")


class ProbeStatus(str, Enum):
    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    MISSING = "missing"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return str(self.value)


class Spread(BaseModel):
    """How much repeated timings of one figure varied."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    iqr: float | None = Field(
        None, ge=0, le=MAX_VALUE, allow_inf_nan=False, description="interquartile range"
    )
    cv: float | None = Field(
        None, ge=0, le=1e6, allow_inf_nan=False, description="coefficient of variation (std / mean)"
    )
    repeats: int | None = Field(None, ge=0, le=10**12)
    mad: float | None = Field(
        None,
        ge=0,
        le=MAX_VALUE,
        allow_inf_nan=False,
        description="1.4826 x median absolute deviation (a robust standard deviation)",
    )
    ci95: tuple[float, float] | None = Field(
        None, description="95 % bootstrap interval for the median (percentile method)"
    )

    @model_validator(mode="after")
    def _bounded(self) -> Spread:
        if self.ci95 is not None:
            low, high = self.ci95
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                raise ValueError("ci95 must be two finite numbers, low <= high")
        check_tree(self.__pydantic_extra__ or {}, "spread")
        return self


class ProbeRecord(BaseModel):
    """One measured figure: a framework, a probe, its parameters, and the machine it ran on."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    record_version: int = Field(RECORD_VERSION, ge=1, le=RECORD_VERSION)
    framework: str = Field(max_length=64)
    probe: str = Field(min_length=1, max_length=200)
    status: ProbeStatus
    value: float | None = Field(None, allow_inf_nan=False, ge=-MAX_VALUE, le=MAX_VALUE)
    unit: str = Field("", max_length=64)
    higher_is_better: bool = True
    params: dict[str, Any] = Field(default_factory=dict)
    spread: Spread = Field(default_factory=Spread)
    details: dict[str, Any] = Field(default_factory=dict)
    error: str | None = Field(None, max_length=MAX_TEXT)
    versions: dict[str, str] = Field(default_factory=dict, max_length=64)
    machine: dict[str, Any] = Field(default_factory=dict)
    machine_id: str = Field("", max_length=128)
    measured_at: datetime
    run_id: str = Field("", max_length=128)

    @field_validator("params", "details", "machine")
    @classmethod
    def _bounded_tree(cls, value: dict[str, Any], info: Any) -> dict[str, Any]:
        check_tree(value, info.field_name)
        return value

    @field_validator("versions")
    @classmethod
    def _short_versions(cls, value: dict[str, str]) -> dict[str, str]:
        if any(len(k) > 200 or len(v) > 200 for k, v in value.items()):
            raise ValueError("a version name or number longer than 200 characters")
        return value

    @field_validator("measured_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        """In UTC (naive means UTC), not before 2000 and not in the future beyond FUTURE_SKEW:
        the newest record per probe wins, so a future date would hide every later figure."""
        try:
            moment = (
                value.replace(tzinfo=timezone.utc)
                if value.tzinfo is None
                else value.astimezone(timezone.utc)
            )
        except (OverflowError, ValueError):
            raise ValueError("not a time that can be expressed in UTC") from None
        if moment < EARLIEST:
            raise ValueError(f"{moment.isoformat()} is before {EARLIEST.year}")
        now = datetime.now(timezone.utc)
        if moment > now + FUTURE_SKEW:
            raise ValueError(
                f"{moment.isoformat()} is in the future (now {now.isoformat(timespec='seconds')})"
            )
        return moment

    @model_validator(mode="after")
    def _measured_figure(self) -> ProbeRecord:
        """An ok figure is finite and positive (zero, negative, NaN and infinity rejected); a
        capability probe's is 0 or 1."""
        if self.status is ProbeStatus.OK and self.value is not None:
            if self.probe.startswith(CAPABILITY_PREFIX):
                if not 0.0 <= self.value <= 1.0:
                    raise ValueError(
                        f"value: a capability probe reports 0 or 1, got {self.value!r}"
                    )
            elif not MIN_VALUE <= self.value <= MAX_VALUE:
                raise ValueError(
                    f"value: a measured figure must be a finite number from {MIN_VALUE:g} to "
                    f"{MAX_VALUE:g}, got {self.value!r}"
                )
        return self


class Measurements(BaseModel):
    """The probe records to calibrate with, and the moment the advice is given (for data age)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    records: list[ProbeRecord] = Field(default_factory=list)
    as_of: datetime
    machine: dict[str, Any] = Field(
        default_factory=dict, description="fingerprint of the machine asking for advice"
    )
