"""Real `vigil ingest` and `vigil detect` processes for fault tests, and the counts they end with.

A :class:`Scenario` provisions patients with oximeters, publishes their readings through the
real broker at QoS 1, and computes what a single process would find (a fresh engine over each
patient's readings in order: the reference). :meth:`Scenario.report` counts what the pipeline
stored and alerted against it: attempted / stored / scored, findings and alerts expected /
raised / doubled / lost.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import ClassVar

import psycopg

from tests import waiting
from tests.conftest import Harness
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.ingest import DevicePublisher
from vigil.storage.admin import DeviceCredentials
from vigil.stream import NatsConnection, StreamLayout
from vigil.streaming import LiveEngine


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 120.0) -> float:
    """Poll until ``predicate()``; returns the seconds it took."""
    start = time.monotonic()
    waiting.wait_for(predicate, what, timeout)
    return time.monotonic() - start


class VigilProcess:
    """`vigil ingest` or `vigil detect` as an OS process, so that it can die for real."""

    READY: ClassVar[dict[str, str]] = {
        "ingest": "subscribed to",
        "detect": "running: partitions",
        "api": "Vigil API on",
    }

    def __init__(self, kind: str, env: dict[str, str], log_dir: Path) -> None:
        self.kind, self.env, self.log_dir = kind, env, log_dir
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self.starts = 0

    def start(self, **extra_env: str) -> None:
        self.starts += 1
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vigil", self.kind],
            env={**self.env, **extra_env},
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        ready = threading.Event()
        proc, marker = self.proc, self.READY[self.kind]
        ordinal = self.env.get("VIGIL_DETECT_ORDINAL", self.env.get("VIGIL_MQTT_CLIENT_ID", ""))
        log = (self.log_dir / f"{self.kind}-{ordinal}-{self.starts}.log").open("w")

        def pump() -> None:
            assert proc.stderr is not None
            with proc.stderr, log:
                for line in proc.stderr:
                    log.write(line)
                    log.flush()
                    self.lines.append(line)
                    if marker in line:
                        ready.set()

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        if not ready.wait(60):
            self.stop()
            raise AssertionError(f"vigil {self.kind} never became ready:\n{''.join(self.lines)}")

    def wait_killed(self, timeout: float = 120) -> None:
        """Wait for the process to die at its fault point (SIGKILL, nothing else)."""
        assert self.proc is not None
        self.proc.wait(timeout)
        self._pump.join(10)
        assert self.proc.returncode == -signal.SIGKILL, (self.proc.returncode, self.lines[-5:])

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._pump.join(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self._pump.join(10)

    def said(self, text: str) -> int:
        return sum(text in line for line in self.lines)


@dataclass
class Pipeline:
    """Environment shared by the processes of one test: its database, broker user, stream."""

    harness: Harness
    nats_url: str
    tmp: Path
    database_url: str | None = None
    replicas: int = 1
    partitions: int = 4

    def __post_init__(self) -> None:
        self.stream_name = f"t{uuid.uuid4().hex[:10]}"
        self.layout = StreamLayout(name=self.stream_name, partitions=self.partitions)

    def env(self, **overrides: str) -> dict[str, str]:
        s = self.harness.settings()
        values = {
            **os.environ,
            "VIGIL_DATABASE_URL": self.database_url or self.harness.db_url,
            "VIGIL_MQTT_URL": s.mqtt_url or "",
            "VIGIL_MQTT_CLIENT_ID": s.mqtt_client_id,
            "VIGIL_MQTT_SHARED_GROUP": s.mqtt_shared_group or "",
            "VIGIL_NATS_URL": self.nats_url,
            "VIGIL_STREAM_NAME": self.stream_name,
            "VIGIL_STREAM_PARTITIONS": str(self.partitions),
            "VIGIL_STREAM_REPLICAS": str(self.replicas),
            "VIGIL_STATE_DIR": str(self.tmp / "state"),
            "VIGIL_INGEST_RETRY_MAX_S": "1",
            # Many batches, so that a fault point lands mid-burst.
            "VIGIL_INGEST_BATCH_MAX": "50",
            "VIGIL_DETECT_BATCH_MAX": "20",
        }
        values.pop("VIGIL_FAULT_POINT", None)
        return {**values, **overrides}

    def process(self, kind: str, **overrides: str) -> VigilProcess:
        return VigilProcess(kind, self.env(**overrides), self.tmp)

    def stream_messages(self) -> int:
        conn = NatsConnection(self.nats_url, name="check", layout=self.layout).open()
        try:

            async def count() -> int:
                return int((await conn.js.stream_info(self.layout.stream)).state.messages)

            return conn.call(count, timeout_s=10)
        finally:
            conn.close()

    def detection_done(self, *, messages: int) -> bool:
        """The stream holds ``messages`` messages, and every one was delivered to the detect
        workers (whichever held its partition) and acknowledged."""
        from vigil.stream import PinnedPartitions

        conn = NatsConnection(self.nats_url, name="check", layout=self.layout).open()
        try:

            async def count() -> int:
                return int((await conn.js.stream_info(self.layout.stream)).state.messages)

            if conn.call(count, timeout_s=10) != messages:
                return False
            return all(s.lag == 0 for s in PinnedPartitions(conn).states())
        except Exception:
            return False
        finally:
            conn.close()


def reading_value(p: int, i: int) -> float:
    """Patient ``p``'s ``i``-th SpO2: every fourth one low."""
    return 80.0 + (i % 5) if (i + p) % 4 == 0 else 95.0 + (i % 3)


