"""Enrolment through the Provisioner protocol, pacing, wire bytes, and the CLI's file mode."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID, uuid4

from typer.testing import CliRunner

from vigil.core import parse_payload
from vigil.device_sim import SimOutput, generate
from vigil.device_sim.publish import enrol, expected_counts, message_bytes, wall_offsets


@dataclass(frozen=True)
class _Creds:
    device_id: str
    password: str
    topic: str


class _Ledger:
    """Records the administrator calls in order (the real ones are tested with the database)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, object]]] = []

    def create_tenant(self, *, name: str) -> UUID:
        self.calls.append(("create_tenant", {"name": name}))
        return uuid4()

    def create_patient(self, *, tenant_id: UUID, display_name: str, conditions: list[str]) -> UUID:
        self.calls.append(("create_patient", {"name": display_name, "conditions": conditions}))
        return uuid4()

    def provision_device(self, *, tenant_id: UUID, device_id: str | None, kind: str) -> _Creds:
        assert device_id is not None
        self.calls.append(("provision_device", {"device_id": device_id, "kind": kind}))
        return _Creds(device_id, "pw", f"vigil/v1/devices/{device_id}/readings")

    def assign_device(self, *, device_id: str, patient_id: UUID, valid_from: datetime) -> None:
        self.calls.append(("assign_device", {"device_id": device_id, "valid_from": valid_from}))

    def reload_broker(self) -> None:
        self.calls.append(("reload_broker", {}))


def test_enrolment_goes_through_the_administrator_calls() -> None:
    out = generate("standard", patients=4, days=2, seed=1)
    ledger = _Ledger()
    enrolment = enrol(ledger, out, run_id="r1")
    kinds = [c[0] for c in ledger.calls]
    assert kinds[0] == "create_tenant"
    assert kinds[-1] == "reload_broker"
    assert kinds.count("create_patient") == 4
    n_devices = sum(len(p["devices"]) for p in out.patients)
    assert kinds.count("provision_device") == kinds.count("assign_device") == n_devices
    assert set(enrolment.devices) == {d["device_id"] for p in out.patients for d in p["devices"]}
    assert all(c.device_id.startswith("r1-sim-") for c in enrolment.devices.values())
    first_reading = min(
        item["ts"] for m in out.messages if not m["malformed"] for item in m["payload"]["readings"]
    )
    for name, args in ledger.calls:
        if name == "assign_device":
            assert isinstance(args["valid_from"], datetime)
            assert args["valid_from"].isoformat() < first_reading
        if name == "create_patient":
            assert "healthy" not in args["conditions"]  # type: ignore[operator]


def test_speed_maps_simulated_time_to_wall_time() -> None:
    out = generate("standard", patients=3, days=2, seed=1)
    assert wall_offsets(out, None) == [0.0] * len(out.messages)
    offsets = wall_offsets(out, 3600.0)
    assert offsets == sorted(offsets)
    assert 47 < offsets[-1] < 49 + 1  # two days at 3600x: about 48 s
    assert offsets[-1] > offsets[0]


def test_wire_bytes_are_the_payload_or_the_garbage(stress: SimOutput) -> None:
    good = next(m for m in stress.messages if not m["malformed"])
    assert json.loads(message_bytes(good)) == good["payload"]
    bad = next(m for m in stress.messages if m["malformed"])
    assert message_bytes(bad) == bad["payload_raw"].encode()


def test_expected_counts_match_what_the_parser_accepts(stress: SimOutput) -> None:
    rows: set[tuple[str, str, datetime]] = set()
    for m in stress.messages:
        if m["malformed"]:
            continue
        received = datetime.fromisoformat(m["publish_at"].replace("Z", "+00:00"))
        parsed = parse_payload(message_bytes(m), device_id=m["device_id"], received_at=received)
        rows.update((r.device_id, r.metric.value, r.time) for r in parsed.readings)
    counts = expected_counts(stress)
    assert counts["stored_rows"] == len(rows)
    assert counts["malformed_messages"] == sum(1 for m in stress.messages if m["malformed"])


def test_cli_writes_the_three_files(tmp_path: Path) -> None:
    from vigil.cli import _register, app

    _register()
    result = CliRunner().invoke(
        app,
        ["sim", "--patients", "3", "--days", "2", "--seed", "4", "--to-file", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    for name in ("patients.jsonl", "readings.jsonl", "truth.jsonl"):
        assert (tmp_path / name).exists()
    assert len((tmp_path / "patients.jsonl").read_text().splitlines()) == 3


def test_a_published_history_ends_when_publishing_does() -> None:
    from datetime import UTC, timedelta

    from vigil.device_sim.cli import live_start

    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert live_start(now, days=7, speed=None) == now - timedelta(days=7)
    assert live_start(now, days=7, speed=1.0) == now  # a live feed
    fast = live_start(now, days=7, speed=10_000.0)
    assert fast + timedelta(days=7) == now + timedelta(seconds=60)  # 60.48 s, whole seconds
