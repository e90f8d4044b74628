"""The real worker (`probes.worker.main`) over the numpy backend, whose results are off by
$FAKE_RESULT_ERROR (relative, default 1%) in the calls named in $FAKE_WRONG_CALLS (comma-separated;
unset: every call): a framework that computes the wrong answer."""

import os
import sys
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[3]))  # the repository's `probes`

import numpy_backend

from probes import worker

error = float(os.environ.get("FAKE_RESULT_ERROR", "0.01"))
calls = os.environ.get("FAKE_WRONG_CALLS")
wrong = tuple(calls.split(",")) if calls else None
worker.load_backend = lambda framework, device, threads: numpy_backend.NumpyBackend(error, wrong)
sys.exit(worker.main())