def reading_time(t0: datetime, i: int) -> datetime:
    return t0 + timedelta(minutes=10 * i)


def connected(port: int, device_id: str, password: str) -> DevicePublisher:
    """A connected publisher; the broker may still be reloading its password file (it does so
    asynchronously after a sync), so a refusal or a slow answer is tried again for a while."""
    deadline = time.monotonic() + 60
    while True:
        pub = DevicePublisher("127.0.0.1", port, device_id, password)
        try:
            pub.connect()
            return pub
        except ConnectionError:
            pub.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def publish_waves(
    port: int,
    devices: list[tuple[str, str]],
    t0_iso: str,
    per_patient: int,
    wave: int,
    out: Connection,
) -> None:
    """Child process: each device publishes its readings in time order, ``wave`` at a time."""
    t0 = datetime.fromisoformat(t0_iso)
    sent = 0
    try:
        for first in range(0, len(devices), wave):
            pubs = [connected(port, d, pw) for d, pw in devices[first : first + wave]]
            infos = []
            for i in range(per_patient):
                for p, pub in enumerate(pubs, start=first):
                    reading = {
                        "ts": reading_time(t0, i).isoformat(),
                        "metric": "spo2",
                        "value": reading_value(p, i),
                        "unit": "%",
                    }
                    infos.append(pub.publish(json.dumps({"readings": [reading]}).encode()))
            for info in infos:
                info.wait_for_publish(120)
                sent += 1
            for pub in pubs:
                pub.close()
        out.send(("ok", sent))
    except BaseException as exc:
        out.send(("error", f"after {sent} PUBACKed: {exc!r}"))


def enrol(harness: Harness, count: int) -> list[tuple[uuid.UUID, DeviceCredentials]]:
    """``count`` patients with an oximeter each, provisioned in one transaction."""
    from vigil.storage import admin

    fleet = []
    with psycopg.connect(harness.db_url) as conn:
        for i in range(count):
            fleet.append(
                admin.enrol_with_device(
                    conn, tenant_id=harness.tenant_id, display_name=f"Patient {i}", kind="oximeter"
                )
            )
    harness.sync()
    return fleet


class Scenario:
    """``patients`` oximeter users, ``per_patient`` readings each, every fourth one low."""

    def __init__(
        self, harness: Harness, *, patients: int, per_patient: int, wave: int = 50
    ) -> None:
        self.harness = harness
        self.fleet = enrol(harness, patients)
        self.wave = wave
        """Devices connected at once while publishing."""
        self.per_patient = per_patient
        self.t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        self.published = 0
        self.done = threading.Event()
        self.error: BaseException | None = None

    def value(self, p: int, i: int) -> float:
        return reading_value(p, i)

    def time(self, i: int) -> datetime:
        return reading_time(self.t0, i)

    @property
    def attempted(self) -> int:
        return len(self.fleet) * self.per_patient

    def expected(self) -> Counter[tuple[uuid.UUID, str]]:
        """What one process finds scoring each patient's readings in order, one per message."""
        engine = LiveEngine(self.harness.db_url, restore_days=0)
        found: Counter[tuple[uuid.UUID, str]] = Counter()
        for p, (patient, creds) in enumerate(self.fleet):
            for i in range(self.per_patient):
                r = StoredReading(
                    self.time(i), patient, Metric.SPO2, self.value(p, i), creds.device_id, self.t0
                )
                for f in engine.process([r]):
                    found[(patient, f.cause)] += 1
        engine.close()
        return found

    def publish(self, *, background: bool = True) -> None:
        """Publish every reading from a process of its own (the devices' paho threads then
        never compete with this one's), each device at QoS 1, ``wave`` devices at a time."""
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=publish_waves,
            args=(
                self.harness.broker.port,
                [(c.device_id, c.password) for _, c in self.fleet],
                self.t0.isoformat(),
                self.per_patient,
                self.wave,
                child,
            ),
        )
        proc.start()

        def wait() -> None:
            try:
                kind, what = parent.recv()
                if kind == "ok":
                    self.published = int(what)
                else:
                    self.error = AssertionError(what)
            except EOFError:
                self.error = AssertionError("the publisher process died")
            finally:
                proc.join(10)
                self.done.set()

        if background:
            threading.Thread(target=wait, daemon=True).start()
        else:
            wait()

    def stored(self) -> int:
        if self.error is not None:
            raise AssertionError(f"the publisher failed: {self.error!r}")
        return self.harness.count(
            "SELECT count(*) FROM readings WHERE device_id = ANY(%s)",
            [c.device_id for _, c in self.fleet],
        )

    def findings_applied(self) -> int:
        return self.harness.count("SELECT coalesce(sum(finding_count), 0) FROM alerts")

    def report(self, name: str, *, recovery_s: float | None = None) -> dict[str, int]:
        assert self.done.wait(120), "publisher did not finish"
        assert self.error is None, self.error
        expected = self.expected()
        with psycopg.connect(self.harness.db_url) as conn:
            rows = conn.execute(
                "SELECT patient_id, cause, count(*), sum(finding_count) FROM alerts"
                " GROUP BY patient_id, cause"
            ).fetchall()
            distinct = conn.execute(
                "SELECT count(DISTINCT (device_id, metric, time)), count(*) FROM readings"
            ).fetchone()
        assert distinct is not None
        raised = {(r[0], str(r[1])): (int(r[2]), int(r[3])) for r in rows}  # type: ignore[call-overload]
        figures = {
            "attempted": self.attempted,
            "stored": int(distinct[0]),  # type: ignore[call-overload]
            "stored_twice": int(distinct[1]) - int(distinct[0]),  # type: ignore[call-overload]
            "findings_expected": sum(expected.values()),
            "findings_applied": sum(n for _, n in raised.values()),
            "alerts_expected": len(expected),
            "alerts_raised": len(raised),
            "alerts_doubled": sum(c - 1 for c, _ in raised.values() if c > 1),
            "findings_lost": sum(max(0, n - raised.get(k, (0, 0))[1]) for k, n in expected.items()),
            "findings_doubled": sum(max(0, n - expected.get(k, 0)) for k, (_, n) in raised.items()),
        }
        tail = f" recovery={recovery_s:.1f}s" if recovery_s is not None else ""
        print(f"\n{name}: " + " ".join(f"{k}={v}" for k, v in figures.items()) + tail)
        return figures

    def assert_nothing_lost_or_doubled(self, figures: dict[str, int]) -> None:
        assert figures["stored"] == figures["attempted"]
        assert figures["stored_twice"] == 0
        assert figures["alerts_raised"] == figures["alerts_expected"] > 0
        assert figures["alerts_doubled"] == 0
        assert figures["findings_applied"] == figures["findings_expected"]
        assert figures["findings_lost"] == figures["findings_doubled"] == 0


