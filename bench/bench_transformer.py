"""Does the transformer probe time what it says? Probe figures against an independent harness.

For every framework with an interpreter here, in the same run and the same environment (one
thread, the runner's thread variables), this
(a) runs the real worker's `transformer` probe (quick size) `--runs` times and takes each
    timed record's median: the run-to-run CV of those medians says how repeatable a quick run
    is;
(b) times the very same prepared block (the backend's own `transformer`, same weights) with a
    harness that shares no code with `probes.timing`: `torch.utils.benchmark.Timer` for
    PyTorch (its `blocked_autorange` median), `timeit.Timer.repeat` with the framework's
    synchronisation inside the timed statement for the others;
and prints probe / harness per framework, mode and pass (goal: within 10 %).

Run: .venv/bin/python bench/bench_transformer.py [--runs 3] [--framework F ...]
No targets are asserted here; the figures go into the README and the closing note.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.cli.probe import probe_plan  # noqa: E402
from probes.config import Interpreter, find_config, load_config  # noqa: E402
from probes.runner import worker_environment  # noqa: E402

HARNESS = r"""
import json, statistics, sys, timeit
from probes import transformer as tr
from probes.catalogue import suite_sizes
from probes.frameworks import load_backend

framework = sys.argv[1]
backend = load_backend(framework, "cpu", 1)
quick = suite_sizes("quick")
block, x, target = tr.problem(0, quick.transformer[0])
out = []
for mode in backend.transformer_modes["quick"]:
    for kind in quick.transformer_passes:
        job = backend.transformer(block, x, None if kind == "forward" else target, mode)
        for _ in range(5):  # past compilation and first-call allocations, as the probe is
            backend.sync(job.run())
        if framework == "pytorch":
            from torch.utils import benchmark
            measured = benchmark.Timer(stmt="run()", globals={"run": job.run}).blocked_autorange(
                min_run_time=1.0)
            median_s = measured.median
            how = "torch.utils.benchmark blocked_autorange"
        else:
            timer = timeit.Timer(lambda: backend.sync(job.run()))
            median_s = statistics.median(timer.repeat(repeat=20, number=1))
            how = "timeit.repeat(20, number=1), synchronised"
        out.append({"mode": mode, "pass": kind, "ms": median_s * 1e3, "harness": how})
print(json.dumps(out))
"""


def _probe_run(python: str, framework: str, env: dict[str, str]) -> dict[tuple[str, str], float]:
    done = subprocess.run(
        [python, "-m", "probes.worker", "--framework", framework, "--suite", "quick",
         "--threads", "1", "--probe", "transformer"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    found = {}
    for line in done.stdout.splitlines():
        message = json.loads(line)
        params = message.get("params") or {}
        if message.get("type") == "result" and message["status"] == "ok" and "figure" not in params:
            found[(params["mode"], params["pass"])] = float(message["value"])
    if not found:
        raise RuntimeError(f"{framework}: no transformer figure ({done.stderr[-500:]})")
    return found


def _harness(python: str, framework: str, env: dict[str, str]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [python, "-c", HARNESS, framework], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=900, check=True,
    )  # fmt: skip
    result: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="quick probe runs per framework")
    parser.add_argument("--framework", action="append", help="only these (repeatable)")
    args = parser.parse_args()
    chosen = args.framework or ["pytorch", "tensorflow", "jax", "mxnet"]
    interpreters = {
        item.framework: Interpreter(item.interpreter, item.source)
        for item in probe_plan(chosen, {}, load_config(find_config()))
        if item.runs_on is None
    }
    env = worker_environment(1, ROOT, os.environ)
    print(f"{'framework':11} {'mode':9} {'pass':8} {'probe ms':>9} {'harness ms':>10} "
          f"{'ratio':>6} {'run CV':>7}  harness")  # fmt: skip
    for framework in chosen:
        interpreter = interpreters.get(framework)
        if interpreter is None or not interpreter.exists():
            print(f"{framework:11} (no interpreter here)")
            continue
        runs = [_probe_run(interpreter.path, framework, env) for _ in range(args.runs)]
        harness = _harness(interpreter.path, framework, env)
        for entry in harness:
            key = (entry["mode"], entry["pass"])
            medians = [run[key] for run in runs if key in run]
            if not medians:
                continue
            probe = statistics.median(medians)
            cv = statistics.pstdev(medians) / statistics.fmean(medians) if len(medians) > 1 else 0.0
            print(
                f"{framework:11} {key[0]:9} {key[1]:8} {probe:9.2f} {entry['ms']:10.2f} "
                f"{probe / entry['ms']:6.3f} {cv:7.1%}  {entry['harness']}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
