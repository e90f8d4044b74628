"""`advisor ui`: serve the Streamlit page (ui/app.py) on this machine.

Only the standard library at import time: the parser is built for every advisor command, and
Streamlit is an optional extra (`pip install 'advisor[ui]'`) that only this command needs.
Defaults keep the page private and quiet: loopback address, headless (no browser opened from a
server), no usage statistics, no tracebacks shown in the page.

Anyone who can reach the page can fill in questionnaires, read this machine's stored probe
figures (its CPU, GPU and library versions) and start probe runs, which run the interpreters the
config names. So a non-loopback `--host` needs `--expose`, and then the launcher says what it
exposes; `[ui] probe_runs = false` in the config file turns probe runs from the page off (the
server gets $ADVISOR_PROBE_RUNS, which `probes.runner` obeys). The server runs in its own process
group with a parent-death signal, and is stopped with its group on Ctrl-C, SIGTERM, SIGHUP or
when the launcher dies.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from advisor.cli.terminal import safe

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def add_ui_parser(subparsers: Any) -> None:
    """Register `ui` on the advisor's subcommands (the handler is `run_ui`)."""
    parser = subparsers.add_parser(
        "ui",
        help="answer the questionnaire in a browser (Streamlit)",
        description="Serve the questionnaire and the recommendation as a web page. "
        "Needs the ui extra: pip install 'advisor[ui]'.",
    )
    configure_parser(parser)
    parser.set_defaults(handler=run_ui)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port to serve on (default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; "
        "any other address, e.g. 0.0.0.0, needs --expose)",
    )
    parser.add_argument(
        "--expose",
        action="store_true",
        help="really serve the page beyond this machine: anyone who reaches it can read the "
        "stored probe figures and start probe runs (unless [ui] probe_runs = false)",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file for the page's probe runs (default as for `advisor probe`)",
    )
    parser.add_argument(
        "--store",
        metavar="PATH",
        help="probe store to calibrate from and to probe into "
        "(default: $ADVISOR_STORE, else the user cache folder)",
    )
    parser.add_argument("--open", action="store_true", help="open the page in your web browser")


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be a port number from 1 to 65535")
    return value


def app_path() -> Path:
    """ui/app.py beside the advisor package (a checkout or an installed wheel)."""
    beside = Path(__file__).resolve().parents[2] / "ui" / "app.py"
    if beside.is_file():
        return beside
    spec = importlib.util.find_spec("ui")
    if spec is not None and spec.origin:
        return Path(spec.origin).parent / "app.py"
    return beside


def streamlit_command(args: argparse.Namespace, python: str | None = None) -> list[str]:
    """The `streamlit run` command line for these options."""
    return [
        python or sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path()),
        "--server.address",
        str(args.host),
        "--server.port",
        str(args.port),
        "--server.headless",
        "false" if getattr(args, "open", False) else "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.showErrorDetails",
        "none",
        "--client.toolbarMode",
        "viewer",
        "--global.developmentMode",
        "false",
    ]


def is_loopback(host: str) -> bool:
    """Whether an address only this machine can reach: localhost, 127.0.0.0/8, ::1."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name (or "" for every address): it may well be reachable


def run_ui(args: argparse.Namespace) -> int:
    """Run Streamlit until it stops (Ctrl-C); a missing Streamlit is one line, exit code 2."""
    if not is_loopback(str(args.host)) and not getattr(args, "expose", False):
        print(
            safe(
                f"advisor ui: error: --host {args.host} would serve the page to other machines; "
                "anyone reaching it could read this machine's probe figures and start probe runs. "
                "Add --expose to do so on purpose (and [ui] probe_runs = false in the config to "
                "keep probe runs off), or leave --host at 127.0.0.1"
            ),
            file=sys.stderr,
        )
        return EXIT_USAGE
    if importlib.util.find_spec("streamlit") is None:
        print(
            "advisor ui: error: Streamlit is not installed; install the ui extra: "
            "pip install 'advisor[ui]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    app = app_path()
    if not app.is_file():
        print(f"advisor ui: error: the page is missing: {app}", file=sys.stderr)
        return EXIT_USAGE
    from probes.config import ConfigError, find_config, load_config

    try:
        config_path = find_config(explicit=getattr(args, "config", None))
        config = load_config(config_path)
    except ConfigError as error:
        print(safe(f"advisor ui: error: {error}"), file=sys.stderr)
        return EXIT_USAGE
    env = dict(os.environ)
    if getattr(args, "store", None):
        env["ADVISOR_STORE"] = str(Path(args.store).expanduser().resolve())
    if config_path is not None:
        env["ADVISOR_CONFIG"] = str(config_path.resolve())  # the page uses the same file
    if config.ui_probe_runs:
        env.pop("ADVISOR_PROBE_RUNS", None)
    else:
        env["ADVISOR_PROBE_RUNS"] = (
            f"disabled for this page ([ui] probe_runs = false in {config_path})"
        )
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    host = "localhost" if args.host == DEFAULT_HOST else args.host
    print(
        safe(f"advisor ui: serving on http://{host}:{args.port} (Ctrl-C stops it)"),
        file=sys.stderr,
    )
    if not is_loopback(str(args.host)):
        runs = (
            "start probe runs, which run the interpreters of "
            + (str(config_path) if config_path else "the advisor's own Python")
            + " (`[ui] probe_runs = false` in the config turns that off)"
            if config.ui_probe_runs
            else f"not start probe runs ([ui] probe_runs = false in {config_path})"
        )
        print(
            safe(
                f"advisor ui: EXPOSED on {args.host}:{args.port} (--expose): anyone who can reach "
                "this machine can use the page, read its stored probe figures (CPU, GPU, library "
                f"versions, from {env.get('ADVISOR_STORE') or 'the default store'}) and {runs}"
            ),
            file=sys.stderr,
        )
    return _serve(streamlit_command(args), env, app.parent.parent)


def _serve(command: list[str], env: dict[str, str], cwd: Path) -> int:
    """Run the server in its own process group until it exits; on Ctrl-C, SIGTERM or SIGHUP
    (Terminated, a KeyboardInterrupt) stop the whole group: SIGTERM, then SIGKILL after 1 s."""
    from probes.processes import Guard, kill_group, popen_options, stop_group

    process = subprocess.Popen(command, env=env, cwd=cwd, **popen_options())  # type: ignore[call-overload]
    guard = Guard(process.pid)  # should this launcher be killed outright, the group goes too
    try:
        code = int(process.wait())
    except KeyboardInterrupt:
        stop_group(process, grace_s=1.0)
        return EXIT_INTERRUPTED
    finally:
        kill_group(process)  # whatever the server left in its group
        guard.release()
    return code
