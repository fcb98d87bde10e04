"""Sign-in throttling: failed attempts make the next ones wait, exponentially.

Three counters per failure: the account from this address, the address (whatever account),
and the account (whatever address). Each lets ``free`` failures through, then refuses any
attempt until ``base * 2**(failures - free)`` seconds (capped) after its last failure.
A success clears the account-from-this-address counter; counters are forgotten
``forget_after_s`` after their last failure. So a guesser from one address is refused within
a few tries; the real user, from another address, keeps signing in until an attack from
many addresses trips the account counter, whose delays are the same short, capped ones.

Kept per process (bounded), in memory: with *n* API processes a guesser gets at most *n*
times the free attempts before the delays apply.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

Key = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    free_per_account_address: int = 5
    free_per_address: int = 20
    free_per_account: int = 20
    base_delay_s: float = 1.0
    max_delay_s: float = 300.0
    forget_after_s: float = 900.0
    size: int = 100_000

    def delay_s(self, failures: int, free: int) -> float:
        """How long after its last failure a counter refuses attempts.

        >>> p = ThrottlePolicy()
        >>> [p.delay_s(n, 5) for n in (4, 5, 6, 8, 30)]
        [0.0, 1.0, 2.0, 8.0, 300.0]
        """
        if failures < free:
            return 0.0
        return min(self.base_delay_s * 2.0 ** min(failures - free, 64), self.max_delay_s)


@dataclass(slots=True)
class _Count:
    failures: int
    last: float


class SignInThrottle:
    def __init__(self, policy: ThrottlePolicy | None = None) -> None:
        self.policy = policy or ThrottlePolicy()
        self._counts: OrderedDict[Key, _Count] = OrderedDict()
        self._lock = threading.Lock()

    def _keys(self, account: str, address: str) -> tuple[tuple[Key, int], ...]:
        p = self.policy
        account = account.strip().lower()
        return (
            (("pair", account, address), p.free_per_account_address),
            (("address", "", address), p.free_per_address),
            (("account", account, ""), p.free_per_account),
        )

    def retry_after_s(self, *, account: str, address: str, now: float | None = None) -> int:
        """0 when an attempt may go ahead; else whole seconds to wait (for ``Retry-After``)."""
        now = time.monotonic() if now is None else now
        wait = 0.0
        with self._lock:
            for key, free in self._keys(account, address):
                count = self._live(key, now)
                if count is not None:
                    until = count.last + self.policy.delay_s(count.failures, free)
                    wait = max(wait, until - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, *, account: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key, _ in self._keys(account, address):
                count = self._live(key, now)
                if count is None:
                    count = self._counts[key] = _Count(0, now)
                count.failures += 1
                count.last = now
                self._counts.move_to_end(key)
            while len(self._counts) > self.policy.size:
                self._counts.popitem(last=False)

    def succeeded(self, *, account: str, address: str) -> None:
        with self._lock:
            self._counts.pop(self._keys(account, address)[0][0], None)

    def _live(self, key: Key, now: float) -> _Count | None:
        count = self._counts.get(key)
        if count is not None and now - count.last > self.policy.forget_after_s:
            del self._counts[key]
            return None
        return count
