"""When this process started, on the ``time.monotonic()`` clock."""

from __future__ import annotations

import os
import time


def process_started_at() -> float:
    """``time.monotonic()`` at this process's start, so that a command's time budget also covers the
    interpreter's start and the imports (about a second, which a user who times the command sees).

    Read from ``/proc`` (Linux): Python's standard library does not expose a process's start time and psutil
    is not in our stack.  Elsewhere, or if ``/proc`` gives an implausible answer: now."""
    now = time.monotonic()
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        ticks = float(fields[19])  # field 22 of proc(5), ``starttime``: clock ticks after boot
        # the boot clock /proc counts from (not /proc/uptime, which some containers rewrite)
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, AttributeError):  # no /proc or CLOCK_BOOTTIME (macOS, Windows)
        return now
    return now - age if 0.0 <= age < 3600.0 else now
