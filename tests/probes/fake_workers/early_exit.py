"""Exits with code 1 before its hello, with an error on stderr."""

import sys

sys.stderr.write(
    "Traceback (most recent call last):\nModuleNotFoundError: No module named 'probes'\n"
)
sys.exit(1)
