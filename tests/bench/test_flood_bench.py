"""`vigil bench flood` on a small flood, on the tests' real servers: every PUBACKed flood
message ends stored or rejected with a reason, none lost or doubled, and every quiet reading of
both phases is stored (counts only; the delays are the bench's output, never asserted)."""

from __future__ import annotations

from pathlib import Path

from vigil.bench.flood import run_bench
from vigil.servers import Servers
from vigil.settings import Settings


def test_the_flood_adds_up_and_every_quiet_reading_is_stored(
    servers: Servers, tmp_path: Path
) -> None:
    settings = Settings(state_dir=tmp_path, ingest_device_rate_per_s=5, ingest_device_burst=100)
    result = run_bench(settings, flood=2000, load=1, alone_s=1.0, servers=servers)

    assert result["flood_pubacked"] == 2000
    assert result["flood_stored"] + result["flood_rejected"] == 2000
    assert result["flood_lost"] == 0
    assert result["flood_doubled"] == 0
    assert 100 <= result["flood_stored"] < 2000  # the burst and what the rate earned, no more
    assert result["quiet_stored"] == result["quiet_sent"] > 0
    assert result["alone"]["n"] + result["flood"]["n"] == result["quiet_sent"]
    assert result["flood"]["p50_ms"] <= result["flood"]["p99_ms"] <= result["flood"]["max_ms"]
    assert result["load_processes"] == 1
