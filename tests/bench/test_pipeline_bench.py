"""`vigil bench pipeline` end to end on a tiny load, on the tests' real servers: every path
stores and alerts every reading it publishes (counts only; its timings are the bench's output,
never asserted)."""

from __future__ import annotations

from pathlib import Path

from vigil.bench.pipeline import PATHS, run_bench
from vigil.servers import Servers
from vigil.settings import Settings

READINGS, DEVICES, LATENCY = 200, 10, 40


def test_every_path_alerts_every_reading(servers: Servers, tmp_path: Path) -> None:
    result = run_bench(
        Settings(state_dir=tmp_path),
        readings=READINGS,
        devices=DEVICES,
        latency_readings=LATENCY,
        servers=servers,
    )

    assert result["cores"] >= 1
    for path in PATHS:
        figures = result[path]
        published = DEVICES + READINGS + LATENCY  # one warm-up reading per device, then both phases
        assert figures["n"] == READINGS
        assert figures["latency_n"] == LATENCY
        assert figures["published"] == figures["stored"] == published, path
        assert figures["alerts"] == DEVICES, path  # one spo2_low alert per patient
        assert figures["alerted"] == published, path  # every reading a finding on that alert
        assert figures["readings_per_s"] > 0
        assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    for ratio in ("stream_1_vs_inprocess", "stream_2_vs_inprocess"):
        assert result[ratio] > 0
