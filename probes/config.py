"""Which interpreter runs each framework's probes, and the probe settings, from four sources.

MXNet 1.9.1 cannot share an environment with current TensorFlow (it needs numpy < 1.24), so each
framework may run in its own Python. Sources, highest first: the CLI's `--python FRAMEWORK=PATH`,
the environment variable `ADVISOR_PYTHON_<FRAMEWORK>`, the config file, and finally the
interpreter running the advisor. Every resolved path remembers where it was set, so a missing one
can say who to blame.

The config file names programs that `advisor probe` runs, so it is read from trusted places only
(`find_config`): `--config PATH`, else `$ADVISOR_CONFIG`, else the project's own `advisor.toml`
(beside the `probes` package, i.e. the checkout's), else the user's config folder
(`$XDG_CONFIG_HOME/advisor/advisor.toml`, default `~/.config/advisor/advisor.toml`). The working
directory and its parents are never searched: a file in a shared parent folder has no effect. A
file that belongs to another user (root excepted) or that every user may write to is refused
with a one-line ConfigError.

Relative paths in the config file are relative to the file's directory (a committed
`advisor.toml` can point at `.venv-mxnet/bin/python` wherever the clone lives); relative paths on
the command line or in the environment are relative to the working directory, as a shell user
expects.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probes.frameworks import available_backends

CONFIG_NAME = "advisor.toml"
CONFIG_ENV = "ADVISOR_CONFIG"
MAX_CONFIG_BYTES = 1 << 20
PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""the folder holding the `probes` package: a checkout's root, whose advisor.toml is the project's"""
PYTHON_ENV_PREFIX = "ADVISOR_PYTHON_"
MAX_DEFAULT_THREADS = 8
DEFAULT_TIMEOUT_S = 120.0
MAX_TIMEOUT_S = 86_400.0


class ConfigError(ValueError):
    """A bad setting; the message is one line naming the file or option at fault."""


@dataclass(frozen=True)
class Interpreter:
    """The Python that runs one framework's worker, and where that choice came from."""

    path: str
    source: str

    def exists(self) -> bool:
        return Path(self.path).is_file() and os.access(self.path, os.X_OK)


@dataclass(frozen=True)
class ProbeConfig:
    """The `[probes]` table of a config file (all optional)."""

    path: Path | None = None
    interpreters: Mapping[str, Interpreter] = field(default_factory=dict)
    threads: int | None = None
    timeout_s: float | None = None
    ui_probe_runs: bool = True
    """`[ui] probe_runs`: whether the web page may start probe runs (`advisor ui`)"""


def default_threads() -> int:
    """Threads every framework gets: the CPUs this process may use, at most 8.

    The same number for every framework keeps the comparison fair; the cap keeps a many-core
    server from measuring thread-scaling overheads instead of the frameworks (small probe sizes
    stop scaling long before 8 threads). It is recorded with every figure.
    """
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(available, MAX_DEFAULT_THREADS))


SINGLE_THREAD_SUITES = frozenset({"tiny", "quick", "deploy"})


def suite_threads(suite: str) -> int:
    """Threads a suite runs with when nobody says: one for the short suites, since two
    multi-threaded kernels on a small shared machine collapse (a 2-thread numpy matmul fell from
    ~280 to 5-30 GFLOP/s beside another job, 1-thread runs held 1-10 % CV); the full suite uses
    `default_threads()` and adds a 1-thread transformer pass for the scaling figure."""
    return 1 if suite in SINGLE_THREAD_SUITES else default_threads()


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The user's own config file: $XDG_CONFIG_HOME/advisor/advisor.toml (%APPDATA% on Windows)."""
    env = os.environ if environ is None else environ
    if sys.platform == "win32":
        base = Path(env.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    else:
        base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "advisor" / CONFIG_NAME


def find_config(
    project: Path | None = None,
    environ: Mapping[str, str] | None = None,
    explicit: str | Path | None = None,
) -> Path | None:
    """The config file to use, from trusted places only (see the module docstring): `explicit`
    (--config), else $ADVISOR_CONFIG, else `project`/advisor.toml (default: this checkout's),
    else the user's config file; None when there is none. Never the working directory's parents.
    """
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit).expanduser()
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    for candidate in ((project or PROJECT_ROOT) / CONFIG_NAME, user_config_path(env)):
        if candidate.is_file():
            return candidate
    return None


