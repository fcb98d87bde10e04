"""`vigil bench storage` on a small mix: both layouts hold the same readings, and the narrow
one takes fewer bytes (sizes are the database's own; the times are the bench's output, never
asserted)."""

from __future__ import annotations

from vigil.bench.storage import run_bench


def test_both_layouts_hold_the_same_readings_and_the_narrow_one_is_smaller() -> None:
    result = run_bench(patients=10, days=15, rounds=2)
    # 2 CGM patients x 288 a day, 10 patients x 17 vitals a day, over 15 days.
    assert 15 * (2 * 288 + 10 * 17) <= result["readings"] <= 16 * (2 * 288 + 10 * 17)
    before, after = result["before B/reading"], result["after B/reading"]
    assert set(before) == {"heap", "index readings_idempotency",
                           "index readings_patient_metric_time", "index readings_time_idx",
                           "indexes", "total"}  # fmt: skip
    assert set(after) == {"heap", "index reading_rows_key", "indexes", "total"}
    assert after["heap"] < before["heap"]
    assert after["indexes"] < before["indexes"]
    assert result["after compacted B/reading"]["indexes"] <= after["indexes"]
    for read in ("rollup_30d_heart_rate", "rollup_30d_glucose", "agp_14d"):
        for layout in ("before", "after"):
            assert result[f"{read} {layout}"].endswith("(2)")
