"""`advisor probe`: measure the frameworks on this machine, store, show, export and import results.

A thin shell over `probes.runner` (scheduling, faults) and `probes.store` (SQLite). The parser is
built for every advisor command, so this module imports only the standard library at the top;
the runner, store and rich are imported when `probe` actually runs.

`load_measurements` is the recommend path's way in: the latest stored records for this machine.

Devices: `--device auto` means cpu. CUDA figures are only comparable with other CUDA figures,
and the MXNet wheel is CPU-only, so probing a GPU is a deliberate `--device cuda`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from advisor.cli.terminal import safe

if TYPE_CHECKING:
    from probes.records import Measurements, ProbeRecord
    from probes.runner import Event

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
SUITES = ("tiny", "quick", "full", "deploy")
HIDDEN_PARAMS = ("device", "threads")


def add_probe_parser(subparsers: Any) -> None:
    """Register `probe` on the advisor's subcommands (the handler is `run_probe`)."""
    parser = subparsers.add_parser(
        "probe",
        help="measure the frameworks on this machine (and show, export or import results)",
        description="Run small, careful benchmarks of each framework in its own process and "
        "store the figures; `recommend` then calibrates runtime and memory scores with them.",
    )
    configure_parser(parser)
    parser.set_defaults(handler=run_probe)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    run = parser.add_argument_group("probing")
    run.add_argument(
        "--framework",
        action="append",
        type=_framework,
        help="probe only this framework (repeatable; default: every framework the registry "
        "knows: " + ", ".join(_registry().ids) + ")",
    )
    run.add_argument(
        "--plan",
        action="store_true",
        help="print which frameworks would be probed, by which backend and interpreter, and stop",
    )
    run.add_argument(
        "--suite",
        choices=SUITES,
        default="quick",
        help="tiny (seconds), quick (default: about a minute per framework, one deployment "
        "path each), full (larger sizes, every deployment path) or deploy (every deployment "
        "path only; sets up the ExecuTorch and litert-torch environments on first use)",
    )
    run.add_argument(
        "--probe", action="append", metavar="NAME", help="run only this probe (repeatable)"
    )
    run.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where to probe; auto means cpu (default), cuda must be asked for",
    )
    run.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help="threads per framework (default: [probes] threads in advisor.toml, else 1 for "
        "tiny, quick and deploy, the usable CPUs (at most 8) for full, which also times the "
        "transformer at 1 thread for a thread-scaling figure)",
    )
    run.add_argument(
        "--procs",
        type=_positive_int,
        default=2,
        metavar="N",
        help="processes of the all-reduce probe (default 2)",
    )
    run.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="per-probe time limit (default: [probes] timeout, else 120)",
    )
    run.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="FRAMEWORK=PATH",
        help="interpreter for a framework's worker, e.g. mxnet=.venv-mxnet/bin/python",
    )
    run.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $ADVISOR_CONFIG, else this checkout's advisor.toml, else "
        "~/.config/advisor/advisor.toml; never a parent folder's; refused if another user "
        "owns it or anyone may write to it)",
    )
    run.add_argument(
        "--wait",
        type=_non_negative_float,
        default=0.0,
        metavar="SECONDS",
        help="if another probe run is using the store, wait up to SECONDS for it "
        "(default 0: refuse at once; two runs at a time distort each other's figures)",
    )
    # for tests of this command: run a fake worker module from another folder
    run.add_argument("--worker-module", help=argparse.SUPPRESS)
    run.add_argument("--worker-root", help=argparse.SUPPRESS)
    store = parser.add_argument_group("results")
    store.add_argument(
        "--store",
        metavar="PATH",
        help="probe store (default: $ADVISOR_STORE, else the user cache folder)",
    )
    store.add_argument(
        "--show",
        action="store_true",
        help="print the stored results (newest per probe) instead of probing",
    )
    store.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text table or a JSON list of records (default text)",
    )
    store.add_argument(
        "--export",
        metavar="FILE",
        dest="export_file",
        help="write every stored record to FILE as JSON",
    )
    store.add_argument(
        "--import",
        metavar="FILE",
        dest="import_file",
        help="add the records of an exported FILE (repeat imports add nothing)",
    )
    store.add_argument(
        "--force",
        action="store_true",
        help="import even more than 10,000 records at once",
    )


