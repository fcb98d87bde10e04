"""``--to-file``: the run as three JSON Lines files (format in docs/formats.md).

``write_run`` writes a run already in memory. ``generate_to_folder`` streams a large run: it
simulates patients in batches, writes each batch's messages sorted to a part file, and merges
the parts in publish order, so memory holds one batch, not the whole history. Both write the
same bytes for the same arguments.
"""

from __future__ import annotations

import heapq
import json
import logging
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from vigil.device_sim.devices import Message
from vigil.device_sim.generate import add_stats, event_key, message_key, plan_run
from vigil.device_sim.models import Event, SimOutput

log = logging.getLogger(__name__)


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False) + "\n"


def _write_lines(path: Path, lines: Iterable[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(_line(line))
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


def _write_part(path: Path, messages: list[Message]) -> None:
    messages.sort(key=message_key)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for m in messages:
            f.write(f"{m.publish_at}\t{m.device_id}\t{m.seq}\t{_line(m.line)}")


def _read_part(path: Path) -> Iterator[tuple[tuple[int, str, int], str]]:
    with path.open(encoding="utf-8", newline="\n") as f:
        for raw in f:
            at, device, seq, text = raw.split("\t", 3)
            yield (int(at), device, int(seq)), text


def generate_to_folder(
    folder: Path,
    scenario: str,
    patients: int,
    days: int,
    seed: int,
    start: datetime | None = None,
    *,
    malformed_rate: float | None = None,
    batch: int = 50,
) -> dict[str, Any]:
    """Simulate and write the three files, streaming; returns counts and the run's stats."""
    planned = plan_run(scenario, patients, days, seed, start, malformed_rate=malformed_rate)
    folder.mkdir(parents=True, exist_ok=True)
    parts_dir = Path(tempfile.mkdtemp(prefix=".parts-", dir=folder))
    try:
        parts: list[Path] = []
        pending: list[Message] = []
        truth: list[Event] = []
        stats: dict[str, int] = {}
        for i, (messages, events, counts) in enumerate(planned.simulate(), start=1):
            pending.extend(messages)
            truth.extend(events)
            add_stats(stats, counts)
            stats["messages"] = stats.get("messages", 0) + len(messages)
            stats["malformed"] = stats.get("malformed", 0) + sum(
                1 for m in messages if m.line["malformed"]
            )
            if i % batch == 0 or i == len(planned.runs):
                parts.append(parts_dir / f"{len(parts):05d}.part")
                _write_part(parts[-1], pending)
                pending = []
        readings = 0
        with (folder / "readings.jsonl").open("w", encoding="utf-8", newline="\n") as out:
            for _, text in heapq.merge(*(_read_part(p) for p in parts), key=lambda kt: kt[0]):
                out.write(text)
                readings += 1
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
    truth.sort(key=event_key)
    counts = {
        "patients": _write_lines(folder / "patients.jsonl", planned.patients_json()),
        "readings": readings,
        "truth": _write_lines(folder / "truth.jsonl", (e.to_json() for e in truth)),
    }
    log.info("wrote %s: %s; %s", folder, counts, stats)
    return {**counts, "stats": stats}
