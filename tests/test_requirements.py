"""The CUDA requirement files install the same releases as the CPU ones they replace on a GPU
machine (setup.sh), so a figure measured on a GPU names the release a CPU figure names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[([^\]]*)\])?==([^\s;#]+)")
# The CPU-only distribution and the package that replaces it on a GPU machine.
CPU_ONLY = {"tensorflow-cpu": "tensorflow"}


def pins(path: Path) -> dict[str, tuple[str, str]]:
    """package -> (extras, version), following `-r` includes as pip does (relative to the file)."""
    found: dict[str, tuple[str, str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r"):
            found.update(pins(path.parent / line[2:].strip()))
        elif line:
            match = PIN.match(line)
            assert match, f"{path.name}: {line!r} is not pinned with =="
            name = match.group(1).lower()
            found[CPU_ONLY.get(name, name)] = (match.group(2) or "", match.group(3))
    return found


CUDA_FILES = sorted(REQUIREMENTS.glob("*-cuda.txt"))


def test_there_are_cuda_files_for_the_main_and_jax_environments() -> None:
    assert {p.name for p in CUDA_FILES} >= {"frameworks-cuda.txt", "jax-cuda.txt"}


@pytest.mark.parametrize("cuda", CUDA_FILES, ids=lambda p: p.name)
def test_a_cuda_file_pins_every_package_of_its_cpu_file_at_the_same_release(cuda: Path) -> None:
    cpu = pins(cuda.with_name(cuda.name.replace("-cuda", "")))
    gpu = pins(cuda)
    assert set(cpu) <= set(gpu), f"{cuda.name} lacks {sorted(set(cpu) - set(gpu))}"
    differ = {name: (cpu[name][1], gpu[name][1]) for name in cpu if cpu[name][1] != gpu[name][1]}
    assert not differ, f"{cuda.name} installs other releases than its CPU file: {differ}"
    assert any("cuda" in extras for extras, _ in gpu.values()) or "torch" in gpu, (
        f"{cuda.name} installs no CUDA build"
    )


def test_the_pin_reader_sees_a_changed_release(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("tensorflow-cpu==2.21.0\n")
    (tmp_path / "x-cuda.txt").write_text("-r x.txt\ntensorflow[and-cuda]==2.20.0  # older\n")
    assert pins(tmp_path / "x.txt") == {"tensorflow": ("", "2.21.0")}
    assert pins(tmp_path / "x-cuda.txt") == {"tensorflow": ("and-cuda", "2.20.0")}