def _registry() -> Any:
    from advisor.core.in_force import knowledge_in_force

    return knowledge_in_force().registry


def _framework(text: str) -> str:
    found = _registry().resolve(text)
    if found is None:
        raise argparse.ArgumentTypeError(
            f"unknown framework {text!r} (one of {', '.join(_registry().ids)})"
        )
    return str(found)


class PlannedFramework(NamedTuple):
    """One worker of a probe run: who measures which framework, in which interpreter (a
    front-end has one per backend: `runs_on`, its environment variable and record params)."""

    framework: str
    name: str
    backend: str | None
    interpreter: str
    source: str
    runs_on: str | None = None
    """for a front-end: the backend framework this worker measures it on"""
    environment: Mapping[str, str] = {}
    params: Mapping[str, Any] = {}
    probes: tuple[str, ...] = ()
    """what this worker runs (the suite's probes and deployment paths); empty: the suite's"""
    venv: str | None = None
    """a deployment environment of the advisor's own (created on first use), if this runs there"""

    def target(self) -> Any:
        """This item as the runner's `ProbeTarget`."""
        from probes.config import Interpreter
        from probes.runner import ProbeTarget

        return ProbeTarget(
            framework=self.framework,
            interpreter=Interpreter(self.interpreter, self.source),
            environment=dict(self.environment),
            params=dict(self.params),
            frontend=self.runs_on is not None,
            probes=tuple(self.probes),
        )


FRONTEND_BACKEND_VARIABLE = "ADVISOR_PROBE_BACKEND"
"""Names the backend a front-end's worker measures (probes/frameworks/keras.py maps it to
KERAS_BACKEND before Keras is imported)."""


def probe_plan(
    frameworks: Sequence[str] | None = None,
    overrides: Mapping[str, str] | None = None,
    config: Any = None,
    knowledge: Any = None,
    suite: str | None = None,
    only: Sequence[str] = (),
) -> list[PlannedFramework]:
    """The frameworks to probe (default: all in the registry), each with the backend module and
    the interpreter its knowledge file declares, unless --python, the environment or
    advisor.toml say otherwise. A front-end (Keras 3) gets one item per backend the registry
    lists, each in that backend's interpreter (so `--python jax=...` moves Keras-on-JAX too);
    a default quick run (no `frameworks` named) only its `quick_backends`.

    With a `suite`, every item says which probes it runs (the suite's compute probes and its
    deployment paths, `advisor.cli.deploy_plan`), `only` narrows that to the named probes, a
    deployment environment of the advisor's own (ExecuTorch, litert-torch) adds an item, and an
    item left with nothing to run is dropped."""
    from advisor.core.in_force import knowledge_in_force
    from probes.config import Interpreter, resolve_interpreters
    from probes.runner import PACKAGE_ROOT

    kb = knowledge_in_force(knowledge)
    chosen = list(dict.fromkeys(frameworks or kb.frameworks))
    runs_on = {fw: list(kb.frameworks[fw].backends) for fw in chosen if kb.frameworks[fw].backends}
    if suite == "quick" and not frameworks:  # the default run: keep it near a minute
        for fw, backends in runs_on.items():
            spec = kb.frameworks[fw].probe
            if spec is not None and spec.quick_backends:
                runs_on[fw] = [b for b in backends if b in spec.quick_backends]
    # interpreters are resolved for native frameworks, including the backends of front-ends
    natives = [fw for fw in chosen if fw not in runs_on]
    natives += [b for fw in runs_on for b in runs_on[fw] if b not in natives]
    declared = {}
    for fw in natives:
        probe = kb.frameworks[fw].probe
        if probe is not None and probe.environment.venv:
            path = PACKAGE_ROOT / probe.environment.venv / "bin" / "python"
            declared[fw] = Interpreter(str(path), f"knowledge/frameworks/{fw}.toml")
    interpreters = resolve_interpreters(natives, overrides or {}, config, declared=declared)
    planned = []
    for fw in chosen:
        probe = kb.frameworks[fw].probe
        for b in runs_on.get(fw, []):
            planned.append(
                PlannedFramework(
                    framework=fw,
                    name=f"{kb.frameworks[fw].name} on {kb.frameworks[b].name}",
                    backend=probe.backend if probe is not None else None,
                    interpreter=interpreters[b].path,
                    source=f"{b}'s: {interpreters[b].source}",
                    runs_on=b,
                    environment={FRONTEND_BACKEND_VARIABLE: b},
                    params={"backend": b},
                )
            )
        if fw in runs_on:
            continue
        planned.append(
            PlannedFramework(
                framework=fw,
                name=kb.frameworks[fw].name,
                backend=probe.backend if probe is not None else None,
                interpreter=interpreters[fw].path,
                source=interpreters[fw].source,
            )
        )
    if suite is None:
        return planned
    from advisor.cli.deploy_plan import with_probes

    return with_probes(planned, kb, suite, only, PACKAGE_ROOT)


