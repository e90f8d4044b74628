"""Floods its protocol channel, as $FAKE_FLOOD says: `lines` (300,000 stray lines between probes),
`long` (one 3 MiB line inside a probe), `endless` (stray output without end), `details` (a result
whose details are far too large for a record)."""

import os
import sys

from fakeproto import done, hello, parse, probe, result, selected, start

args = parse()
hello(args)
mode = os.environ.get("FAKE_FLOOD", "lines")
if mode == "lines":
    sys.stdout.write("stray output line\n" * 300_000)
    sys.stdout.flush()
for name in selected(args):
    if mode == "long" and name == "conv":
        start(name)
        sys.stdout.write("x" * (3 << 20) + "\n")
        sys.stdout.flush()
        result(args, name)
        continue
    if mode == "endless" and name == "conv":
        start(name)
        chunk = "y" * 1000 + "\n"
        while True:
            sys.stdout.write(chunk * 1000)
    if mode == "details" and name == "conv":
        start(name)
        result(args, name, details={"blob": "z" * 100_000})
        continue
    probe(args, name)
done()
