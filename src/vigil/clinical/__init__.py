"""Vigil's clinical vocabulary: one home for what every stage says about a patient.

Metrics and units (defined with the device payload contract in :mod:`vigil.core.metrics` and
re-exported here), conditions, care-plan defaults and how a stored plan is laid over them,
findings and severities. Detection, alerts, coaching, the API, reports, FHIR and evaluation
read these from here and never restate them.
"""

from vigil.clinical.careplan import CarePlan, InsulinSettings, Limits
from vigil.clinical.findings import Explanation, Finding, Severity
from vigil.core.conditions import Condition, parse_conditions
from vigil.core.metrics import BLOOD_PRESSURE, SPECS, Metric, MetricSpec, to_canonical

__all__ = [
    "BLOOD_PRESSURE",
    "SPECS",
    "CarePlan",
    "Condition",
    "Explanation",
    "Finding",
    "InsulinSettings",
    "Limits",
    "Metric",
    "MetricSpec",
    "Severity",
    "parse_conditions",
    "to_canonical",
]
