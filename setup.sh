#!/usr/bin/env bash
# One command from a fresh clone to a working advisor:
#   1. .venv        - the advisor, PyTorch, TensorFlow, Streamlit and the dev tools (numpy 2.x);
#   2. every environment a framework declares in knowledge/frameworks/ (.venv-mxnet: MXNet 1.9.1
#      with numpy<1.24; .venv-jax: current JAX on the newest Python it supports);
#   3. the quick probe suite on this machine, in every framework of the registry;
#   4. a recommendation for a bundled example, calibrated by those measurements.
# Safe to run again: existing environments are reused and only missing packages are installed.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
EXAMPLE="${1:-examples/nlp-research-lab.toml}"

step() { printf '\n== %s\n' "$*"; }

# With an NVIDIA GPU (nvidia-smi lists one) the frameworks are installed as their CUDA builds:
# every requirements file X.txt that has an X-cuda.txt beside it is replaced by that file
# (PyPI's Linux torch wheel with its CUDA libraries, tensorflow[and-cuda], jax[cuda13]; several
# GB). ADVISOR_CPU_ONLY=1 keeps the CPU builds. The GPU tests (tests/probes/test_worker.py) run
# wherever a GPU is listed and fail, naming this, if a CPU build is what they find.
GPU=""
if [ -z "${ADVISOR_CPU_ONLY:-}" ] && command -v nvidia-smi >/dev/null 2>&1 \
  && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  GPU=1
fi
for_device() {  # requirements file -> the one to install on this machine
  local cuda="${1%.txt}-cuda.txt"
  if [ -n "$GPU" ] && [ -f "$cuda" ]; then echo "$cuda"; else echo "$1"; fi
}

# A framework's own environment, as its knowledge file declares it (`advisor environments` lists
# them: framework, venv, Pythons newest first, requirements, fallback requirements). It takes the
# newest listed Python found on which the requirements install (JAX 0.11+ needs Python >= 3.12,
# this machine's default may be 3.11), else falls back, saying so, to $PYTHON with the fallback
# requirements (for JAX the last release for Python 3.11). Reused when run again: pip then finds
# everything installed and downloads nothing; a fallback environment is rebuilt once a listed
# Python appears. $ENV_PYTHON names an interpreter to try first.
pythons_for() {  # comma-separated versions -> candidate interpreters, newest first
  local version found
  [ -z "${ENV_PYTHON:-}" ] || command -v "$ENV_PYTHON" 2>/dev/null || true
  for version in ${1//,/ }; do
    found=$(command -v "python$version" 2>/dev/null) && echo "$found"
    # pyenv's shims run only the versions it has selected: ask its installs directly too
    ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$version".*/bin/python3 2>/dev/null | sort -rV || true
  done
}
python_is() {  # interpreter, comma-separated versions: is it one of them?
  local have
  have=$("$1" -c 'import sys, venv; print(f"{sys.version_info[0]}.{sys.version_info[1]}")' 2>/dev/null) || return 1
  [[ ",$2," == *",$have,"* ]]
}
env_install() {  # venv, interpreter, requirements
  [ -x "$1/bin/python" ] || "$2" -m venv "$1" || return 1
  "$1/bin/python" -m pip install --quiet --disable-pip-version-check -r "$(for_device "$3")"
}
framework_env() {  # framework, venv, versions, requirements, fallback requirements
  local name=$1 venv=$2 versions=$3 requirements=$4 fallback=$5 candidate
  if [ -z "$versions" ]; then
    env_install "$venv" "$PYTHON" "$requirements"
    return
  fi
  if [ -x "$venv/bin/python" ] && python_is "$venv/bin/python" "$versions"; then
    env_install "$venv" "$venv/bin/python" "$requirements" && return
  fi
  for candidate in $(pythons_for "$versions"); do
    python_is "$candidate" "$versions" || continue
    rm -rf "$venv"
    echo "$name: trying $("$candidate" -V 2>&1) ($candidate)"
    env_install "$venv" "$candidate" "$requirements" && return
    echo "$name: $requirements does not install on $candidate; trying an older Python"
  done
  [ -n "$fallback" ] || { echo "$name: none of Python $versions found"; return 1; }
  "$venv/bin/python" -V >/dev/null 2>&1 || rm -rf "$venv"  # keeps a working fallback
  echo "$name: none of Python $versions found: falling back to $("$PYTHON" -V 2>&1) with" \
    "$fallback; its probe figures name the version they measured. Install a newer Python" \
    "and run ./setup.sh again to measure the current release."
  env_install "$venv" "$PYTHON" "$fallback"
}

step "main environment (.venv)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if [ -n "$GPU" ]; then
  echo "NVIDIA GPU found: installing the CUDA builds ($(for_device requirements/frameworks.txt))"
  # A CPU build left by an earlier run satisfies the same pins: remove it so the CUDA one lands.
  .venv/bin/python -m pip uninstall --quiet -y tensorflow-cpu 2>/dev/null || true
  if .venv/bin/python -c 'import sys, importlib.metadata as m; sys.exit("+cpu" not in m.version("torch"))' 2>/dev/null; then
    .venv/bin/python -m pip uninstall --quiet -y torch
  fi
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[ui,dev]' \
  -r "$(for_device requirements/frameworks.txt)"

# Byte-compile the project once: where PYTHONDONTWRITEBYTECODE is set (as on CI machines), Python
# would otherwise recompile every module of the advisor on each CLI start (~40 ms).
.venv/bin/python -m compileall -q advisor probes ui >/dev/null

# Every other environment the registry's frameworks declare (MXNet 1.9.1 needs numpy < 1.24; JAX
# 0.11+ needs Python >= 3.12): a framework whose environment fails is probed as missing.
while IFS='|' read -r name venv versions requirements fallback; do
  step "$name environment ($venv)"
  framework_env "$name" "$venv" "$versions" "$requirements" "$fallback" </dev/null \
    && "$venv/bin/python" -c 'import sys; print(f"{sys.argv[1]}: Python {sys.version.split()[0]} in {sys.prefix}")' "$name" \
    || echo "$name: set-up failed (see above); its probes will be recorded as missing"
  # The test suite's coverage follows the probe workers into this interpreter (pyproject.toml,
  # [tool.coverage.run]); the same release as .venv's, idle unless a measured run asks for it.
  [ ! -x "$venv/bin/python" ] || "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "coverage==$(.venv/bin/python -c 'import coverage; print(coverage.__version__)')" \
    || echo "$name: coverage not installed there; the coverage figure leaves its worker out"
done < <(.venv/bin/python -m advisor environments)

step "quick probes on this machine"
.venv/bin/python -m advisor probe --suite quick || echo "(some probes failed; the advice below says which)"

step "recommendation for $EXAMPLE"
.venv/bin/python -m advisor recommend --answers "$EXAMPLE"
