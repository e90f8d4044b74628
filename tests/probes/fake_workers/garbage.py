"""Prints stray text: before its hello, and in the middle of `conv`; the rest is correct."""

import sys

from fakeproto import done, hello, parse, probe, result, selected, start

args = parse()
print("some library banner on stdout", flush=True)
hello(args)
for name in selected(args):
    if name == "conv":
        start(name)
        print("W0000 oneDNN custom operations are on " + "x" * 400, flush=True)
        result(args, name)
        continue
    probe(args, name)
sys.stdout.write('{"type": "result", "probe": 5}\n')
done()
