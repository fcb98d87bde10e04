"""Simulated patients and devices with labelled clinical events (see docs/device_sim.md)."""

from vigil.device_sim.generate import DEFAULT_START, generate
from vigil.device_sim.models import SimOutput
from vigil.device_sim.scenarios import SCENARIOS

__all__ = ["DEFAULT_START", "SCENARIOS", "SimOutput", "generate"]