def check_trusted(path: Path) -> None:
    """Refuse a config file that another user owns or that anyone may write to (ConfigError)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file ({error.strerror or error})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path}: not a regular file")
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {info.st_size} bytes; a config file is at most 1 MiB")
    if os.name != "posix":
        return
    if info.st_uid not in (os.geteuid(), 0):
        raise ConfigError(
            f"{path}: owned by {_user_name(info.st_uid)}, not by you: refusing to let it choose "
            "the programs `advisor probe` runs (use a config file of your own: --config PATH)"
        )
    if info.st_mode & 0o002:
        raise ConfigError(
            f"{path}: every user may write to it: refusing to let it choose the programs "
            f"`advisor probe` runs (chmod o-w {path})"
        )


def _user_name(uid: int) -> str:
    try:
        import pwd

        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
        except ModuleNotFoundError:
            raise ConfigError(f"{path}: reading it needs Python 3.11+ or tomli") from None
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file ({error.strerror or error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML ({error})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: invalid TOML (not UTF-8 text)") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML (nested too deeply)") from None
    except ValueError as error:  # tomllib lets int() errors through (huge integers)
        raise ConfigError(f"{path}: invalid TOML ({error})") from None
    return data


def load_config(path: Path | None) -> ProbeConfig:
    """Parse the `[probes]` table of a config file; None or an absent table gives the defaults."""
    if path is None:
        return ProbeConfig()
    check_trusted(path)
    data = _read_toml(path)
    probes = data.get("probes", {})
    if not isinstance(probes, dict):
        raise ConfigError(f"{path}: [probes] must be a table")
    known = {"interpreters", "threads", "timeout"}
    unknown = sorted(set(probes) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) in [probes]: {_names(unknown)}")
    base = path.resolve().parent

    interpreters: dict[str, Interpreter] = {}
    raw_interpreters = probes.get("interpreters", {})
    if not isinstance(raw_interpreters, dict):
        raise ConfigError(f"{path}: [probes.interpreters] must be a table of FRAMEWORK = PATH")
    for name, value in raw_interpreters.items():
        if name not in available_backends():
            raise ConfigError(
                f"{path}: [probes.interpreters] unknown framework {_names([name], quote=True)} "
                f"(expected one of {', '.join(available_backends())})"
            )
        if not isinstance(value, str) or not value or "\0" in value or len(value) > 4096:
            raise ConfigError(
                f"{path}: [probes.interpreters] {_names([name])} must be a path string"
            )
        interpreters[name] = Interpreter(str(_expand(value, base)), f"set by {path}")

    threads = probes.get("threads")
    if threads is not None and (
        not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= 4096
    ):
        raise ConfigError(f"{path}: [probes] threads must be a positive integer (at most 4096)")
    timeout = probes.get("timeout")
    if timeout is not None and (
        not isinstance(timeout, int | float)
        or isinstance(timeout, bool)
        or not 0 < timeout <= MAX_TIMEOUT_S  # also refuses NaN and infinity
    ):
        raise ConfigError(
            f"{path}: [probes] timeout must be a positive number of seconds (at most a day)"
        )
    ui = data.get("ui", {})
    if not isinstance(ui, dict):
        raise ConfigError(f"{path}: [ui] must be a table")
    unknown = sorted(set(ui) - {"probe_runs"})
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) in [ui]: {_names(unknown)}")
    probe_runs = ui.get("probe_runs", True)
    if not isinstance(probe_runs, bool):
        raise ConfigError(f"{path}: [ui] probe_runs must be true or false")
    return ProbeConfig(
        path=path,
        interpreters=interpreters,
        threads=threads,
        timeout_s=float(timeout) if timeout is not None else None,
        ui_probe_runs=probe_runs,
    )


def _names(names: Sequence[str], quote: bool = False) -> str:
    """Names from a file for a one-line message: printable, short, at most five of them."""
    shown = []
    for name in list(names)[:5]:
        text = repr(name)[1:-1] if not name.isprintable() else name
        text = text if len(text) <= 60 else text[:57] + "..."
        shown.append(f"'{text}'" if quote else text)
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return ", ".join(shown) + more


def _expand(value: str, base: Path) -> Path:
    candidate = Path(os.path.expanduser(value))
    return candidate if candidate.is_absolute() else base / candidate


def parse_python_overrides(values: Sequence[str]) -> dict[str, str]:
    """`--python FRAMEWORK=PATH` options as a mapping; bad syntax is a one-line ConfigError."""
    overrides: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        name = name.strip().lower()
        if not sep or not path.strip():
            raise ConfigError(
                f"--python {value!r}: expected FRAMEWORK=PATH, e.g. mxnet=/opt/py/bin/python"
            )
        if name not in available_backends():
            raise ConfigError(
                f"--python {value!r}: unknown framework {_names([name], quote=True)} "
                f"(expected one of {', '.join(available_backends())})"
            )
        overrides[name] = path.strip()
    return overrides


def resolve_interpreters(
    frameworks: Sequence[str],
    cli: Mapping[str, str] | None = None,
    config: ProbeConfig | None = None,
    environ: Mapping[str, str] | None = None,
    default: str | None = None,
    declared: Mapping[str, Interpreter] | None = None,
) -> dict[str, Interpreter]:
    """The interpreter for each framework, highest-priority source first (see module docstring);
    `declared` are the environments the frameworks' knowledge files name, used before the
    advisor's own interpreter."""
    declared = declared or {}
    env = os.environ if environ is None else environ
    cli = cli or {}
    configured = config.interpreters if config else {}
    fallback = default or sys.executable
    chosen: dict[str, Interpreter] = {}
    for name in frameworks:
        variable = PYTHON_ENV_PREFIX + name.upper()
        if name in cli:
            chosen[name] = Interpreter(str(_expand(cli[name], Path.cwd())), "set by --python")
        elif env.get(variable):
            path = str(_expand(env[variable], Path.cwd()))
            chosen[name] = Interpreter(path, f"set by ${variable}")
        elif name in configured:
            chosen[name] = configured[name]
        elif name in declared:
            chosen[name] = declared[name]
        else:
            chosen[name] = Interpreter(fallback, "the advisor's own interpreter")
    return chosen
