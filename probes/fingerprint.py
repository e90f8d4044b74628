"""What machine a figure was measured on, and a stable id for it.

The id hashes hardware only (CPU model and cores, memory, GPUs, OS family and architecture), so
upgrading a framework or Python keeps a machine's history together while a different box does not
mix with it. Versions travel with every record separately. Standard library only: the MXNet
interpreter has nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any

HARDWARE_KEYS = ("cpu_model", "physical_cores", "logical_cpus", "memory_gb", "gpus", "os", "arch")


def _run(command: list[str]) -> str:
    """A quick helper command's output ("" if it fails); subprocess is imported only if needed."""
    import subprocess

    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _cpu_model() -> str:
    try:
        for line in (
            Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
        ):
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if platform.system() == "Darwin":
        brand = _run(["sysctl", "-n", "machdep.cpu.brand_string"]).strip()
        if brand:
            return brand
    return platform.processor() or platform.machine() or "unknown CPU"


def _physical_cores() -> int | None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    cores = set()
    physical = core = ""
    for line in [*text.splitlines(), ""]:
        if line.startswith("physical id"):
            physical = line.split(":", 1)[1].strip()
        elif line.startswith("core id"):
            core = line.split(":", 1)[1].strip()
        elif not line.strip() and core:
            cores.add((physical, core))
            physical = core = ""
    return len(cores) or None


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        return None


def nvidia_gpus() -> list[dict[str, Any]]:
    """NVIDIA GPUs by name and memory, from nvidia-smi when it is there (quickly, or none)."""
    import shutil

    if shutil.which("nvidia-smi") is None:
        return []
    out = _run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"])
    gpus = []
    for line in out.splitlines():
        name, _, memory = line.partition(",")
        if name.strip():
            try:
                gpus.append({"name": name.strip(), "memory_gb": round(float(memory) / 1024, 1)})
            except ValueError:
                gpus.append({"name": name.strip(), "memory_gb": None})
    return gpus


BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def _boot_id() -> str | None:
    """This boot of this machine (Linux only), so cached hardware facts expire at a reboot."""
    try:
        return BOOT_ID.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def _gpus(cache: Path | None, refresh: bool) -> list[dict[str, Any]]:
    """The GPUs, from `cache` when it was written during this boot.

    nvidia-smi takes tens of milliseconds, and far more while the driver wakes idle GPUs; the
    recommend path needs the machine id on every run, so it asks once per boot. A probe run
    refreshes the answer. Where there is no boot id (not Linux), nvidia-smi is asked every time.
    """
    boot = _boot_id() if cache is not None else None
    if cache is None or boot is None:
        return nvidia_gpus()
    if not refresh:
        try:
            saved = json.loads(cache.read_text(encoding="utf-8"))
            if saved["boot_id"] == boot and isinstance(saved["gpus"], list):
                return list(saved["gpus"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    gpus = nvidia_gpus()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps({"boot_id": boot, "gpus": gpus}), encoding="utf-8")
        os.replace(partial, cache)
    except OSError:
        pass
    return gpus


def machine_fingerprint(gpu_cache: Path | None = None, refresh: bool = False) -> dict[str, Any]:
    """The hardware and software of this machine as one flat, JSON-ready dict.

    `gpu_cache` names a file that keeps the GPU list for the rest of this boot (see `_gpus`);
    `refresh` asks again and rewrites it.
    """
    return {
        "cpu_model": _cpu_model(),
        "physical_cores": _physical_cores(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": _memory_gb(),
        "gpus": _gpus(gpu_cache, refresh),
        "os": platform.system(),
        "os_release": platform.release(),
        "arch": platform.machine(),
        "python": platform.python_version(),
    }


def machine_id(fingerprint: dict[str, Any]) -> str:
    """A short, stable id from the hardware fields of a fingerprint."""
    hardware = {key: fingerprint.get(key) for key in HARDWARE_KEYS}
    digest = hashlib.sha256(json.dumps(hardware, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:12]