@dataclass
class StreamReference:
    findings: Counter[tuple[uuid.UUID, str]]
    """What a single process finds over the stream as it is."""
    last_seq: dict[int, int]
    """Per partition, the stream sequence of its last message (what scoring it must reach)."""


def stream_reference(pipeline: Pipeline, messages: int) -> StreamReference:
    """What a single process finds over the stream as it is: every message, in stream order,
    through one fresh engine (the single-process run a partitioned one must equal)."""
    from vigil.stream import PartitionConsumer

    conn = NatsConnection(pipeline.nats_url, name="reference", layout=pipeline.layout).open()
    engine = LiveEngine(pipeline.harness.db_url, restore_days=0)
    found: Counter[tuple[uuid.UUID, str]] = Counter()
    last_seq: dict[int, int] = {}
    try:
        reader = PartitionConsumer(
            conn, name=f"reference-{uuid.uuid4().hex[:6]}", partitions=range(pipeline.partitions)
        )
        reader.open(since=None)
        seen = 0
        deadline = time.monotonic() + 120
        while seen < messages and time.monotonic() < deadline:
            for m in reader.fetch(max_messages=1000):
                for f in engine.process(m.readings):
                    found[(f.patient_id, f.cause)] += 1  # type: ignore[index]
                last_seq[m.partition] = max(last_seq.get(m.partition, 0), m.seq)
                seen += 1
        assert seen == messages, f"read {seen} of {messages} stream messages"
    finally:
        engine.close()
        conn.close()
    return StreamReference(found, last_seq)


def progress_by_partition(pipeline: Pipeline) -> dict[int, int]:
    """What detection recorded as applied, per partition of the pipeline's stream."""
    with psycopg.connect(pipeline.harness.db_url) as conn:
        rows = conn.execute(
            "SELECT partition, last_seq FROM detect_progress WHERE stream = %s",
            (pipeline.layout.stream,),
        ).fetchall()
    return {int(p): int(s) for p, s in rows}  # type: ignore[call-overload]


def scored_like_one_process(pipeline: Pipeline, reference: StreamReference, messages: int) -> bool:
    """Every partition scored to its last message, every message acknowledged, and the findings
    equal to a single process's over the stream, finding for finding."""
    return (
        findings_by_alert(pipeline.harness) == reference.findings
        and progress_by_partition(pipeline) == reference.last_seq
        and pipeline.detection_done(messages=messages)
    )


def findings_by_alert(harness: Harness) -> Counter[tuple[uuid.UUID, str]]:
    with psycopg.connect(harness.db_url) as conn:
        rows = conn.execute(
            "SELECT patient_id, cause, sum(finding_count) FROM alerts GROUP BY patient_id, cause"
        ).fetchall()
    return Counter({(r[0], str(r[1])): int(r[2]) for r in rows})  # type: ignore[call-overload,misc]
