"""`vigil bench storage` on a small mix: every layout holds the same readings, and each
migration's takes fewer bytes than the one before (sizes are the database's own; the times are
the bench's output, never asserted)."""

from __future__ import annotations

from vigil.bench.storage import run_bench


def test_every_layout_holds_the_same_readings_and_each_is_smaller() -> None:
    result = run_bench(patients=10, days=15, rounds=2)
    # 2 CGM patients x 288 a day, 10 patients x 17 vitals a day, over 15 days.
    assert 15 * (2 * 288 + 10 * 17) <= result["readings"] <= 16 * (2 * 288 + 10 * 17)
    before, previous = result["before B/reading"], result["0180 B/reading"]
    after = result["after B/reading"]
    assert set(before) == {"heap", "index readings_idempotency",
                           "index readings_patient_metric_time", "index readings_time_idx",
                           "indexes", "total"}  # fmt: skip
    assert set(previous) == set(after) == {"heap", "index reading_rows_key", "indexes", "total"}
    assert after["heap"] < previous["heap"] < before["heap"]
    assert after["indexes"] < previous["indexes"] < before["indexes"]
    assert result["after compacted B/reading"]["indexes"] <= after["indexes"]
    for read in ("rollup_30d_heart_rate", "rollup_30d_glucose", "agp_14d"):
        for layout in ("before", "0180", "after"):
            assert result[f"{read} {layout}"].endswith("(2)")
