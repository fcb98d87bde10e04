"""`vigil bench api` runs end to end on a small load and prints figures of the promised shape."""

from __future__ import annotations

from vigil.bench.api import run_bench
from vigil.settings import Settings


def test_bench_api_prints_latency_and_throughput_per_endpoint(db_url: str) -> None:
    result = run_bench(
        Settings(database_url=db_url),
        patients=12,
        days=2,
        team_size=6,
        clients=4,
        requests=120,
        processes=1,
    )
    assert set(result["endpoints"]) == {"alert_inbox", "rollup_30d_hourly", "team_latest_vitals"}
    for figures in result["endpoints"].values():
        assert 0 < figures["p50_ms"] <= figures["p99_ms"]
        assert figures["rps"] > 0
        assert figures["server_cpu_ms_per_request"] > 0
    assert result["setup"]["readings"] == 12 * 2 * (24 + 24 + 2 + 2 + 3 + 1)
