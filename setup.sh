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

# JAX's own environment, so its probes measure the JAX users install today: jax 0.11+ needs
# Python >= 3.12 (this machine's default may be 3.11), so it takes the newest Python found that the
# pinned JAX installs on (requirements/jax.txt), else falls back, saying so, to $PYTHON with the
# last JAX for Python 3.11 (requirements/jax-py311.txt). Reused when run again: pip then finds
# everything installed and downloads nothing; a fallback environment is rebuilt once a newer Python
# appears. $JAX_PYTHON names an interpreter to try first.
JAX_VENV=.venv-jax
JAX_PYTHON_VERSIONS="3.14 3.13 3.12"  # newest first; jaxlib 0.12.0.1 has wheels for each
jax_pythons() {  # candidate interpreters, newest first
  local version found
  [ -z "${JAX_PYTHON:-}" ] || command -v "$JAX_PYTHON" 2>/dev/null || true
  for version in $JAX_PYTHON_VERSIONS; do
    found=$(command -v "python$version" 2>/dev/null) && echo "$found"
    # pyenv's shims run only the versions it has selected: ask its installs directly too
    ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$version".*/bin/python3 2>/dev/null | sort -rV || true
  done
}
python_at_least_312() { "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; }
jax_install() {  # interpreter, requirements file: a fresh or reused $JAX_VENV with them installed
  [ -x "$JAX_VENV/bin/python" ] || "$1" -m venv "$JAX_VENV" || return 1
  "$JAX_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$2"
}
jax_env() {
  local candidate
  if [ -x "$JAX_VENV/bin/python" ] && python_at_least_312 "$JAX_VENV/bin/python"; then
    jax_install "$JAX_VENV/bin/python" requirements/jax.txt && { jax_report; return; }
  fi
  for candidate in $(jax_pythons); do
    python_at_least_312 "$candidate" || continue
    rm -rf "$JAX_VENV"
    echo "JAX: trying $("$candidate" -V 2>&1) ($candidate)"
    jax_install "$candidate" requirements/jax.txt && { jax_report; return; }
    echo "JAX: requirements/jax.txt does not install on $candidate; trying an older Python"
  done
  "$JAX_VENV/bin/python" -V >/dev/null 2>&1 || rm -rf "$JAX_VENV"  # keeps a working fallback
  echo "JAX: no Python >= 3.12 found (jax 0.11+ needs it): falling back to $("$PYTHON" -V 2>&1)" \
    "with jax 0.10.2, the last release for Python 3.11; its figures are labelled 0.10.2." \
    "Install Python 3.12+ and run ./setup.sh again to measure the current JAX."
  jax_install "$PYTHON" requirements/jax-py311.txt && jax_report
}
jax_report() {
  "$JAX_VENV/bin/python" -c 'import sys, jax, jaxlib; print(f"JAX: jax {jax.__version__}, jaxlib {jaxlib.__version__} on Python {sys.version.split()[0]} in {sys.prefix}")'
}

step "main environment (.venv)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[ui,dev]' -r requirements/frameworks.txt

# Byte-compile the project once: where PYTHONDONTWRITEBYTECODE is set (as on CI machines), Python
# would otherwise recompile every module of the advisor on each CLI start (~40 ms).
.venv/bin/python -m compileall -q advisor probes ui >/dev/null

step "MXNet environment (.venv-mxnet)"
[ -x .venv-mxnet/bin/python ] || "$PYTHON" -m venv .venv-mxnet
.venv-mxnet/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/mxnet.txt

step "JAX environment (.venv-jax)"
jax_env || echo "JAX: set-up failed (see above); its probes will be recorded as missing"

step "quick probes on this machine"
.venv/bin/python -m advisor probe --suite quick || echo "(some probes failed; the advice below says which)"

step "recommendation for $EXAMPLE"
.venv/bin/python -m advisor recommend --answers "$EXAMPLE"
