"""Simulated patients and devices with labelled clinical events (see docs/device_sim.md).

``generate`` is the whole run in memory (for ``vigil eval`` and tests); ``generate_to_folder``
streams it to the ``--to-file`` JSON Lines; ``generate_minimal_model`` is type 1 diabetes on
Bergman's minimal model, whose truth is simulated blood glucose; ``enrol`` and ``publish`` put
it on a broker the way real devices would, and ``expected_counts`` says what ingest should then
hold.
"""

from vigil.device_sim.generate import DEFAULT_START, generate
from vigil.device_sim.minimal_model import generate_minimal_model
from vigil.device_sim.models import SimOutput
from vigil.device_sim.output import generate_to_folder, write_run
from vigil.device_sim.publish import (
    AdminProvisioner,
    Enrolment,
    Provisioner,
    PublishReport,
    enrol,
    expected_counts,
    publish,
)
from vigil.device_sim.scenarios import SCENARIOS

__all__ = [
    "DEFAULT_START",
    "SCENARIOS",
    "AdminProvisioner",
    "Enrolment",
    "Provisioner",
    "PublishReport",
    "SimOutput",
    "enrol",
    "expected_counts",
    "generate",
    "generate_minimal_model",
    "generate_to_folder",
    "publish",
    "write_run",
]
