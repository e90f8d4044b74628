#!/usr/bin/env bash
# One command from a fresh clone to a working advisor:
#   1. .venv        - the advisor, PyTorch, TensorFlow, Streamlit and the dev tools (numpy 2.x);
#   2. .venv-mxnet  - MXNet 1.9.1 with numpy<1.24, which cannot share .venv (see requirements/mxnet.txt);
#   3. the quick probe suite on this machine, in all three frameworks;
#   4. a recommendation for a bundled example, calibrated by those measurements.
# Safe to run again: existing environments are reused and only missing packages are installed.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
EXAMPLE="${1:-examples/nlp-research-lab.toml}"

step() { printf '\n== %s\n' "$*"; }

step "main environment (.venv)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[ui,dev]' -r requirements/frameworks.txt

# Byte-compile the project once: where PYTHONDONTWRITEBYTECODE is set (as on CI machines), Python
# would otherwise recompile every module of the advisor on each CLI start (~40 ms).
.venv/bin/python -m compileall -q advisor probes ui >/dev/null

step "MXNet environment (.venv-mxnet)"
[ -x .venv-mxnet/bin/python ] || "$PYTHON" -m venv .venv-mxnet
.venv-mxnet/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/mxnet.txt

step "quick probes on this machine"
.venv/bin/python -m advisor probe --suite quick || echo "(some probes failed; the advice below says which)"

step "recommendation for $EXAMPLE"
.venv/bin/python -m advisor recommend --answers "$EXAMPLE"
