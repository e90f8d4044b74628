"""`advisor ui`: serve the Streamlit page (ui/app.py) on this machine.

Only the standard library at import time: the parser is built for every advisor command, and
Streamlit is an optional extra (`pip install 'advisor[ui]'`) that only this command needs.
Defaults keep the page private and quiet: loopback address, headless (no browser opened from a
server), no usage statistics, no tracebacks shown in the page.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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
        "0.0.0.0 shares the page with your network)",
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


def run_ui(args: argparse.Namespace) -> int:
    """Run Streamlit until it stops (Ctrl-C); a missing Streamlit is one line, exit code 2."""
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
    env = dict(os.environ)
    if getattr(args, "store", None):
        env["ADVISOR_STORE"] = str(Path(args.store).expanduser().resolve())
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    host = "localhost" if args.host == DEFAULT_HOST else args.host
    print(f"advisor ui: serving on http://{host}:{args.port} (Ctrl-C stops it)", file=sys.stderr)
    process = subprocess.Popen(streamlit_command(args), env=env, cwd=app.parent.parent)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # Streamlit got the same Ctrl-C; give it a moment to close its sessions cleanly.
        try:
            process.wait(timeout=5)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return EXIT_INTERRUPTED
