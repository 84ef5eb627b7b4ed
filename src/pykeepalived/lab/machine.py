"""What a benchmark ran on: absolute figures mean little without the machine and its load."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import time


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def keepalived_version() -> str:
    """First line of ``keepalived --version`` (it prints to stderr), or "not installed"."""
    if shutil.which("keepalived") is None:
        return "not installed"
    p = subprocess.run(["keepalived", "--version"], capture_output=True, text=True)
    lines = (p.stderr or p.stdout).splitlines()
    return lines[0].strip() if lines else "?"


def machine() -> dict[str, str]:
    """Date, kernel, CPUs, Python, keepalived and the load averages right now."""
    m = re.search(r"^model name\s*:\s*(.*)$", _read("/proc/cpuinfo"), re.M)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "kernel": platform.release(),
        "cpus": f"{os.cpu_count()} x {m.group(1).strip() if m else '?'}",
        "python": platform.python_version(),
        "keepalived": keepalived_version(),
        "load": " ".join((_read("/proc/loadavg") or "? ? ?").split()[:3]),
    }


def machine_line() -> str:
    """``machine()`` on one line, for a benchmark's report."""
    return "; ".join(f"{k} {v}" for k, v in machine().items())