MAX_SECONDS = 86_400.0
MAX_THREADS = 4096


def _positive_int(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"must be a positive integer (at most {MAX_THREADS})")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not (0 < value <= MAX_SECONDS):  # also refuses NaN and infinity
        raise argparse.ArgumentTypeError("must be a positive number of seconds (at most a day)")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not (0 <= value <= MAX_SECONDS):
        raise argparse.ArgumentTypeError("must be a number of seconds from 0 to a day")
    return value


def store_path(arg: str | None) -> Path:
    from probes.store import default_store_path

    return Path(arg).expanduser() if arg else default_store_path()


def load_measurements(store_path: Path | None, now: datetime) -> Measurements | None:
    """The newest stored record per probe for this machine, or None when there are none.

    Raises StoreError (one line) for a corrupt or too-new store; never creates a store.
    """
    from probes.store import default_store_path, open_store

    path = store_path if store_path is not None else default_store_path()
    if not path.exists():
        return None
    from probes.fingerprint import machine_fingerprint, machine_id
    from probes.paths import gpu_cache_file
    from probes.records import Measurements

    fingerprint = dict(machine_fingerprint(gpu_cache=gpu_cache_file()))
    here = str(machine_id(fingerprint))
    with open_store(path, create=False) as store:
        records = store.latest(here)
    if not records:
        return None
    return Measurements(records=records, as_of=now, machine={**fingerprint, "machine_id": here})


def run_probe(args: argparse.Namespace) -> int:
    """The `probe` command; problems are one line on stderr and exit code 2."""
    from probes.config import ConfigError
    from probes.runner import RunLockError
    from probes.store import StoreError

    try:
        return _dispatch(args)
    except (ConfigError, StoreError, RunLockError) as error:
        print(f"advisor probe: error: {safe(str(error))}", file=sys.stderr)
        return EXIT_USAGE


def _dispatch(args: argparse.Namespace) -> int:
    from probes.store import open_store

    path = store_path(args.store)
    if args.import_file or args.export_file or args.show:
        if args.import_file:
            with open_store(path) as store:
                before = store.count()
                added = store.import_json(Path(args.import_file), force=args.force)
            print(
                f"imported {added} new record(s) into {path} ({before + added} stored)",
                file=sys.stderr,
            )
        if args.export_file:
            with open_store(path, create=False) as store:
                count = store.export_json(Path(args.export_file))
            print(f"exported {count} record(s) to {args.export_file}", file=sys.stderr)
        if args.show:
            stored = _stored(path)
            _print_records(stored, args.format, sys.stdout, path)
            if args.format == "text":
                _print_deployment_matrix(stored, sys.stdout)
                _print_interpreters(args, sys.stdout)
        return 0
    return _probe(args, path)


def _stored(path: Path) -> list[ProbeRecord]:
    """The newest record per probe; an absent store shows as empty (and is not created)."""
    from probes.store import open_store

    if not path.exists():
        return []
    with open_store(path, create=False) as store:
        return store.latest()


