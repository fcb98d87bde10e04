"""``vigil gateway run``'s loop in a thread of a larger process (the demo, the benchmark)."""

from __future__ import annotations

import asyncio
import threading

from vigil.gateway.config import GatewayConfig
from vigil.gateway.service import run


class GatewayThread:
    """Runs from :meth:`start` until :meth:`stop` (or as a ``with`` block); ``error`` is what
    ended it otherwise."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.error: BaseException | None = None
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name="vigil-gateway", daemon=True)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(run(self.config, self._stop))
        except BaseException as exc:  # kept for the owner to see, never lost in a thread
            self.error = exc
        finally:
            self._loop.close()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(15)

    def __enter__(self) -> GatewayThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
