"""Crashes (exit 1, a traceback-like stderr) during `conv`."""

import sys

from fakeproto import hello, parse, probe, selected, start

args = parse()
hello(args)
for name in selected(args):
    if name == "conv":
        start(name)
        sys.stderr.write("Traceback (most recent call last):\nRuntimeError: fake kernel crash\n")
        sys.stderr.flush()
        sys.exit(1)
    probe(args, name)
