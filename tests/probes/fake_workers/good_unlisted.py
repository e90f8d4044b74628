"""A correct worker whose hello does not list its probes (the runner must cope)."""

from fakeproto import done, hello, parse, probe, selected

args = parse()
hello(args, probes=None)
for name in selected(args):
    probe(args, name)
done()
