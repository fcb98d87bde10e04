from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stream.pipeline import VigilProcess


@pytest.fixture
def processes() -> Iterator[list[VigilProcess]]:
    """Processes a test starts (append them): stopped after the test, whatever happened."""
    started: list[VigilProcess] = []
    yield started
    for p in started:
        p.stop()
