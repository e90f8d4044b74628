"""Shared bits of the fake workers: argument parsing and protocol messages on stdout.

The fake workers are real processes run by the real runner (`python -m <name>` with this folder
as the working directory), so faults are genuine exits, hangs and stray output.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

PROBES = ("matmul", "conv", "mlp_train")
SPEED = {"pytorch": 100.0, "tensorflow": 80.0, "mxnet": 50.0}


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--framework", required=True)
    parser.add_argument("--suite", default="quick")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--probe", action="append", default=[])
    return parser.parse_args()


def send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps({"protocol": 1, **message}) + "\n")
    sys.stdout.flush()


def hello(args: argparse.Namespace, probes: tuple[str, ...] | None = PROBES) -> None:
    message: dict[str, Any] = {
        "type": "hello",
        "framework": args.framework,
        "versions": {args.framework: "9.9.9", "python": "3.11"},
        "threads": args.threads,
        "device": args.device,
        "import_seconds": 0.01,
        "fingerprint": {"cpu_model": "Fake CPU", "logical_cpus": 2},
    }
    if probes is not None:
        message["probes"] = list(probes)
    send(message)


def start(probe: str, params: dict[str, Any] | None = None) -> None:
    send({"type": "start", "probe": probe, "params": params or {"n": 64}})


DEFAULT = object()


def result(args: argparse.Namespace, probe: str, value: Any = DEFAULT, **extra: Any) -> None:
    send(
        {
            "type": "result",
            "framework": args.framework,
            "probe": probe,
            "status": "ok",
            "value": SPEED.get(args.framework, 1.0) if value is DEFAULT else value,
            "unit": "GFLOP/s",
            "higher_is_better": True,
            "params": {"n": 64},
            "spread": {"iqr": 0.5, "cv": 0.02, "repeats": 5, "median": 1.0},
            "details": {},
            "error": None,
            **extra,
        }
    )


def probe(args: argparse.Namespace, name: str) -> None:
    start(name)
    result(args, name)


def selected(args: argparse.Namespace) -> list[str]:
    return list(args.probe) or list(PROBES)


def done() -> None:
    send({"type": "done"})
