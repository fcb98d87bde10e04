"""The public API, the file format, determinism and speed."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigil.device_sim import DEFAULT_START, SimOutput, generate
from vigil.device_sim.output import generate_to_folder, write_run


def _dump(out: SimOutput) -> str:
    return json.dumps([out.patients, out.messages, out.truth])


def test_a_fixed_seed_gives_identical_output() -> None:
    first = generate("stress", patients=6, days=5, seed=42)
    second = generate("stress", patients=6, days=5, seed=42)
    assert _dump(first) == _dump(second)
    assert _dump(generate("stress", patients=6, days=5, seed=43)) != _dump(first)


def test_a_patient_does_not_depend_on_how_many_others_there_are() -> None:
    small = generate("standard", patients=3, days=4, seed=9)
    large = generate("standard", patients=8, days=4, seed=9)
    assert small.patients == large.patients[:3]
    mine = [m for m in large.messages if m["patient"] in {"p0001", "p0002", "p0003"}]
    assert mine == small.messages


def test_files_are_byte_identical_across_runs(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_run(generate("standard", patients=5, days=3, seed=1), tmp_path / name)
    for file in ("patients.jsonl", "readings.jsonl", "truth.jsonl"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


def test_file_lines_follow_the_documented_format(tmp_path: Path) -> None:
    out = generate("stress", patients=6, days=5, seed=3)
    write_run(out, tmp_path)
    patients = [json.loads(x) for x in (tmp_path / "patients.jsonl").read_text().splitlines()]
    readings = [json.loads(x) for x in (tmp_path / "readings.jsonl").read_text().splitlines()]
    truth = [json.loads(x) for x in (tmp_path / "truth.jsonl").read_text().splitlines()]
    assert patients == out.patients
    assert readings == out.messages
    assert truth == out.truth
    assert {"patient", "conditions", "age", "sex", "devices"} <= set(patients[0])
    for line in readings:
        assert {"publish_at", "patient", "device_id", "malformed"} <= set(line)
        assert ("payload_raw" if line["malformed"] else "payload") in line
        assert line["publish_at"].endswith("Z")
    assert [r["publish_at"] for r in readings] == sorted(r["publish_at"] for r in readings)
    for event in truth:
        assert {"patient", "kind", "start", "end", "severity", "metrics", "non_event"} <= set(event)
        assert event["start"] <= event["end"]
    assert [e["start"] for e in truth] == sorted(e["start"] for e in truth)


def test_start_defaults_to_a_fixed_date_and_must_be_utc() -> None:
    out = generate("standard", patients=1, days=1, seed=0)
    assert out.start == DEFAULT_START
    assert out.end == DEFAULT_START + timedelta(days=1)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    later = generate("standard", patients=1, days=1, seed=0, start=start)
    assert later.messages[0]["publish_at"].startswith("2026-03-01")
    with pytest.raises(ValueError, match="UTC"):
        generate("standard", patients=1, days=1, seed=0, start=datetime(2026, 3, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="unknown scenario"):
        generate("nope", patients=1, days=1, seed=0)


@pytest.mark.slow
def test_two_hundred_patients_for_a_month() -> None:
    began = time.perf_counter()
    out = generate("standard", patients=200, days=30, seed=2)
    assert out.stats["readings"] > 300_000
    # A figure, not a bound: a busy CI machine is several times slower.
    print(f"\n200 patients x 30 days generated in {time.perf_counter() - began:.1f} s")


def test_streaming_to_a_folder_writes_the_same_bytes(tmp_path: Path) -> None:
    write_run(generate("stress", patients=7, days=4, seed=6), tmp_path / "memory")
    result = generate_to_folder(tmp_path / "stream", "stress", 7, 4, 6, batch=3)
    assert result["patients"] == 7
    for file in ("patients.jsonl", "readings.jsonl", "truth.jsonl"):
        assert (tmp_path / "memory" / file).read_bytes() == (
            tmp_path / "stream" / file
        ).read_bytes()
    assert sorted(p.name for p in (tmp_path / "stream").iterdir()) == [
        "patients.jsonl",
        "readings.jsonl",
        "truth.jsonl",
    ]
