"""Probe results as the engine sees them: records of one figure each, plus when 'now' is.

The probe runner writes these (and the store keeps them); `recommend()` only reads them. The record model
lives on the lowest floor, beside the store and the runner, because both sides share it: the
probes write records and the advisor's pure calibration reads them (handed data and a clock
reading, never opening the store itself).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

RECORD_VERSION = 1


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

    iqr: float | None = Field(None, ge=0, description="interquartile range, in the figure's unit")
    cv: float | None = Field(None, ge=0, description="coefficient of variation (std / mean)")
    repeats: int | None = Field(None, ge=0)


class ProbeRecord(BaseModel):
    """One measured figure: a framework, a probe, its parameters, and the machine it ran on."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    record_version: int = RECORD_VERSION
    framework: str
    probe: str
    status: ProbeStatus
    value: float | None = None
    unit: str = ""
    higher_is_better: bool = True
    params: dict[str, Any] = Field(default_factory=dict)
    spread: Spread = Field(default_factory=Spread)
    details: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    machine: dict[str, Any] = Field(default_factory=dict)
    machine_id: str = ""
    measured_at: datetime
    run_id: str = ""


class Measurements(BaseModel):
    """The probe records to calibrate with, and the moment the advice is given (for data age)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    records: list[ProbeRecord] = Field(default_factory=list)
    as_of: datetime
    machine: dict[str, Any] = Field(
        default_factory=dict, description="fingerprint of the machine asking for advice"
    )
