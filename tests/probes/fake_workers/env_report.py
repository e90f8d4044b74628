"""Reports its command line, working directory and environment in a result's details."""

import os
import sys

from fakeproto import done, hello, parse, result, start

args = parse()
hello(args, probes=("env",))
start("env")
names = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MXNET_CPU_WORKER_NTHREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_CPP_MIN_LOG_LEVEL",
    "PYTHONPATH",
)
result(
    args,
    "env",
    value=1.0,
    details={
        "argv": sys.argv[1:],
        "cwd": os.getcwd(),
        "env": {name: os.environ.get(name) for name in names},
        "args": vars(args),
    },
)
done()
