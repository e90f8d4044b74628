"""Runs every selected probe correctly, taking $FAKE_PROBE_SECONDS (default 0.5) for each, and
records when each probe ran in $FAKE_TIMELINE (a file, one "framework probe start end" line per
probe) so a test can check that two runs never overlapped."""

import os
import time

from fakeproto import done, hello, parse, result, selected, start

args = parse()
hello(args)
seconds = float(os.environ.get("FAKE_PROBE_SECONDS", "0.5"))
timeline = os.environ.get("FAKE_TIMELINE")
for name in selected(args):
    start(name)
    began = time.time()
    time.sleep(seconds)
    if timeline:
        with open(timeline, "a") as handle:
            handle.write(f"{os.getppid()} {args.framework} {name} {began} {time.time()}\n")
    result(args, name)
done()
