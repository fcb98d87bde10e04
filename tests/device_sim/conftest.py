"""Simulator runs shared by the tests (generated once per session: they take about a second)."""

from __future__ import annotations

from datetime import datetime

import pytest

from vigil.device_sim import SimOutput, generate


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="session")
def standard() -> SimOutput:
    return generate("standard", patients=80, days=21, seed=11)


@pytest.fixture(scope="session")
def stress() -> SimOutput:
    return generate("stress", patients=30, days=10, seed=5)
