"""A small per-process cache of bearer tokens already checked against the database.

Each request would otherwise spend a round trip looking its token up. An entry lives
``ttl_s`` seconds (and never past the token's own expiry); signing out drops it at once in
this process, and other API processes stop accepting a revoked token within ``ttl_s``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from vigil.api.access import Principal


class TokenCache:
    def __init__(self, *, ttl_s: float = 10.0, size: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._entries: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: bytes) -> Principal | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._entries[digest]
                return None
            return entry[1]

    def put(self, digest: bytes, principal: Principal, *, expires_in_s: float) -> None:
        until = time.monotonic() + min(self.ttl_s, max(expires_in_s, 0.0))
        with self._lock:
            self._entries[digest] = (until, principal)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def drop(self, digest: bytes) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def drop_user(self, user_id: object) -> None:
        """Forget every token of a user (disabled, or their role changed) in this process."""
        with self._lock:
            for digest in [d for d, (_, p) in self._entries.items() if p.user_id == user_id]:
                del self._entries[digest]
