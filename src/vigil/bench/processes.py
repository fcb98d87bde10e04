"""The processes a bench path runs (``vigil ingest``, ``vigil detect``, the in-process baseline),
started with their configuration in the environment, ready when their log says so."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import deque
from pathlib import Path


class BenchProcess:
    def __init__(
        self, name: str, args: list[str], env: dict[str, str], *, ready: str, log_dir: Path
    ) -> None:
        self.name, self.args, self.env, self.marker = name, args, env, ready
        self.log_path = log_dir / f"{name}.log"
        self.tail: deque[str] = deque(maxlen=40)
        self._ready = threading.Event()
        self._proc: subprocess.Popen[str] | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> BenchProcess:
        self._proc = subprocess.Popen(
            [sys.executable, *self.args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._pump = threading.Thread(target=self._read, args=(self._proc,), daemon=True)
        self._pump.start()
        return self

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        with proc.stderr, self.log_path.open("w") as log:
            for line in proc.stderr:
                log.write(line)
                self.tail.append(line)
                if self.marker in line:
                    self._ready.set()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait_ready(self, timeout_s: float = 90) -> None:
        if not self._ready.wait(timeout_s):
            self.stop()
            raise RuntimeError(f"{self.name} never became ready:\n{''.join(self.tail)}")

    def terminate(self) -> None:
        """Ask the process to stop (SIGTERM); :meth:`stop` waits for it."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()

    def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if self._pump is not None:
            self._pump.join(10)
