"""Waiting for a condition in a test: poll it, never sleep and hope."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], what: str, timeout: float = 60.0) -> T:
    """Poll ``predicate()`` until it returns something true, and return that; fail the test
    with ``what`` if it has not within ``timeout`` seconds (generous: CI machines are busy)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)