def _probe(args: argparse.Namespace, path: Path) -> int:
    from probes.config import (
        DEFAULT_TIMEOUT_S,
        find_config,
        load_config,
        parse_python_overrides,
        suite_threads,
    )
    from probes.runner import PACKAGE_ROOT, WORKER_MODULE, RunOptions, host_fingerprint, run_probes
    from probes.store import open_store

    overrides = parse_python_overrides(args.python)
    config = load_config(find_config(explicit=getattr(args, "config", None)))
    # the suite's probe lists describe the real worker; another module (tests' fake workers)
    # says in its hello what it runs
    listed = None if args.worker_module else args.suite
    plan = probe_plan(args.framework, overrides, config, suite=listed, only=args.probe or ())
    if args.plan:
        for item in plan:
            env = "".join(
                f"; {k}={v}" for k, v in item.environment.items() if k != "ADVISOR_DEPLOY_PYTHONS"
            )
            print(
                f"{item.framework:<12} {item.name:<16} backend {item.backend or '(none)'}; "
                f"interpreter {item.interpreter} ({item.source}){env}; "
                f"probes {', '.join(item.probes) or '(none)'}"
            )
        return 0
    plan = _with_environments(plan, PACKAGE_ROOT)
    if not plan:
        print("advisor probe: nothing to run (no probe matches --probe)", file=sys.stderr)
        return EXIT_USAGE
    frameworks = list(dict.fromkeys(item.framework for item in plan))
    targets = [item.target() for item in plan]
    from advisor.cli.deploy_plan import worker_suite

    threads = args.threads or config.threads or suite_threads(args.suite)
    if args.suite == "full" and threads > 1 and not args.probe:
        targets += [  # the same transformer at 1 thread: probes.scaling pairs them
            dataclasses.replace(t, probes=("transformer",), threads=1)
            for t in targets
            if not t.frontend
        ]
    host = host_fingerprint()
    host_check = not args.worker_module  # tests' fake workers need no busy-machine check
    options = RunOptions(
        suite=worker_suite(args.suite),
        device="cuda" if args.device == "cuda" else "cpu",
        threads=threads,
        procs=args.procs,
        host_check=host_check,
        quiet_reference_s=_quiet_reference(path, host[1]) if host_check else None,
        timeout_s=args.timeout or config.timeout_s or DEFAULT_TIMEOUT_S,
        probes=() if plan and all(item.probes for item in plan) else tuple(args.probe or ()),
        worker_module=args.worker_module or WORKER_MODULE,
        root=Path(args.worker_root).resolve() if args.worker_root else PACKAGE_ROOT,
    )
    if args.suite == "full":
        print(
            f"The full suite runs the large sizes: expect several minutes per framework "
            f"({len(frameworks)} framework(s), up to {options.timeout_s:g} s per probe). "
            "Ctrl-C stops it and keeps what was measured.",
            file=sys.stderr,
        )
    made: list[ProbeRecord] = []
    with open_store(path) as store, _Progress(sys.stderr) as progress:

        def keep(record: ProbeRecord) -> None:
            store.add([record])  # committed now: an interruption keeps it
            made.append(record)

        try:
            run_probes(
                targets,
                options,
                on_record=keep,
                on_event=progress.event,
                store=path,
                lock_wait_s=getattr(args, "wait", 0.0),
                host=host,
            )
        except KeyboardInterrupt:
            progress.close()
            print(
                f"\ninterrupted: the worker was stopped; {len(made)} record(s) kept in {path}",
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
    _print_records(made, args.format, sys.stdout, path)
    bad = [r for r in made if r.status.value in ("failed", "timeout", "missing")]
    return 1 if bad else 0


def _quiet_reference(path: Path, machine_id: str) -> float | None:
    """The quietest reference-kernel time stored for this machine (probes.host_check)."""
    times = [
        r.details["reference_matmul_s"]
        for r in _stored(path)
        if r.machine_id == machine_id and isinstance(r.details.get("reference_matmul_s"), float)
    ]
    return min(times) if times else None


def _with_environments(plan: list[PlannedFramework], root: Path) -> list[PlannedFramework]:
    """Set up the deployment environments the plan uses (on first use; a few GB); an
    environment that cannot be made is reported and its worker dropped, the rest still run."""
    from advisor.cli.deploy_plan import ensure_environment
    from advisor.core.deployment_paths import catalogue_of
    from advisor.core.in_force import knowledge_in_force

    catalogue = catalogue_of(knowledge_in_force())
    kept = []
    for item in plan:
        if item.venv is not None and catalogue is not None:
            env = next(e for e in catalogue.environment if e.venv == item.venv)
            problem = ensure_environment(
                root / env.venv, root / env.requirements, env.size, sys.stderr
            )
            if problem:
                print(
                    f"advisor probe: {safe(problem)}; its deployment paths were not probed",
                    file=sys.stderr,
                )
                continue
        kept.append(item)
    return kept


# -- output ---------------------------------------------------------------------------------------
def format_params(params: Mapping[str, Any]) -> str:
    shown = [f"{k}={v}" for k, v in params.items() if k not in HIDDEN_PARAMS]
    return " ".join(shown)


def format_value(record: ProbeRecord) -> str:
    if record.value is None:
        return "-"
    if record.details.get("unknown"):  # a capability the probe could not test (packages missing)
        return "unknown"
    value = record.value
    text = f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{text} {record.unit}".strip()


def format_spread(record: ProbeRecord) -> str:
    """95 % interval of the median, robust spread (1.4826 MAD), samples; older records: IQR, CV."""
    spread, parts = record.spread, []
    if spread.ci95 is not None:
        parts.append(f"95% CI {spread.ci95[0]:.4g}-{spread.ci95[1]:.4g}")
    if spread.mad is not None:
        parts.append(f"MAD {spread.mad:.3g}")
    elif spread.iqr is not None:
        parts.append(f"IQR {spread.iqr:.3g}")
    if spread.cv is not None:
        parts.append(f"CV {spread.cv:.1%}")
    if spread.ci95 is not None and spread.repeats:
        parts.append(f"n={spread.repeats}")
    return ", ".join(parts) or "-"


def _version(record: ProbeRecord) -> str:
    own = {"pytorch": "torch"}.get(record.framework, record.framework)
    return record.versions.get(own) or record.versions.get(record.framework) or "-"


def _status(record: ProbeRecord) -> str:
    if record.status.value == "ok":
        return "ok, noisy (busy machine)" if record.details.get("noisy") else "ok"
    reason = (record.error or "").splitlines()[0] if record.error else ""
    return f"{record.status.value}: {reason[:70]}" if reason else record.status.value


def table_rows(records: Sequence[ProbeRecord]) -> list[list[str]]:
    rows = [
        [
            "framework",
            "probe",
            "params",
            "figure",
            "spread",
            "status",
            "device",
            "version",
            "machine",
            "when (UTC)",
        ]
    ]
    ordered = sorted(
        records,
        key=lambda r: (
            r.machine_id,
            r.framework,
            r.probe,
            json.dumps(r.params, sort_keys=True, default=str),
        ),
    )
    for r in ordered:
        rows.append(
            [
                r.framework,
                r.probe,
                format_params(r.params),
                format_value(r),
                format_spread(r),
                _status(r),
                str(r.params.get("device", "-")),
                _version(r),
                r.machine_id[:12] or "-",
                r.measured_at.strftime("%Y-%m-%d %H:%M"),
            ]
        )
    return rows


def render_table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines) + "\n"


