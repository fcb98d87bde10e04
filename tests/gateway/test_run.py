"""`vigil gateway run` against bumble-simulated devices, through the real broker and ingest:
every stored record reaches Vigil's readings once, including after a SIGKILL mid-upload."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from tests.api.conftest import LiveServer, Tenant, _user, make_app
from tests.conftest import Harness
from tests.proxy import TcpProxy
from tests.waiting import wait_for
from vigil.api import Role
from vigil.api import repo as api_repo
from vigil.gateway.characteristics import decode
from vigil.gateway.config import GatewayConfig
from vigil.gateway.decode_vitals import BLOOD_PRESSURE_MEASUREMENT
from vigil.gateway.demo import demo_config
from vigil.gateway.queue import DiskQueue
from vigil.gateway.simulated import cuff_records, meter_records
from vigil.gateway.thread import GatewayThread
from vigil.ingest import Ingest
from vigil.storage.admin import DeviceCredentials

START = "2026-11-20T07:00:00"  # the devices' first stored record, on their (Seoul) clocks
CUFF = "F1:00:00:00:00:01"
METER = "F1:00:00:00:00:02"


@pytest.fixture
def ingest(harness: Harness) -> Iterator[Ingest]:
    running = Ingest(harness.settings(), database_url=harness.db_url, mqtt=harness.ingest_target)
    running.start()
    assert running.transport.subscribed.wait(10), "ingest never subscribed"
    yield running
    running.stop()


def config(harness: Harness, tmp_path: Path, devices: list[dict[str, object]]) -> dict[str, object]:
    return {
        "mqtt_url": f"mqtt://127.0.0.1:{harness.broker.port}",
        "queue_path": str(tmp_path / "queue.sqlite3"),
        "timezone": "Asia/Seoul",
        "transport": "simulated",
        "reconnect_s": 0.5,
        "devices": devices,
    }


def cuff_device(creds: DeviceCredentials, simulate: dict[str, object]) -> dict[str, object]:
    return {
        "address": CUFF,
        "kind": "blood_pressure",
        "device_id": creds.device_id,
        "password": creds.password,
        "simulate": simulate,
    }


def measurements(harness: Harness, device_id: str, metric: str) -> tuple[int, int]:
    """(rows, distinct times) of one metric from one device."""
    rows = harness.count(
        "SELECT count(*) FROM readings WHERE device_id = %s AND metric = %s", device_id, metric
    )
    distinct = harness.count(
        "SELECT count(DISTINCT time) FROM readings WHERE device_id = %s AND metric = %s",
        device_id,
        metric,
    )
    return rows, distinct


class InProcessGateway(GatewayThread):
    """The gateway's loop in a thread of the test (its devices on the same virtual link)."""

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        assert self.error is None, self.error


