"""`vigil bench nightscout` on one day's backlog, on the tests' real servers: every entry
stored once, none lost or doubled, and the repeated upload adds nothing (counts only)."""

from __future__ import annotations

import uuid
from pathlib import Path

from vigil.bench.nightscout import run_bench
from vigil.device_sim.nightscout import xdrip_backlog
from vigil.servers import Servers
from vigil.settings import Settings


def test_a_days_backlog_is_stored_once(servers: Servers, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, stream_name=f"t{uuid.uuid4().hex[:10]}")
    result = run_bench(settings, days=1, servers=servers)
    assert result["entries"] == 288
    assert result["batches"] == 1
    assert result["stored"] == 288
    assert result["rejected"] == 0
    assert result["lost"] == 0
    assert result["doubled"] == 0
    assert result["repeat_rejected"] == 0


def test_the_backlog_is_xdrip_shaped() -> None:
    from datetime import UTC, datetime

    entries = xdrip_backlog(datetime(2026, 12, 7, 9, tzinfo=UTC), days=1)
    assert len(entries) == 288
    assert entries[-1]["dateString"] == "2026-12-07T18:00:00.000+0900"
    assert all(40 <= e["sgv"] <= 400 for e in entries)
