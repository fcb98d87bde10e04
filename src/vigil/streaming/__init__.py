"""Streaming: online detectors per patient, explained (readings -> findings)."""

from vigil.streaming.base import Detector, Observation
from vigil.streaming.engine import StreamEngine, default_detectors
from vigil.streaming.live import LiveEngine
from vigil.streaming.replay import replay
from vigil.streaming.repo import load_care_plan


def build_engine(database_url: str) -> LiveEngine:
    """The engine `vigil serve` runs: plans from the database, state rebuilt from history."""
    return LiveEngine(database_url)


__all__ = [
    "Detector",
    "LiveEngine",
    "Observation",
    "StreamEngine",
    "build_engine",
    "default_detectors",
    "load_care_plan",
    "replay",
]
