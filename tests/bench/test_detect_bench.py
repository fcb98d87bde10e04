from __future__ import annotations

from vigil.bench.detect import run_bench


def test_bench_prints_cost_per_reading_and_state_per_patient() -> None:
    result = run_bench(patients=6, days=3, rounds=1)
    assert result["readings"] > 100
    # A figure the bench prints, not a bar a test holds (on a shared machine it varies).
    assert result["us_per_reading"] > 0
    # A budget, not a timing: the personal baselines (streaming/usual.py) keep statistics per
    # vital and part of day (16.4 KB measured with them); 32 KiB a patient keeps 10,000
    # patients of one detect worker near 330 MB.
    assert 500 < result["state_bytes_per_patient"] < 32_768
    assert result["state_measure"] == "deep sizeof"
    assert 0 < result["pickled_bytes_per_patient"] < result["state_bytes_per_patient"]


def test_bench_prints_the_minimum_of_its_runs_and_the_rss_at_a_count() -> None:
    result = run_bench(patients=4, days=2, rounds=2, rss_patients=2000)
    assert len(result["us_per_reading_runs"]) == 2
    assert result["us_per_reading"] == min(result["us_per_reading_runs"])
    assert result["rss_patients"] == 2000
    # The sizes are the output; memory freed by the timed runs may be reused by the copies.
    assert result["rss_mb_at_patients"] >= result["rss_mb_before"] > 0
    assert result["rss_bytes_per_patient"] >= 0
