"""Memory figures of the current process from Linux /proc, shared by the benchmarks."""

from __future__ import annotations


def status_kib(field: str) -> int:
    """VmRSS or VmHWM of this process, KiB (-1 where /proc is missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for row in fh:
                if row.startswith(field + ":"):
                    return int(row.split()[1])
    except OSError:
        pass
    return -1


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the peak covers only what follows."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False
