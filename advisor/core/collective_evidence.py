"""What the all-reduce probe measured, as evidence for the distributed-training criterion.

Pure: stored records in, a sentence (and a caveat when the job failed) out. The probe runs two
(or `--procs N`) processes on this one machine through the framework's own collective layer, so
its figures show that the layer works here and what it costs per call; they say nothing about
multi-node scaling, interconnects or NCCL on many GPUs. That is why they change no score: the
sentence stands beside the sourced claims, labelled as single-machine evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

from probes.records import ProbeRecord, ProbeStatus

PROBE = "allreduce"


def _size(nbytes: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:g} {unit}"
    return f"{nbytes} B"


def _time(micros: float) -> str:
    return f"{micros / 1000:.3g} ms" if micros >= 1000 else f"{micros:.3g} µs"


def collective_evidence(
    framework: str, records: Sequence[ProbeRecord]
) -> tuple[str | None, list[str]]:
    """(the measured line for distributed training, caveats) from a framework's newest
    all-reduce records; (None, []) when none is stored."""
    newest: dict[int, ProbeRecord] = {}
    for record in records:
        if record.framework != framework or record.probe != PROBE:
            continue
        nbytes = record.params.get("bytes")
        if isinstance(nbytes, int) and (
            nbytes not in newest or record.measured_at > newest[nbytes].measured_at
        ):
            newest[nbytes] = record
    if not newest:
        return None, []
    ok = [r for _, r in sorted(newest.items()) if r.status is ProbeStatus.OK and r.value]
    bad = [r for r in newest.values() if r.status is not ProbeStatus.OK]
    caveats = [
        f"The all-reduce probe failed here ({_size(int(r.params['bytes']))}, "
        f"{r.params.get('processes', 2)} processes): {r.error or r.status.value}"
        for r in bad[:1]
    ]
    if not ok:
        return None, caveats
    first = ok[0]
    parts = []
    for r in ok:
        ci = r.spread.ci95
        interval = f" [{_time(ci[0])}-{_time(ci[1])}]" if ci else ""
        busbw = r.details.get("busbw_gb_s")
        bandwidth = f", busbw {busbw:g} GB/s" if isinstance(busbw, int | float) else ""
        parts.append(
            f"{_size(int(r.params['bytes']))} {_time(float(r.value or 0))}{interval}{bandwidth}"
        )
    line = (
        f"all-reduce measured here over {first.params.get('processes', 2)} local processes with "
        f"{first.details.get('transport', 'its collective layer')}: {'; '.join(parts)}, sums "
        f"checked exact (measured {first.measured_at.date().isoformat()}). Single-machine "
        "evidence: the collective layer works and costs this per call; multi-node scaling "
        "rests on the cited claims."
    )
    return line, caveats
