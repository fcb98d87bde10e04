"""Evaluation: detection quality measured the way a care team meets the alerts.

An instrument above the stages it measures: it runs the streaming detectors and groups their
findings with the alerts stage's own rule.
"""

from vigil.evaluation.scoring import (
    KIND_CAUSES,
    Assessment,
    EvalConfig,
    assess,
    evaluate,
    run_detectors,
    score,
)

__all__ = [
    "KIND_CAUSES",
    "Assessment",
    "EvalConfig",
    "assess",
    "evaluate",
    "run_detectors",
    "score",
]
