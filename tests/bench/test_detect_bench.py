from __future__ import annotations

from vigil.bench.detect import run_bench


def test_bench_prints_cost_per_reading_and_state_per_patient() -> None:
    result = run_bench(patients=6, days=3, rounds=1)
    assert result["readings"] > 100
    # A figure the bench prints, not a bar a test holds (on a shared machine it varies).
    assert result["us_per_reading"] > 0
    # A budget, not a timing: compact state (issue 28) is about 3.6-3.8 KB a patient with
    # shared parts counted once (19.7 KB as river objects per cell and a plan per patient);
    # 8 KiB leaves room for the mix of a small run, and catches a return to objects per cell.
    assert 500 < result["state_bytes_per_patient"] < 8_192
    assert result["state_bytes_per_patient"] <= result["state_bytes_alone_per_patient"]
    assert set(result["state_bytes_by_part"]) >= {"personal baselines", "care plan"}
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