def _print_records(records: Sequence[ProbeRecord], fmt: str, out: TextIO, path: Path) -> None:
    if fmt == "json":
        out.write(safe(json.dumps([r.model_dump(mode="json") for r in records], indent=1)) + "\n")
        return
    if not records:
        out.write(
            safe(f"no probe results in {path}; run `advisor probe` to measure this machine\n")
        )
        return
    out.write(safe(render_table(table_rows(records))))


def _print_deployment_matrix(records: Sequence[ProbeRecord], out: TextIO) -> None:
    """Framework x runtime: which deployment paths work here (knowledge/deployment.toml)."""
    from advisor.core.deployment_matrix import deployment_matrix
    from advisor.core.deployment_paths import catalogue_of
    from advisor.core.in_force import knowledge_in_force

    kb = knowledge_in_force()
    catalogue = catalogue_of(kb)
    if catalogue is None:
        return
    names = {fw: p.name for fw, p in kb.frameworks.items()}
    backends = {fw: list(p.backends) for fw, p in kb.frameworks.items()}
    rows = deployment_matrix(catalogue, records, names, backends)
    runtimes = list(catalogue.runtime)
    table = [["deployment (conv net)", *[r.name.split(" (")[0] for r in runtimes]]]
    table += [[row.label, *[row.cells[r.id].text for r in runtimes]] for row in rows]
    out.write(safe("\n" + render_table(table)))
    out.write(
        "latency at batch 1 on this machine: runtime overhead, not framework speed; "
        "`advisor probe --suite deploy` measures every path\n"
    )


