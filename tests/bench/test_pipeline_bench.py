"""`vigil bench pipeline` end to end on a tiny load, on the tests' real servers: every path
stores and alerts every reading it publishes, and splits every half-load reading into its legs
(counts and presence only; its timings are the bench's output, never asserted)."""

from __future__ import annotations

from pathlib import Path

from vigil.bench.pipeline import PATHS, run_bench
from vigil.servers import Servers
from vigil.settings import Settings

READINGS, DEVICES, LATENCY, IDLE = 200, 10, 40, 10


def test_every_path_alerts_every_reading(servers: Servers, tmp_path: Path) -> None:
    result = run_bench(
        Settings(state_dir=tmp_path),
        readings=READINGS,
        devices=DEVICES,
        latency_readings=LATENCY,
        idle_readings=IDLE,
        idle_rate=20.0,
        servers=servers,
    )

    assert result["cores"] >= 1
    for path in PATHS:
        figures = result[path]
        # One warm-up reading per device, then the idle, full-speed and half-load phases.
        published = DEVICES + IDLE + READINGS + LATENCY
        assert figures["n"] == READINGS
        assert figures["latency_n"] == LATENCY
        assert figures["published"] == figures["stored"] == published, path
        assert figures["alerts"] == DEVICES, path  # one spo2_low alert per patient
        assert figures["alerted"] == published, path  # every reading a finding on that alert
        assert figures["readings_per_s"] > 0
        assert 0 < figures["p50_ms"] <= figures["p99_ms"]
        # Every half-load reading's latency split at ingest's receipt.
        assert figures["split_n"] == LATENCY, path
        assert figures["to_ingest_p50_ms"] <= figures["to_ingest_p99_ms"]
        assert 0 < figures["ingest_to_alert_p50_ms"] <= figures["ingest_to_alert_p99_ms"]
        # ... and after it: stored in the stream (no stream in-process), the alerts
        # transaction's start, the alert change visible.
        stream = ("ingest_to_stream", "stream_to_apply")
        legs = ("ingest_to_apply",) if path == "inprocess" else stream
        for leg in (*legs, "apply_to_visible"):
            assert 0 <= figures[f"{leg}_p50_ms"] <= figures[f"{leg}_p99_ms"], (path, leg)
        assert figures["idle_n"] == IDLE
        assert 0 < figures["idle_p50_ms"] <= figures["idle_p99_ms"]
    for ratio in ("stream_1_vs_inprocess", "stream_2_vs_inprocess"):
        assert result[ratio] > 0


def test_one_path_alone_has_no_ratio(servers: Servers, tmp_path: Path) -> None:
    result = run_bench(
        Settings(state_dir=tmp_path),
        readings=20,
        devices=2,
        latency_readings=4,
        paths=("stream-1",),
        servers=servers,
    )

    assert set(PATHS) & set(result) == {"stream-1"}
    assert result["stream-1"]["stored"] == result["stream-1"]["alerted"] == 2 + 20 + 4
    assert result["stream-1"]["idle_n"] == 0
    assert "stream_1_vs_inprocess" not in result
