"""`vigil bench gateway` on a small cuff, on the tests' real servers: every measurement stored
once (counts only; the seconds are the bench's output, never asserted)."""

from __future__ import annotations

from pathlib import Path

from vigil.bench.gateway import run_bench
from vigil.servers import Servers
from vigil.settings import Settings


def test_every_measurement_of_the_cuff_is_stored_once(servers: Servers, tmp_path: Path) -> None:
    result = run_bench(Settings(state_dir=tmp_path), records=30, servers=servers)
    assert result["records"] == 30
    assert (result["lost"], result["doubled"]) == (0, 0)
    assert result["seconds_to_all_stored"] > 0
    assert result["decodes_per_s"] > 0
