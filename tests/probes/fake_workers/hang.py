"""Hangs in `conv` with a child process holding stdout open (the whole group must be killed).

Writes its own pid and the child's to $FAKE_CHILD_PID_FILE so a test can check both were killed.
"""

import os
import subprocess
import sys
import time

from fakeproto import done, hello, parse, probe, selected, start

args = parse()
hello(args)
for name in selected(args):
    if name == "conv":
        start(name)
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        if os.environ.get("FAKE_CHILD_PID_FILE"):
            with open(os.environ["FAKE_CHILD_PID_FILE"], "a") as handle:
                handle.write(f"{os.getpid()} {child.pid}\n")
        time.sleep(600)
    probe(args, name)
done()