def test_a_cuff_and_a_meter_deliver_every_stored_record(
    harness: Harness, ingest: Ingest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cuff_patient, cuff = harness.patient_with_device(kind="bp_cuff", conditions=["hypertension"])
    _, meter = harness.patient_with_device(kind="glucometer", conditions=["t2d"])
    sim = {"records": 12, "start": START, "every_min": 240}
    cfg = GatewayConfig.model_validate(
        config(
            harness,
            tmp_path,
            [
                cuff_device(cuff, sim),
                {
                    "address": METER,
                    "kind": "glucose",
                    "device_id": meter.device_id,
                    "password": meter.password,
                    "simulate": {**sim, "records": 9},
                },
            ],
        )
    )
    cuff_sim, meter_sim = (d.simulate for d in cfg.devices)
    assert cuff_sim is not None
    assert meter_sim is not None
    carbs = sum(1 for _, _, context in meter_records(meter_sim) if context)
    assert len(cuff_records(cuff_sim)) == 12
    with InProcessGateway(cfg):
        wait_for(
            lambda: measurements(harness, cuff.device_id, "bp_systolic")[1] == 12,
            "the cuff's 12 records stored",
        )
        wait_for(
            lambda: measurements(harness, meter.device_id, "glucose")[1] == 9,
            "the meter's 9 records stored",
        )
        wait_for(
            lambda: measurements(harness, meter.device_id, "carbs")[1] == carbs,
            "the meter's carbohydrate contexts stored",
        )
    assert measurements(harness, cuff.device_id, "bp_systolic") == (12, 12)
    assert measurements(harness, cuff.device_id, "bp_diastolic") == (12, 12)
    assert measurements(harness, cuff.device_id, "heart_rate") == (12, 12)
    assert measurements(harness, meter.device_id, "glucose") == (9, 9)
    # The device clock's 07:00 in Seoul is 22:00 UTC the day before.
    assert harness.count(
        "SELECT (min(time) = '2026-11-19T22:00:00Z')::int FROM readings WHERE device_id = %s",
        cuff.device_id,
    )
    assert (
        harness.count(
            "SELECT count(*) FROM rejected_messages WHERE device_id = ANY(%s)",
            [cuff.device_id, meter.device_id],
        )
        == 0
    )
    queued, delivered = DiskQueue(cfg.queue_path).counts()
    assert (queued, delivered) == (0, 12 + 9 + carbs)
    # Started again, the gateway asks the meter only for records after the last one kept
    # (sequence 9), and the meter has none; nothing new is queued or stored.
    caplog.set_level(logging.INFO, logger="vigil.gateway.service")
    with InProcessGateway(cfg):
        wait_for(
            lambda: f"device {meter.device_id}: stored records: no records found" in caplog.text,
            "the meter answering that it has no records after sequence 9",
        )
    assert DiskQueue(cfg.queue_path).counts() == (0, 12 + 9 + carbs)
    assert measurements(harness, meter.device_id, "glucose") == (9, 9)
    # ... and the dashboard's API shows them to the patient's care team, to nobody else.
    expected = sorted(
        (r.ts.astimezone(UTC), float(r.components["systolic"]))
        for value in cuff_records(cuff_sim)
        for r in decode(BLOOD_PRESSURE_MEASUREMENT, value, ZoneInfo("Asia/Seoul")).readings
        if r.ts is not None
    )
    assert len(expected) == 12
    assert api_systolic(harness, cuff_patient) == expected


def api_systolic(harness: Harness, patient: uuid.UUID) -> list[tuple[datetime, float]]:
    tenant = Tenant(harness.tenant_id, uuid.uuid4(), patient, patient)
    with psycopg.connect(harness.db_url, autocommit=True) as conn:
        tenant.team = api_repo.create_team(conn, tenant_id=tenant.id, name="Hypertension")
        _user(conn, tenant, "nurse", Role.CLINICIAN)
        _user(conn, tenant, "outsider", Role.CLINICIAN)
        api_repo.add_member(
            conn, team_id=tenant.team, user_id=tenant.users["nurse"], tenant_id=tenant.id
        )
        api_repo.add_team_patient(
            conn, team_id=tenant.team, patient_id=patient, tenant_id=tenant.id
        )
    params = {
        "metric": "bp_systolic",
        "start": "2026-11-19T00:00:00Z",
        "end": "2026-11-23T00:00:00Z",
    }
    with LiveServer(make_app(harness.db_url)) as url, httpx.Client(base_url=url) as client:
        path = f"/api/v1/patients/{patient}/readings"
        outsider = client.get(
            path, params=params, headers={"Authorization": f"Bearer {tenant.tokens['outsider']}"}
        )
        assert outsider.status_code == 404
        answer = client.get(
            path, params=params, headers={"Authorization": f"Bearer {tenant.tokens['nurse']}"}
        )
    assert answer.status_code == 200, answer.text
    return sorted((datetime.fromisoformat(r["time"]), r["value"]) for r in answer.json())


class GatewayProcess:
    """`vigil gateway run` as an OS process, so that it can be killed with SIGKILL."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.args = [sys.executable, "-m", "vigil", "gateway", "run", "--config", str(config_path)]
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)

    def signal(self, sig: signal.Signals) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(30)


@pytest.mark.parametrize("broker_cut", [False, True], ids=["connected", "broker-unreachable"])
def test_kill_9_mid_upload_then_restart_delivers_every_record_once(
    harness: Harness, ingest: Ingest, tmp_path: Path, broker_cut: bool
) -> None:
    """Killed while the cuff is still sending; in the second case also while the broker is out
    of reach, so that readings wait in the disk queue, unacknowledged, when the kill comes."""
    records = 300
    proxy = TcpProxy("127.0.0.1", harness.broker.port)
    _, cuff = harness.patient_with_device(kind="bp_cuff", conditions=["hypertension"])
    cfg = config(
        harness,
        tmp_path,
        # a record every 10 ms: the upload takes seconds, so the kill lands inside it
        [
            cuff_device(
                cuff, {"records": records, "start": START, "every_min": 30, "interval_ms": 10}
            )
        ],
    )
    cfg["mqtt_url"] = f"mqtt://127.0.0.1:{proxy.port}"
    queue_path = Path(str(cfg["queue_path"]))
    config_path = tmp_path / "gateway.json"
    config_path.write_text(json.dumps(cfg))
    gateway = GatewayProcess(config_path, tmp_path / "gateway.log")

    def stored() -> int:
        return measurements(harness, cuff.device_id, "bp_systolic")[1]

    gateway.start()
    wait_for(lambda: stored() >= 40, "the upload under way")
    if broker_cut:
        proxy.cut()
        wait_for(lambda: DiskQueue(queue_path).counts()[0] >= 20, "readings waiting in the queue")
    assert gateway.signal(signal.SIGKILL) == -signal.SIGKILL
    proxy.restore()
    stored_at_kill = stored()
    queued_at_kill, acked_at_kill = DiskQueue(queue_path).counts()
    assert stored_at_kill < records, "the kill came after the upload: not mid-upload"
    assert acked_at_kill < records
    if broker_cut:
        assert queued_at_kill >= 20

    gateway.start()
    wait_for(lambda: stored() == records, f"all {records} records stored after the restart", 120)
    assert gateway.signal(signal.SIGTERM) == 0

    proxy.close()
    queued, acknowledged = DiskQueue(queue_path).counts()
    rows, distinct = measurements(harness, cuff.device_id, "bp_systolic")
    lost, doubled = records - distinct, rows - distinct
    print(
        f"\ngateway kill -9 ({'broker unreachable' if broker_cut else 'connected'}):"
        f" attempted={records} acknowledged={acknowledged} stored={distinct}"
        f" lost={lost} doubled={doubled} (at the kill: stored={stored_at_kill}"
        f" acknowledged={acked_at_kill} queued={queued_at_kill})"
    )
    assert (acknowledged, queued) == (records, 0)
    assert (lost, doubled) == (0, 0)
    for metric in ("bp_diastolic", "heart_rate"):
        assert measurements(harness, cuff.device_id, metric) == (records, records)
    assert (
        harness.count("SELECT count(*) FROM rejected_messages WHERE device_id = %s", cuff.device_id)
        == 0
    )


def test_another_devices_password_is_refused_and_the_readings_wait_on_disk(
    harness: Harness, ingest: Ingest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway configured with one device's id and another's password publishes nothing
    (the broker refuses it); the readings stay queued and go once the config is right."""
    _, cuff = harness.patient_with_device(kind="bp_cuff", conditions=["hypertension"])
    _, other = harness.patient_with_device(kind="bp_cuff", conditions=["hypertension"])
    device = cuff_device(cuff, {"records": 5, "start": START})
    wrong = GatewayConfig.model_validate(
        config(harness, tmp_path, [{**device, "password": other.password}])
    )
    caplog.set_level(logging.WARNING, logger="vigil.gateway.publisher")
    with InProcessGateway(wrong):
        wait_for(lambda: DiskQueue(wrong.queue_path).counts() == (5, 0), "5 readings queued")
        wait_for(
            lambda: f"device {cuff.device_id}: broker refused the connection" in caplog.text,
            "the broker refusing the wrong password",
        )
    assert (
        harness.count(
            "SELECT count(*) FROM readings WHERE device_id = ANY(%s)",
            [cuff.device_id, other.device_id],
        )
        == 0
    )
    right = GatewayConfig.model_validate(
        config(harness, tmp_path, [{**device, "password": cuff.password}])
    )
    with InProcessGateway(right):
        wait_for(
            lambda: measurements(harness, cuff.device_id, "bp_systolic") == (5, 5),
            "the queued readings delivered with the right password",
        )
        wait_for(lambda: DiskQueue(right.queue_path).counts() == (0, 5), "the queue emptied")
    assert harness.count("SELECT count(*) FROM readings WHERE device_id = %s", other.device_id) == 0


def test_the_demo_cuff_delivers_two_weeks_up_to_today(
    harness: Harness, ingest: Ingest, tmp_path: Path
) -> None:
    _, cuff = harness.patient_with_device(kind="bp_cuff", conditions=["hypertension"])
    cfg = demo_config(
        host="127.0.0.1",
        port=harness.broker.port,
        device_id=cuff.device_id,
        password=cuff.password,
        state_dir=tmp_path,
        days=14,
    )
    with InProcessGateway(cfg):
        wait_for(
            lambda: measurements(harness, cuff.device_id, "bp_systolic") == (28, 28),
            "the demo cuff's 28 measurements stored",
        )
    newest = harness.count(
        "SELECT extract(epoch FROM now() - max(time))::int FROM readings WHERE device_id = %s",
        cuff.device_id,
    )
    # The last one is yesterday's 19:00 on the cuff's (Seoul) clock: in the past, at most 36 h.
    assert 0 < newest <= 36 * 3600
