"""`vigil bench api --cgm-days N` loads N days of 5-minute CGM for every patient in the
database and times the clinic list and the AGP, on a small load here."""

from __future__ import annotations

from vigil.bench.api import run_bench
from vigil.settings import Settings


def test_bench_api_times_the_clinic_list_and_the_agp(db_url: str) -> None:
    result = run_bench(
        Settings(database_url=db_url),
        patients=6,
        days=1,
        team_size=3,
        clients=2,
        requests=20,
        processes=1,
        cgm_days=2,
        report_clients=2,
        report_requests=8,
    )
    assert {"clinic_list_14d", "agp_14d"} <= set(result["endpoints"])
    for name in ("clinic_list_14d", "agp_14d"):
        figures = result["endpoints"][name]
        assert 0 < figures["p50_ms"] <= figures["p99_ms"]
        assert figures["rps"] > 0
    assert result["setup"]["cgm_readings"] == 6 * (2 * 288 + 1)  # both ends of the series
    assert result["setup"]["cgm_days"] == 2


def test_the_default_run_adds_no_cgm(db_url: str) -> None:
    result = run_bench(Settings(database_url=db_url), patients=2, days=1, team_size=2,
                       clients=1, requests=4, processes=1)  # fmt: skip
    assert "clinic_list_14d" not in result["endpoints"]
    assert result["setup"]["cgm_readings"] == 0
