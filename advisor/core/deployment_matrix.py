"""The deployment matrix: framework (a front-end once per backend) x runtime, what was measured.

Pure: the catalogue and the stored records in, cells out, for `advisor probe --show` and the UI.
A cell holds the best outcome among the paths from that framework to that runtime (ok before not
installed before failed before not measured), the conv net's median latency and artifact size
when one worked, or `unsupported` with the catalogue's reason, or nothing when no path is known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from advisor.core.deployment_evidence import PathOutcome, path_outcome, path_records
from advisor.core.deployment_paths import DeploymentCatalogue
from probes.records import ProbeRecord

RANK = {"ok": 0, "not_installed": 1, "failed": 2, "not_measured": 3}


class Cell(NamedTuple):
    state: str
    """ok, not_installed, failed, not_measured, unsupported, or "" (no path known)"""
    text: str
    paths: tuple[str, ...] = ()
    """the probes (deploy.<path>) behind the cell"""


class MatrixRow(NamedTuple):
    framework: str
    backend: str | None
    label: str
    cells: dict[str, Cell]


def _cell(outcomes: Sequence[PathOutcome]) -> Cell:
    best = min(outcomes, key=lambda o: RANK[o.state])
    probes = tuple(o.path.probe for o in outcomes)
    if best.state == "ok":
        conv = next((r for r in best.records if r.params.get("model") == "conv"), best.records[0])
        size = conv.details.get("artifact_bytes")
        kb = f", {size / 1024:.0f} KB" if isinstance(size, int | float) else ""
        return Cell("ok", f"ok {conv.value or 0:.3g} ms{kb}", probes)
    if best.state == "failed":
        bad = next(r for r in best.records if r.status.value != "ok")
        return Cell("failed", str(bad.details.get("deploy_status") or bad.status.value), probes)
    return Cell(best.state, best.state.replace("_", " "), probes)


def deployment_matrix(
    catalogue: DeploymentCatalogue,
    records: Sequence[ProbeRecord],
    names: Mapping[str, str],
    backends_of: Mapping[str, Sequence[str]],
) -> list[MatrixRow]:
    """One row per framework in registry order (`names`), a front-end once per backend."""
    rows = []
    for framework in names:
        options: list[str | None] = list(backends_of.get(framework) or []) or [None]
        for backend in options:
            label = (
                f"{names[framework]} on {names.get(backend, backend)}"
                if backend
                else names[framework]
            )
            cells: dict[str, Cell] = {}
            for runtime in catalogue.runtime:
                paths = [
                    p for p in catalogue.paths_for(framework, backend) if p.runtime == runtime.id
                ]
                if paths:
                    outcomes = [
                        path_outcome(p, path_records(records, framework, backend, p)) for p in paths
                    ]
                    cells[runtime.id] = _cell(outcomes)
                    continue
                refused = [
                    u
                    for u in catalogue.unsupported_for(framework, backend)
                    if u.runtime == runtime.id
                ]
                cells[runtime.id] = Cell("unsupported", "unsupported") if refused else Cell("", "-")
            if any(c.state for c in cells.values()):
                rows.append(MatrixRow(framework, backend, label, cells))
    return rows
