"""The framework cannot be imported: a hello carrying "error", then exit code 3."""

import sys

from fakeproto import parse, send

args = parse()
send(
    {
        "type": "hello",
        "framework": args.framework,
        "versions": {},
        "threads": args.threads,
        "device": args.device,
        "import_seconds": None,
        "fingerprint": {},
        "error": f"No module named '{args.framework}'",
    }
)
sys.exit(3)
