"""`vigil bench ingest` run small on the tests' database with an edge of its own: every phase
takes every published message, nothing is lost or doubled in the database or the readings
stream, and every figure is there (counts only: the speeds are the bench's output, never
asserted)."""

from __future__ import annotations

from pathlib import Path

from vigil.bench.ingest import run_bench
from vigil.settings import Settings


def test_the_three_phases_add_up(db_url: str, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, database_url=db_url)
    result = run_bench(settings, readings=1200, devices=6, publishers=2, per_message=10)

    assert result["readings"] == 1200
    assert result["edge"] == "nats"
    for phase in ("a", "b", "c"):
        assert result[f"{phase}_pubacked"] == 120  # messages of 10 readings
        assert result[f"{phase}_lost"] == 0
        assert result[f"{phase}_doubled"] == 0
        assert result[f"{phase}_readings_per_s"] > 0
        assert isinstance(result[f"{phase}_publisher_bound"], bool)
        for who in ("broker_nats", "database", "ingest", "publishers"):
            assert result[f"{phase}_cpu_s_per_1k_{who}"] >= 0
    assert result["c_stream_lost"] == 0
    assert result["c_stream_doubled"] == 0
    assert 1 <= result["c_stream_messages"] <= 120
    assert result["c_over_a"] > 0
    assert result["c_over_b"] > 0
    assert result["edge_recovery_s"] > 0