def _print_interpreters(args: argparse.Namespace, out: TextIO) -> None:
    """Which program each framework's next probe run would start, and who chose it."""
    from probes.config import ConfigError, find_config, load_config, parse_python_overrides

    try:
        path = find_config(explicit=getattr(args, "config", None))
        config = load_config(path)
        plan = probe_plan(args.framework, parse_python_overrides(args.python), config)
    except ConfigError as error:
        out.write(safe(f"\nnext probe run: cannot start: {error}\n"))
        return
    source = f"config {path}" if path else "no config file"
    lines = [f"\nnext probe run ({source}) starts:"]
    lines += [
        f"  {item.framework + (f' ({item.runs_on})' if item.runs_on else ''):<12} "
        f"{item.interpreter} ({item.source})"
        for item in plan
    ]
    out.write(safe("\n".join(lines) + "\n"))


def progress_line(record: ProbeRecord) -> str:
    """'tensorflow matmul n=512 ... 95.3 GFLOP/s' (or the status and its reason)."""
    label = " ".join(
        part for part in (record.framework, record.probe, format_params(record.params)) if part
    )
    outcome = format_value(record) if record.status.value == "ok" else _status(record)
    return f"{label} ... {outcome}"


class _Progress:
    """Live progress on stderr: a rich bar on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._bar: Any = None
        self._task: Any = None
        if stream.isatty():
            try:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    SpinnerColumn,
                    TextColumn,
                    TimeElapsedColumn,
                )
            except ImportError:
                return
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=getattr(stream, "unfiltered", stream)),
                transient=True,
            )

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _say(self, text: str) -> None:
        text = safe(text)  # worker output and record errors are not ours to send to a terminal
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def event(self, event: Event) -> None:
        from probes.runner import (
            FrameworkStarted,
            ProbeStarted,
            RecordMade,
            WorkerReady,
        )

        handlers: dict[type, Callable[[Any], None]] = {
            FrameworkStarted: self._framework,
            WorkerReady: self._ready,
            ProbeStarted: self._started,
            RecordMade: lambda e: self._done(e.record),
        }
        handlers[type(event)](event)

    def _framework(self, event: Any) -> None:
        total = len(event.expected) if event.expected else None
        on = getattr(event, "params", {}).get("backend")
        label = f"{event.framework} on {on}" if on else event.framework
        if self._bar is not None:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(_bar_text(f"{label}: starting"), total=total)
        else:
            self._say(f"{label}: starting ({event.interpreter.path})")

    def _ready(self, event: Any) -> None:
        versions = ", ".join(f"{k} {v}" for k, v in sorted(event.versions.items()))
        took = f" in {event.import_seconds:.1f} s" if event.import_seconds is not None else ""
        self._say(f"{event.framework}: imported{took} ({versions})")

    def _started(self, event: Any) -> None:
        if self._bar is not None and self._task is not None:
            label = " ".join(
                p for p in (event.framework, event.probe, format_params(event.params)) if p
            )
            self._bar.update(self._task, description=_bar_text(label))

    def _done(self, record: ProbeRecord) -> None:
        self._say(progress_line(record))
        if self._bar is not None and self._task is not None and record.probe != "*":
            self._bar.advance(self._task)


def _bar_text(text: str) -> str:
    """Worker-given text as a rich description: controls visible, no markup, bounded."""
    from rich.markup import escape

    return str(escape(safe(text[:200])))


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m advisor.cli.probe` (the same as `advisor probe`)."""
    parser = argparse.ArgumentParser(prog="advisor probe")
    configure_parser(parser)
    args = parser.parse_args(argv)
    try:
        return run_probe(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
