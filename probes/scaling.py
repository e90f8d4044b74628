"""Multi-thread scaling as its own figure: the same transformer step at 1 and N threads.

The quick suite runs single-threaded (two multi-threaded kernels on a small shared machine
collapse, one-thread figures held 1-10 % CV); the full suite runs at N threads and repeats the
transformer probe at 1 thread, and this turns each pair into a speed-up record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from probes.records import ProbeRecord, ProbeStatus, Spread

PROBE = "thread_scaling"
SOURCE_PROBE = "transformer"


def scaling_records(records: Sequence[ProbeRecord]) -> list[ProbeRecord]:
    """A `thread_scaling` record (value = 1-thread time / N-thread time) for every transformer
    figure measured at both 1 and N > 1 threads in `records`."""
    groups: dict[tuple[str, str], dict[int, ProbeRecord]] = {}
    for record in records:
        if (
            record.probe != SOURCE_PROBE
            or record.status is not ProbeStatus.OK
            or not record.value
            or record.params.get("figure") == "first_call"
        ):
            continue
        rest = {k: v for k, v in record.params.items() if k != "threads"}
        key = (record.framework, json.dumps(rest, sort_keys=True, default=str))
        threads = record.params.get("threads")
        if isinstance(threads, int):
            groups.setdefault(key, {})[threads] = record
    made = []
    for by_threads in groups.values():
        one = by_threads.get(1)
        for threads, many in sorted(by_threads.items()):
            if one is None or threads <= 1 or not (one.value and many.value):
                continue
            speedup = one.value / many.value
            made.append(
                many.model_copy(
                    update={
                        "probe": PROBE,
                        "value": round(speedup, 4),
                        "unit": "x",
                        "higher_is_better": True,
                        "spread": Spread(),
                        "details": {
                            "efficiency": round(speedup / threads, 4),
                            "ms_at_1_thread": one.value,
                            f"ms_at_{threads}_threads": many.value,
                            "of": "transformer " + str(many.params.get("pass")),
                        },
                    }
                )
            )
    return made
