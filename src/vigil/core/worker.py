"""The one shape of a background loop: a thread with start and stop, one backoff policy, and an
error counter (``errors``, and ``vigil_worker_errors_total{worker=...}`` for Prometheus).

A worker's :meth:`Worker.step` is called until the worker is stopped, ``interval_s`` apart. A
step that raises is logged with the worker's name, counted, and followed by
:meth:`Worker.after_error` (drop a connection, rebuild state) and a wait that doubles from
``backoff.initial_s`` up to ``backoff.max_s``; the next step that succeeds resets it. Inside a
step, :meth:`Worker.retry` runs one action until it succeeds, with the same policy (a batch
kept unacknowledged while the database is away), and raises :class:`Stopped` if the worker is
stopped first.

>>> b = Backoff(initial_s=0.5, max_s=3.0)
>>> [b.after(d) for d in (0.5, 1.0, 2.0, 3.0)]
[1.0, 2.0, 3.0, 3.0]
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from prometheus_client import Counter

log = logging.getLogger(__name__)

T = TypeVar("T")

ERRORS = Counter(
    "vigil_worker_errors_total", "Failed steps and retried actions of background loops", ["worker"]
)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits after failures: ``initial_s``, doubling, at most ``max_s``."""

    initial_s: float = 0.2
    max_s: float = 10.0

    def after(self, delay_s: float) -> float:
        """The wait after one that lasted ``delay_s``."""
        return min(delay_s * 2, self.max_s)


class Stopped(Exception):
    """The worker was stopped while :meth:`Worker.retry` waited: nothing was done."""


class Worker:
    """A background thread calling :meth:`step` until stopped (see the module's docstring)."""

    def __init__(self, name: str, *, backoff: Backoff | None = None, interval_s: float = 0.0):
        self.name = name
        self.backoff = backoff or Backoff()
        self.interval_s = interval_s
        self.errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- to override -------------------------------------------------------------------------

    def step(self) -> None:
        raise NotImplementedError

    def after_error(self) -> None:
        """Called after a failed step or retried action, before the wait."""

    def close(self) -> None:
        """Called once the thread has ended (or did not end in time), by :meth:`stop`."""

    # -- life --------------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"vigil-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.close()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True as soon as the worker is stopped."""
        return self._stop.wait(seconds)

    def run(self) -> None:
        delay = self.backoff.initial_s
        while not self._stop.is_set():
            try:
                self.step()
            except Stopped:
                break
            except Exception:
                self.count_error()
                log.exception("%s: step failed; again in %.1f s", self.name, delay)
                self.after_error()
                self.wait(delay)
                delay = self.backoff.after(delay)
                continue
            delay = self.backoff.initial_s
            if self.interval_s:
                self.wait(self.interval_s)

    def count_error(self) -> None:
        self.errors += 1
        ERRORS.labels(self.name).inc()

    def retry(
        self,
        what: str | Callable[[], str],
        action: Callable[[], T],
        *,
        retry_on: tuple[type[BaseException], ...] = (Exception,),
        on_error: Callable[[BaseException], None] | None = None,
    ) -> T:
        """``action()`` until it succeeds, waiting by the backoff policy between attempts (each
        failure counted, logged as ``what`` (or what it returns, when it is called then) with the
        error's first line, then passed to ``on_error``);
        raises :class:`Stopped` if the worker is stopped while waiting."""
        delay = self.backoff.initial_s
        while True:
            try:
                return action()
            except retry_on as exc:
                self.count_error()
                label = what() if callable(what) else what
                log.warning(
                    "%s: %s (%s); retry in %.1f s",
                    self.name,
                    label,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                    delay,
                )
                if on_error is not None:
                    on_error(exc)
                if self.wait(delay):
                    raise Stopped(label) from exc
                delay = self.backoff.after(delay)
