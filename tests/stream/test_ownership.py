"""One owner per partition whatever the operator starts: real `vigil detect` processes started
with overlapping ordinals and worker counts beside a running one, one of them killed with
SIGKILL, while readings arrive. The findings equal a single process's over the same stream,
finding for finding (lost 0, doubled 0), and every partition is scored to its last message."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import Harness
from tests.stream.pipeline import (
    Pipeline,
    Scenario,
    VigilProcess,
    findings_by_alert,
    progress_by_partition,
    scored_like_one_process,
    stream_reference,
    wait_for,
)
from vigil.servers.nats import EmbeddedNats

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PARTITIONS = 6
MISTAKES = [  # what a rolling restart with a changed replica count starts beside worker 0 of 2
    {"VIGIL_DETECT_ORDINAL": "1", "VIGIL_DETECT_WORKERS": "3"},
    {"VIGIL_DETECT_ORDINAL": "2", "VIGIL_DETECT_WORKERS": "3"},
    {"VIGIL_DETECT_ORDINAL": "0", "VIGIL_DETECT_WORKERS": "2"},
]


def owners(workers: list[VigilProcess]) -> str:
    return ", ".join(
        f"{i}: took {w.said('taking partitions')}, lost {w.said('lost partitions')}"
        for i, w in enumerate(workers)
    )


def test_overlapping_workers_and_a_killed_one_lose_and_double_nothing(
    harness: Harness, nats_server: EmbeddedNats, tmp_path: Path, processes: list[VigilProcess]
) -> None:
    pipeline = Pipeline(harness, nats_server.url, tmp_path, partitions=PARTITIONS)
    pin = {"VIGIL_DETECT_PIN_TIMEOUT_S": "3"}
    ingest = pipeline.process("ingest")
    first = pipeline.process("detect", VIGIL_DETECT_ORDINAL="0", VIGIL_DETECT_WORKERS="2", **pin)
    processes += [ingest, first]
    first.start()
    ingest.start()
    mistakes = [pipeline.process("detect", **env, **pin) for env in MISTAKES]
    processes += mistakes
    for w in mistakes:
        w.start()
    assert all(w.said("deprecated and ignored") == 1 for w in mistakes)
    workers = [first, *mistakes]
    # 60 patients over 6 partitions: each partition gets readings (all but certain: random ids)
    scenario = Scenario(harness, patients=60, per_patient=20, wave=10)
    scenario.publish()
    # A worker holding partitions dies mid-burst: they move within the pin timeout.
    wait_for(lambda: any(w.said("taking partitions") for w in workers), "detection under way")
    victim = next(w for w in workers if w.said("taking partitions"))
    victim.kill()
    killed_at = scenario.findings_applied()
    survivors = [w for w in workers if w is not victim]
    taken_before = sum(w.said("taking partitions") for w in survivors)
    wait_for(lambda: scenario.stored() == scenario.attempted, "every reading stored", 300)
    wait_for(lambda: pipeline.stream_messages() == scenario.attempted, "the stream complete")
    reference = stream_reference(pipeline, scenario.attempted)
    settled = time.monotonic()
    try:
        wait_for(
            lambda: scored_like_one_process(pipeline, reference, scenario.attempted),
            "every partition scored to its end, the findings equal a single-process run's",
            180,
        )
    finally:
        print(
            f"\n  owners: {owners(workers)}; killed one holding partitions after"
            f" {killed_at} findings"
        )
    print(f"  settled {time.monotonic() - settled:.1f} s after the stream was complete")
    figures = scenario.report("overlapping ordinals, worker counts and a kill -9")
    scenario.assert_nothing_lost_or_doubled(figures)
    assert findings_by_alert(harness) == reference.findings
    assert set(reference.last_seq) == set(range(PARTITIONS)), "every partition had readings"
    assert progress_by_partition(pipeline) == reference.last_seq
    assert killed_at < figures["findings_expected"], "the kill must land mid-run"
    assert sum(w.said("taking partitions") for w in survivors) > taken_before, "nothing moved"
