"""Seeded generators of hostile input and the harnesses that run it through the real boundaries.

Shared by the CI fuzz tests (tests/hardening/test_fuzz.py, small counts) and bench/fuzz_counts.py
(the counts the hardening issue asks for). Every case comes from `random.Random(seed)`, so a
failing seed reproduces exactly; each harness returns a Tally of how inputs ended: accepted,
refused with the one-line error the boundary promises, or a traceback (any other exception, or a
CLI whose stderr shows one). The only acceptable number of tracebacks is zero.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

TASKS = ["computer_vision", "nlp", "speech", "recommender", "tabular", "generative", "other"]
TARGETS = ["cloud_server", "on_prem_server", "mobile", "browser", "edge_device", "none"]
ACCELERATORS = ["cpu", "nvidia_gpu", "amd_gpu", "apple_silicon", "tpu", "intel_gpu"]
LANGUAGES = ["python", "cpp", "java", "javascript", "scala", "julia", "r", "go", "other"]
PRIORITIES = [
    "development_speed",
    "runtime_performance",
    "memory_efficiency",
    "distributed_training",
    "deployment",
    "ecosystem",
    "hardware_support",
    "language_support",
    "long_term_support",
    "team_fit",
]
FRAMEWORK_NAMES = ["pytorch", "tensorflow", "mxnet", "jax", "PyTorch", "torch", "keras", "caffe"]
WEIRD_STRINGS = [
    "",
    " ",
    "\x00",
    "\x1b[2J\x1b]0;title\x07",
    "\r\rover",
    "\u202e\u0645\u0631\u062d\u0628\u0627",
    "\ud800",
    "😀" * 3,
    "x" * 300,
    "y" * 5000,
    "none",
    "None",
    "null",
    "true",
    "1e999",
    "-0",
    "NaN",
    "[1, 2]",
    "{}",
    "nlp,speech",
    "priorities.deployment",
    "../../etc/passwd",
]


def weird_scalar(rng: random.Random) -> Any:
    """A value of a random awkward kind."""
    return rng.choice(
        [
            lambda: rng.choice(WEIRD_STRINGS),
            lambda: rng.randint(-(10**6), 10**6),
            lambda: 10 ** rng.randint(10, 400) * rng.choice([1, -1]),
            lambda: rng.choice([0.0, -0.0, 1e-320, 1e308, -1e308, math.nan, math.inf, -math.inf]),
            lambda: rng.random() * 10 ** rng.randint(-30, 30),
            lambda: rng.choice([True, False, None]),
            lambda: dt.datetime(rng.randint(1, 9999), 1, 1, tzinfo=dt.timezone.utc),
            lambda: dt.date(rng.randint(1, 9999), 12, 31),
            lambda: dt.time(23, 59, 59),
            lambda: rng.randint(0, 5),
        ]
    )()


def nested(rng: random.Random, depth: int) -> Any:
    """A structure `depth` levels deep, of lists or tables."""
    value: Any = weird_scalar(rng)
    for _ in range(depth):
        value = [value] if rng.random() < 0.5 else {"k": value}
    return value


def plausible_answers(rng: random.Random) -> dict[str, Any]:
    """A questionnaire a person might write (valid more often than not)."""
    data: dict[str, Any] = {"project": {"tasks": rng.sample(TASKS, rng.randint(1, 3))}}
    if rng.random() < 0.7:
        data["project"]["stage"] = rng.choice(["research", "prototype", "production"])
    if rng.random() < 0.5:
        data["project"]["model_size"] = rng.choice(["small", "medium", "large", "very_large"])
    if rng.random() < 0.6:
        data["deployment"] = {"targets": rng.sample(TARGETS[:-1], rng.randint(1, 2))}
    if rng.random() < 0.6:
        data["hardware"] = {
            "accelerators": rng.sample(ACCELERATORS, rng.randint(1, 2)),
            "scale": rng.choice(["single_device", "multi_gpu", "multi_node"]),
            "os": rng.sample(["linux", "windows", "macos"], rng.randint(1, 2)),
        }
    if rng.random() < 0.5:
        data["team"] = {
            "languages": rng.sample(LANGUAGES, rng.randint(1, 2)),
            "existing_codebase": rng.choice(["none", "tensorflow", "pytorch", "mxnet", "jax"]),
            "experience": {rng.choice(FRAMEWORK_NAMES[:4]): rng.choice(["none", "some", "expert"])},
        }
    if rng.random() < 0.6:
        data["priorities"] = {p: rng.randint(0, 5) for p in rng.sample(PRIORITIES, 4)}
    if rng.random() < 0.3:
        data["constraints"] = {
            "exclude": rng.sample(FRAMEWORK_NAMES[:4], rng.randint(0, 2)),
            "require_maintained": rng.random() < 0.5,
        }
    return data


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _paths(value, (*prefix, i))
    return found


def mutate(rng: random.Random, data: dict[str, Any], rounds: int) -> dict[str, Any]:
    """Replace, insert or delete at random places: awkward values, deep nests, unknown keys."""
    for _ in range(rounds):
        path = rng.choice(_paths(data))
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        roll = rng.random()
        new: Any = (
            nested(rng, rng.choice([2, 10, 50, 400]))
            if roll < 0.15
            else weird_scalar(rng)
            if roll < 0.6
            else [weird_scalar(rng) for _ in range(rng.choice([0, 1, 3, 300]))]
            if roll < 0.75
            else {rng.choice(WEIRD_STRINGS + PRIORITIES): weird_scalar(rng)}
        )
        if not path:
            data[rng.choice([*WEIRD_STRINGS, "project", "priorities", "schema_version"])] = new
        elif isinstance(parent, dict) and rng.random() < 0.2:
            del parent[path[-1]]
        else:
            parent[path[-1]] = new
    return data


def questionnaire(rng: random.Random) -> dict[str, Any]:
    data = plausible_answers(rng)
    return mutate(rng, data, rng.choice([0, 0, 1, 1, 2, 3, 6]))


# -- text forms --------------------------------------------------------------------------------
def _toml_key(key: Any) -> str:
    text = str(key)
    return text if text.replace("_", "").isalnum() and text.isascii() else json.dumps(text)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 10**4000 else "1" + "0" * 4500
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if value is None:
        return '""'
    return json.dumps(str(value), ensure_ascii=False)


def to_toml(data: dict[str, Any]) -> str:
    try:
        lines = [
            f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)
        ]
        for key, table in data.items():
            if isinstance(table, dict):
                lines.append(f"[{_toml_key(key)}]")
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
    except RecursionError:
        return "a = " + "[" * 5000 + "]" * 5000 + "\n"
    return "\n".join(lines) + "\n"


def to_json(data: dict[str, Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, dt.datetime | dt.date | dt.time):
            return value.isoformat()
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**4000:
            return 0
        return value

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return plain(value)

    try:
        return json.dumps(walk(data), ensure_ascii=False)
    except (RecursionError, ValueError):
        return "[" * 5000 + "]" * 5000


def corrupt_text(rng: random.Random, text: str) -> str:
    """Sometimes damage the text: a BOM, a flipped character, a cut, a duplicate key."""
    roll = rng.random()
    if roll < 0.1:
        return "\ufeff" + text
    if roll < 0.2 and text:
        i = rng.randrange(len(text))
        return text[:i] + chr(rng.randrange(0x20, 0x3000)) + text[i + 1 :]
    if roll < 0.25:
        return text[: rng.randrange(len(text) + 1)]
    if roll < 0.3 and text.startswith("{"):
        return '{"project": {"tasks": ["nlp"]}, ' + text[1:]  # a duplicate top-level key
    if roll < 0.32:
        depth = rng.choice([100, 1000, 50_000])
        return rng.choice(["a = ", '{"a": ']) + "[" * depth + "]" * depth + "}"
    return text


@dataclass
class Tally:
    """How the inputs of one harness ended."""

    accepted: int = 0
    refused: int = 0
    tracebacks: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.accepted + self.refused + self.tracebacks

    def crash(self, what: str) -> None:
        self.tracebacks += 1
        if len(self.failures) < 5:
            self.failures.append(what)

    def __str__(self) -> str:
        return (
            f"{self.total:,} inputs: {self.accepted:,} accepted, {self.refused:,} refused with an "
            f"error message, {self.tracebacks} tracebacks"
        )


def _one_line(message: str) -> bool:
    return "\n" not in message and len(message) < 5000


# -- harness 1: questionnaires through the library, start to rendered output ------------------------
def run_questionnaires(count: int, seed: int = 0) -> Tally:
    from advisor.cli.formats import Report, render
    from advisor.core.answers import AnswersError, parse_answers, validate_answers
    from advisor.core.decision.robustness import analyse_robustness
    from advisor.core.engine import recommend

    tally = Tally()
    for index in range(count):
        rng = random.Random(f"{seed}:q:{index}")
        data = questionnaire(rng)
        fmt = rng.choice(["toml", "json"])
        text = corrupt_text(rng, to_toml(data) if fmt == "toml" else to_json(data))
        try:
            try:
                parsed = parse_answers(text, fmt, "fuzz")
                requirements = validate_answers(parsed, "fuzz")
            except AnswersError as error:
                if not _one_line(str(error)):
                    raise AssertionError(
                        f"a multi-line or huge error: {str(error)[:200]}"
                    ) from None
                tally.refused += 1
                continue
            recommendation = recommend(requirements)
            for output in ("text", "json", "markdown"):
                render(Report(recommendation, {}), output)
            if index % 25 == 0:
                analyse_robustness(recommendation)
            tally.accepted += 1
        except Exception:
            tally.crash(f"seed {seed}:q:{index}: {traceback.format_exc(limit=3)[-600:]}")
    return tally


# -- harness 2: measurement sets through import, the store and the advice --------------------------
def _record(
    rng: random.Random, framework: str, probe: str, now: dt.datetime, clean: bool
) -> dict[str, Any]:
    """One record; `clean` ones pass validation but take extreme values within the limits (a
    figure of 1e-15 beside one of 1e15), so that the advice, not only the import, is tested."""
    if clean:
        value: Any = rng.choice(
            [10 ** rng.uniform(-15, 15), rng.choice([1e-15, 1e15, 1.0]), 10 ** rng.uniform(-1, 4)]
        )
        if probe.startswith("capability"):
            value = rng.choice([0.0, 1.0])
    else:
        value = rng.choice(
            [
                lambda: 10 ** rng.uniform(-3, 5),
                lambda: rng.choice([1e-15, 1e15, 1e-300, 1e300, 5e-324, 0.0, -1.0]),
                lambda: rng.choice([math.nan, math.inf, -math.inf]),
                lambda: 10 ** rng.randint(20, 400),
                lambda: None,
                lambda: weird_scalar(rng),
            ]
        )()
    roll = rng.random()
    if clean or roll < 0.7:
        when: Any = (now - dt.timedelta(days=rng.uniform(0, 400))).isoformat()
    elif roll < 0.8:
        when = (now + dt.timedelta(days=rng.uniform(0, 4000))).isoformat()
    elif roll < 0.9:
        when = rng.choice(["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
    else:
        when = rng.choice(["1970-01-01T00:00:00", "2026-02-30T00:00:00", "yesterday", 5])
    record: dict[str, Any] = {
        "framework": framework,
        "probe": probe,
        "status": rng.choice(
            ["ok"] * 6 + ["failed", "timeout", "missing", "skipped"] + ([] if clean else ["great"])
        ),
        "value": value,
        "unit": rng.choice(["GFLOP/s", "ms", "MB", "bool", ""]),
        "higher_is_better": rng.random() < 0.6,
        "params": {"n": rng.choice([256, 512]), "device": rng.choice(["cpu", "cpu", "cuda"])},
        "spread": {
            "cv": rng.choice([0.02, 0.5, 1e6, None] + ([] if clean else [math.nan])),
            "repeats": 5,
        },
        "machine_id": "fuzz-machine",
        "measured_at": when,
        "run_id": f"run{rng.randint(0, 3)}",
    }
    if clean:
        if record["status"] != "ok":
            record["value"] = None
        return record
    roll = rng.random()
    if roll < 0.05:
        record["details"] = nested(rng, rng.choice([5, 50, 2000]))
    elif roll < 0.1:
        record["error"] = rng.choice(WEIRD_STRINGS) * rng.choice([1, 1000])
    elif roll < 0.12:
        del record[rng.choice(list(record))]
    return record


def measurement_set(rng: random.Random, now: dt.datetime) -> list[Any]:
    frameworks = ["pytorch", "tensorflow", "mxnet", "jax"]
    probes = ["matmul", "conv_train_step", "mlp_train", "inference_latency", "train_peak_memory"]
    probes += ["capability.gpu", "import_time", "*"]
    clean = rng.random() < 0.6
    records = [
        _record(rng, rng.choice(frameworks), rng.choice(probes), now, clean)
        for _ in range(rng.choice([1, 2, 2, 6, 20, 60]))
    ]
    if not clean and rng.random() < 0.05:
        records.append(rng.choice([None, 3, "x", [], nested(rng, 100)]))
    return records


def _json_text(rng: random.Random, records: list[Any]) -> str:
    try:
        text = json.dumps(records, default=str)
    except (ValueError, RecursionError):
        text = "[" * 3000 + "]" * 3000
    return corrupt_text(rng, text) if rng.random() < 0.1 else text


def run_measurements(count: int, seed: int = 0) -> Tally:
    from advisor.cli.explain import explain
    from advisor.core.decision.whatif import smallest_flips
    from advisor.core.engine import recommend
    from advisor.core.questionnaire import Requirements
    from probes.records import Measurements
    from probes.store import StoreError, open_store, read_records

    tally = Tally()
    now = dt.datetime.now(dt.timezone.utc)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for index in range(count):
            rng = random.Random(f"{seed}:m:{index}")
            source = folder / f"export{index % 4}.json"
            source.write_text(_json_text(rng, measurement_set(rng, now)), encoding="utf-8")
            try:
                try:
                    records = read_records(source)
                except StoreError as error:
                    if not _one_line(str(error)):
                        raise AssertionError("a multi-line import error") from None
                    tally.refused += 1
                    continue
                if index % 20 == 0:  # through SQLite too
                    with open_store(folder / f"s{index}.sqlite3") as store:
                        store.import_json(source)
                        records = store.latest("fuzz-machine")
                measurements = Measurements(
                    records=records, as_of=now, machine={"machine_id": "fuzz-machine"}
                )
                requirements = Requirements.model_validate(plausible_answers(rng))
                recommendation = recommend(requirements, measurements)
                for ranked in recommendation.ranking[:2]:
                    explain(recommendation, ranked.framework, "text")
                if index % 100 == 0:
                    smallest_flips(requirements, measurements=measurements)
                tally.accepted += 1
            except Exception:
                tally.crash(f"seed {seed}:m:{index}: {traceback.format_exc(limit=3)[-600:]}")
    return tally


# -- harness 3: CLI invocations as real processes ---------------------------------------------------
SAFE_COMMANDS = ["recommend", "explain", "whatif", "claims", "schema", "probe", "ui", ""]


def cli_arguments(rng: random.Random, scratch: Path, index: int) -> tuple[list[str], str | None]:
    """Arguments for one `advisor` invocation, and text for its stdin. Never a probe run or a
    served page: `probe` always shows, plans, imports or exports; `ui` is always refused."""
    command = rng.choice(SAFE_COMMANDS)
    args = [command] if command else []
    stdin = None
    store = ["--store", str(scratch / f"store{index % 3}.sqlite3")]

    def answers_file() -> str:
        roll = rng.random()
        if roll < 0.1:
            return rng.choice(["/nonexistent.toml", str(scratch), "", "-", "\x1b[31m.toml"])
        data = questionnaire(rng)
        fmt = rng.choice(["toml", "json", "txt"])
        path = scratch / f"a{index}.{fmt}"
        text = to_json(data) if fmt == "json" else to_toml(data)
        path.write_text(corrupt_text(rng, text), encoding="utf-8", errors="surrogatepass")
        return str(path)

    def flag_value() -> str:
        return rng.choice(
            [
                rng.choice(TASKS + TARGETS + ACCELERATORS + LANGUAGES + FRAMEWORK_NAMES),
                rng.choice(WEIRD_STRINGS),
                ",".join(rng.sample(TASKS, 2)),
                str(rng.randint(-5, 10**6)),
            ]
        )

    if command in ("recommend", "explain", "whatif"):
        if command == "explain":
            args.append(rng.choice(FRAMEWORK_NAMES + WEIRD_STRINGS[:6]))
        if rng.random() < 0.7:
            answers = answers_file()
            args += ["--answers", answers]
            if answers == "-":
                stdin = corrupt_text(rng, to_json(questionnaire(rng)))
        for _ in range(rng.choice([0, 1, 2, 4])):
            flag = rng.choice(
                [
                    *("--task", "--stage", "--model-size", "--deploy", "--accelerator"),
                    *("--scale", "--os", "--language", "--codebase", "--exclude"),
                    *("--candidates", "--priority"),
                ]
            )
            value = (
                f"{rng.choice(PRIORITIES + WEIRD_STRINGS[:5])}={rng.choice(['3', '9', '-1', 'x', '1' * 5000])}"
                if flag == "--priority"
                else flag_value()
            )
            args += [flag, value]
        for extra in ("--pretrained", "--latency-critical", "--require-maintained"):
            if rng.random() < 0.1:
                args.append(extra)
        if command == "whatif":
            for _ in range(rng.choice([0, 1, 2])):
                path = rng.choice(
                    [f"priorities.{p}" for p in PRIORITIES[:3]]
                    + ["deployment.targets", "project.stage", "team.experience.pytorch"]
                    + ["project", "x.y.z", "", "project.tasks.0"]
                )
                value = rng.choice(
                    [
                        *("5", "mobile,browser", "1979-05-27", "1979-05-27T07:32:00Z"),
                        *("[1, [2]]", "{a = 1}", "nan", "1" * 5000, "\x1b[2J", "", "expert"),
                    ]
                )
                args += ["--set", f"{path}={value}"]
        if command != "explain" and rng.random() < 0.7:
            args += ["--format", rng.choice(["text", "json", "markdown", "xml"])]
        if rng.random() < 0.5:
            args.append("--no-calibrate")
        elif rng.random() < 0.5:
            args += store
        if command == "recommend":
            for extra in ("--robustness", "--what-if", "--next-steps"):
                if rng.random() < 0.15:
                    args.append(extra)
    elif command == "claims":
        for flag, values in (
            ("--verdict", ["holds", "outdated", "wrong", "maybe"]),
            ("--framework", FRAMEWORK_NAMES),
            ("--kind", ["fact", "pro", "con", "nope"]),
            ("--seed", ["000", "003", "999", "\x1b"]),
            ("--format", ["text", "json", "markdown", "csv"]),
        ):
            if rng.random() < 0.4:
                args += [flag, rng.choice(values)]
    elif command == "probe":
        action = rng.choice(["--show", "--plan", "--import", "--export"])
        args += [*store, action]
        if action == "--import":
            path = scratch / f"m{index}.json"
            path.write_text(_json_text(rng, measurement_set(rng, dt.datetime.now(dt.timezone.utc))))
            args.append(str(path))
            if rng.random() < 0.2:
                args.append("--force")
        elif action == "--export":
            args.append(str(scratch / f"out{index}.json"))
        if action == "--show" and rng.random() < 0.5:
            args += ["--format", rng.choice(["text", "json", "yaml"])]
        if rng.random() < 0.3:
            args += ["--framework", rng.choice(FRAMEWORK_NAMES)]
        if rng.random() < 0.2:
            args += ["--python", rng.choice(["mxnet", "mxnet=", "caffe=/x", "jax=/bin/false"])]
        if rng.random() < 0.2:
            config = scratch / f"c{index}.toml"
            config.write_text(config_text(rng))
            args += ["--config", str(config)]
    elif command == "ui":
        args += rng.choice(
            [
                ["--host", "0.0.0.0"],
                ["--host", "::"],
                ["--host", "\x1b[2Jevil"],
                ["--port", rng.choice(["0", "70000", "-1", "x"])],
            ]
        )
    else:
        args += rng.choice(
            [[], ["--help"], ["--version"], ["recomend"], [rng.choice(WEIRD_STRINGS)]]
        )
    if rng.random() < 0.05:
        args.insert(rng.randrange(len(args) + 1), rng.choice(WEIRD_STRINGS))
    return [a.replace("\x00", "") for a in args], stdin


def run_cli(
    count: int, seed: int = 0, workers: int = 2, indices: Iterable[int] | None = None
) -> Tally:
    """`python -m advisor ARGS` for `count` fuzzed argument lists (or the cases `indices`),
    `workers` at a time. A traceback on stderr, an exit status other than 0/1/2, or a raw escape
    character in the output counts as a failure."""
    from concurrent.futures import ThreadPoolExecutor

    tally = Tally()
    with tempfile.TemporaryDirectory() as scratch_text:
        scratch = Path(scratch_text)
        env = {
            **os.environ,
            "ADVISOR_CACHE_DIR": str(scratch / "cache"),
            "ADVISOR_STORE": str(scratch / "default-store.sqlite3"),
            "PYTHONIOENCODING": "utf-8",
        }
        env.pop("ADVISOR_CONFIG", None)

        def one(index: int) -> tuple[int, list[str], subprocess.CompletedProcess[bytes] | None]:
            rng = random.Random(f"{seed}:c:{index}")
            args, stdin = cli_arguments(rng, scratch, index)
            try:
                done = subprocess.run(
                    # as bytes: a lone surrogate becomes invalid UTF-8 in argv, as a shell can pass
                    [
                        sys.executable,
                        "-m",
                        "advisor",
                        *(a.encode("utf-8", "surrogatepass") for a in args),
                    ],
                    cwd=ROOT,
                    env=env,
                    input=(stdin or "").encode("utf-8", "surrogatepass"),
                    capture_output=True,
                    timeout=120,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                return index, args, None
            return index, args, done

        with ThreadPoolExecutor(max_workers=workers) as pool:
            cases = list(indices) if indices is not None else range(count)
            for index, args, done in pool.map(one, cases):
                label = f"seed {seed}:c:{index} advisor {' '.join(map(repr, args))[:300]}"
                if done is None:
                    tally.crash(f"{label}: timed out")
                    continue
                err = done.stderr.decode("utf-8", "replace")
                out = done.stdout.decode("utf-8", "replace")
                if "Traceback (most recent call last)" in err or done.returncode not in (0, 1, 2):
                    tally.crash(f"{label}: exit {done.returncode}: {err[-600:]}")
                elif "\x1b" in out or "\x1b" in err:
                    tally.crash(f"{label}: a raw escape character in the output")
                elif done.returncode == 0:
                    tally.accepted += 1
                else:
                    tally.refused += 1
    return tally


# -- harness 4: config and cache files ----------------------------------------------------------
def config_text(rng: random.Random) -> str:
    tables: dict[str, Any] = {
        "probes": {
            "threads": rng.choice([2, 0, -1, 10**30, "2", True, 2.5]),
            "timeout": rng.choice([30, 0, math.inf, math.nan, "x", 1e308]),
            "interpreters": rng.choice(
                [
                    {"mxnet": ".venv-mxnet/bin/python"},
                    {"caffe": "/x"},
                    {"jax": ""},
                    {"pytorch": 5},
                    "nope",
                    {"mxnet": "~/" + "p" * 300},
                ]
            ),
        },
        "ui": rng.choice([{"probe_runs": False}, {"probe_runs": "no"}, {"x": 1}, 3]),
    }
    data = mutate(rng, tables, rng.choice([0, 1, 2]))
    return corrupt_text(rng, to_toml(data))


def run_configs(count: int, seed: int = 0) -> Tally:
    from probes.config import ConfigError, load_config, resolve_interpreters

    tally = Tally()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "advisor.toml"
        for index in range(count):
            rng = random.Random(f"{seed}:k:{index}")
            path.write_text(config_text(rng), encoding="utf-8", errors="surrogatepass")
            try:
                try:
                    config = load_config(path)
                except ConfigError as error:
                    if not _one_line(str(error)):
                        raise AssertionError("a multi-line config error") from None
                    tally.refused += 1
                    continue
                resolve_interpreters(["pytorch", "mxnet"], config=config, environ={})
                tally.accepted += 1
            except Exception:
                tally.crash(f"seed {seed}:k:{index}: {traceback.format_exc(limit=3)[-600:]}")
    return tally


def run_caches(count: int, seed: int = 0) -> Tally:
    """Damage a valid knowledge cache `count` ways; every one must be refused (Invalid)."""
    from advisor.files import knowledge_cache
    from advisor.files.knowledge_files import (
        _knowledge_paths,
        _sources,
        knowledge_dir,
        load_knowledge,
    )

    tally = Tally()
    root = knowledge_dir()
    sources = _sources(root, _knowledge_paths(root)) or {}
    pristine = knowledge_cache.encode(load_knowledge(), sources)
    for index in range(count):
        rng = random.Random(f"{seed}:x:{index}")
        blob = bytearray(pristine)
        for _ in range(rng.choice([1, 1, 2, 8])):
            bit = rng.randrange(len(blob) * 8)
            blob[bit // 8] ^= 1 << (bit % 8)
        try:
            knowledge_cache.decode(bytes(blob), sources)
        except knowledge_cache.Invalid:
            tally.refused += 1
        except Exception:
            tally.crash(f"seed {seed}:x:{index}: {traceback.format_exc(limit=3)[-600:]}")
        else:
            tally.crash(f"seed {seed}:x:{index}: a damaged cache was accepted")
    return tally


HARNESSES: dict[str, Callable[[int, int], Tally]] = {
    "questionnaires": run_questionnaires,
    "measurement sets": run_measurements,
    "CLI invocations": run_cli,
    "config files": run_configs,
    "damaged caches": run_caches,
}


def report(results: Iterable[tuple[str, Tally]]) -> str:
    return "\n".join(f"{name:<17} {tally}" for name, tally in results)
