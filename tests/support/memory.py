"""Memory figures of this process and of others (Linux): for tests and benchmarks that bound memory."""

from __future__ import annotations

import resource
from pathlib import Path


def current_rss_mb() -> float:
    """Resident set size now, from /proc (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    """The highest resident set size this process has reached (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Start this process's peak RSS (ru_maxrss, VmHWM) over from its RSS now (Linux 4.0+), so that a later
    ``peak_rss_mb()`` measures from here rather than from whatever ran before; False where it is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def process_peak_rss_mb(pid: int) -> float | None:
    """Another process's peak RSS (VmHWM), or None once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None
