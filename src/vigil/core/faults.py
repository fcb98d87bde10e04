"""Named points where a fault test makes the process die at once (``kill -9`` of itself), or
hang there for good.

Off unless a process is started with ``VIGIL_FAULT_POINT`` set (tests only): then the process
SIGKILLs itself (or, at a point of ``HANG_POINTS``, blocks the thread for ever) the
``VIGIL_FAULT_SKIP + 1``-th time it reaches that point. Nothing else about the process changes,
so the test sees exactly what a crash or a hung thread at that instant leaves behind.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

log = logging.getLogger(__name__)

POINTS = frozenset(
    {
        "ingest_after_commit",  # readings committed, not yet published to the stream
        "ingest_after_publish",  # published and acknowledged by the stream, MQTT not acked
        "detect_after_findings",  # findings computed, alert transaction not committed
        "detect_after_commit",  # alert transaction committed, stream messages not acked
    }
)
HANG_POINTS = frozenset(
    {
        "stage_stop",  # a stage process's graceful stop, once signalled: hangs there
    }
)

_armed: str | None = None
_skip = 0


def arm(point: str | None, *, skip: int = 0) -> None:
    global _armed, _skip
    if point is not None and point not in POINTS | HANG_POINTS:
        known = sorted(POINTS | HANG_POINTS)
        raise ValueError(f"unknown fault point {point!r}; known: {known}")
    _armed, _skip = point, skip
    if point is not None:
        what = "hang" if point in HANG_POINTS else "kill itself"
        log.warning(
            "fault point %s armed (after %d passes): this process will %s", point, skip, what
        )


def reached(point: str) -> None:
    global _skip
    if _armed != point:
        return
    if _skip > 0:
        _skip -= 1
        return
    if point in HANG_POINTS:
        log.warning("fault point %s reached: hanging here", point)
        threading.Event().wait()
    log.warning("fault point %s reached: killing this process", point)
    os.kill(os.getpid(), signal.SIGKILL)
