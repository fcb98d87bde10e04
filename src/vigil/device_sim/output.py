"""``--to-file``: the run as three JSON Lines files (format in docs/formats.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vigil.device_sim.models import SimOutput


def _write_lines(path: Path, lines: Iterable[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False))
            f.write("\n")
            count += 1
    return count


def write_run(output: SimOutput, folder: Path) -> dict[str, int]:
    """Write patients.jsonl, readings.jsonl and truth.jsonl into ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "patients": _write_lines(folder / "patients.jsonl", output.patients),
        "readings": _write_lines(folder / "readings.jsonl", output.messages),
        "truth": _write_lines(folder / "truth.jsonl", output.truth),
    }
