"""The one background-loop shape: a failing step is counted and backed off, never fatal; a
retried action gives up only when the worker is stopped."""

from __future__ import annotations

import doctest
import threading

import pytest
from prometheus_client import REGISTRY

from vigil.core import worker as worker_module
from vigil.core.worker import Backoff, Stopped, Worker


def test_doctests() -> None:
    assert doctest.testmod(worker_module).failed == 0


class Flaky(Worker):
    """Fails its first ``failures`` steps, then counts successes."""

    def __init__(self, failures: int) -> None:
        super().__init__("test-flaky", backoff=Backoff(initial_s=0.001, max_s=0.004))
        self.failures = failures
        self.steps = 0
        self.dropped = 0
        self.closed = False
        self.done = threading.Event()

    def step(self) -> None:
        self.steps += 1
        if self.steps <= self.failures:
            raise RuntimeError(f"failure {self.steps}")
        self.done.set()
        self.wait(1.0)  # an idle step: stop ends it at once

    def after_error(self) -> None:
        self.dropped += 1

    def close(self) -> None:
        self.closed = True


def errors_metric(name: str) -> float:
    value = REGISTRY.get_sample_value("vigil_worker_errors_total", {"worker": name})
    return value or 0.0


def test_a_failing_step_is_counted_dropped_and_tried_again() -> None:
    before = errors_metric("test-flaky")
    w = Flaky(failures=3)
    w.start()
    try:
        assert w.done.wait(30), "the loop gave up after failures"
    finally:
        w.stop()
    assert (w.errors, w.dropped, w.closed) == (3, 3, True)
    assert errors_metric("test-flaky") - before == 3


def test_retry_runs_an_action_until_it_succeeds_and_stops_when_asked() -> None:
    w = Flaky(failures=0)
    attempts: list[int] = []
    seen: list[str] = []

    def action() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("away")
        return "stored"

    assert w.retry("storing failed", action, on_error=lambda e: seen.append(str(e))) == "stored"
    assert (len(attempts), seen, w.errors) == (3, ["away", "away"], 2)

    w.stop()  # stopped meanwhile (never started): the next failure gives up, nothing done
    with pytest.raises(Stopped):
        w.retry("storing failed", lambda: (_ for _ in ()).throw(ConnectionError("away")))
    with pytest.raises(ValueError, match="invalid literal"):  # not retried: raised at once
        w.retry("storing failed", lambda: int("x"), retry_on=(ConnectionError,))
