from __future__ import annotations

from vigil.bench.detect import run_bench


def test_bench_prints_cost_per_reading_and_state_per_patient() -> None:
    result = run_bench(patients=6, days=3, rounds=1)
    assert result["readings"] > 100
    # A figure the bench prints, not a bar a test holds (on a shared machine it varies).
    assert 0 < result["us_per_reading"] < float("inf")
    assert 500 < result["state_bytes_per_patient"] < 16_384
    assert result["state_measure"] == "deep sizeof"
    assert 0 < result["pickled_bytes_per_patient"] < result["state_bytes_per_patient"]
