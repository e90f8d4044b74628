"""Dies by SIGKILL during `conv`, as the kernel's out-of-memory killer would do it."""

import os
import signal

from fakeproto import hello, parse, probe, selected, start

args = parse()
hello(args)
for name in selected(args):
    if name == "conv":
        start(name)
        os.kill(os.getpid(), signal.SIGKILL)
    probe(args, name)
