"""Runs every selected probe correctly."""

from fakeproto import done, hello, parse, probe, selected

args = parse()
hello(args)
for name in selected(args):
    probe(args, name)
done()
