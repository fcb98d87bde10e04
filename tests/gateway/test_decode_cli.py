"""`vigil gateway decode` over the kept set of specification-conformant values of all seven
characteristics (and the glucose context), and over the special, reserved and short ones."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vigil.cli import _register, app
from vigil.core.payload import parse_payload
from vigil.gateway import DECODERS, parse_uuid16

FIXTURE = json.loads((Path(__file__).parent / "conformant.json").read_text())
VALUES: list[dict[str, Any]] = FIXTURE["values"]
REFUSED: list[dict[str, Any]] = FIXTURE["refused"]
REFUSED_IDS = [f"{c['characteristic']}:{c['hex']}" for c in REFUSED]
runner = CliRunner()
_register()


def test_the_kept_set_covers_all_seven_characteristics_and_the_context() -> None:
    kept = {parse_uuid16(v["characteristic"]) for v in VALUES}
    assert kept == set(DECODERS)
    assert len(DECODERS) == 8  # seven measurements and the glucose context


@pytest.mark.parametrize("case", VALUES, ids=[v["name"] for v in VALUES])
def test_decode_prints_the_expected_readings(case: dict[str, Any]) -> None:
    result = runner.invoke(
        app, ["gateway", "decode", case["characteristic"], case["hex"], "--tz", case["tz"]]
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == {"readings": case["readings"]}
    # What it prints is Vigil's payload contract: with a time stamp (the gateway adds the
    # receive time where the value has none) ingest accepts every reading.
    received = datetime(2026, 11, 28, 9, tzinfo=UTC)
    for reading in printed["readings"]:
        reading.setdefault("ts", "2026-11-28T08:59:00Z")
    parsed = parse_payload(json.dumps(printed).encode(), device_id="d", received_at=received)
    assert parsed.rejections == []
    assert parsed.readings


@pytest.mark.parametrize(
    "case", REFUSED, ids=[f"{c['characteristic']}-{c['hex']}" for c in REFUSED]
)
def test_decode_refuses_with_exit_2_and_the_reason(case: dict[str, Any]) -> None:
    result = runner.invoke(app, ["gateway", "decode", case["characteristic"], case["hex"]])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert case["reason"] in result.stderr


def test_decode_details_carry_what_the_contract_does_not() -> None:
    cuff = VALUES[0]
    result = runner.invoke(
        app, ["gateway", "decode", cuff["characteristic"], cuff["hex"], "--tz", cuff["tz"]]
    )
    details = json.loads(result.stderr.removeprefix("details: "))
    assert details == {
        "mean_arterial_pressure": "96 mm[Hg]",
        "user_id": 1,
        "measurement_status": ["irregular pulse detected"],
    }


def test_the_installed_command_decodes_and_refuses() -> None:
    vigil = [sys.executable, "-m", "vigil"]
    ok = subprocess.run(
        [*vigil, "gateway", "decode", "2A9D", "02 1437 EA070B1C062D00"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["readings"][0]["value"] == 70.5
    bad = subprocess.run(
        [*vigil, "gateway", "decode", "2A9D", "00FFFF"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "measurement unsuccessful" in bad.stderr
