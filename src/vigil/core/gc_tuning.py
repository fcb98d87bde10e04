"""The garbage collector of a long-running Vigil process, tuned once start-up is done."""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def tune_gc_for_serving() -> None:
    """Keep the garbage collector's pauses short in a serving process (call it once, when
    everything is started): what start-up built (modules, routes, schemas, the settings) moves
    out of its reach, and young objects are collected less often. A full collection over those
    objects (about 77,000 in a `vigil detect` process) took 80 ms on the loaded development
    machine; it stalled every request of an API process (`vigil bench api`) and, in ingest and
    detection, every reading in flight (`vigil bench pipeline`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)
