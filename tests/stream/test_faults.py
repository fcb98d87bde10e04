"""No alert is ever lost or doubled: real `vigil ingest` and `vigil detect` processes, each killed
(SIGKILL of itself) at a named point, a database outage under detection, a NATS node killed in a
3-node cluster. Each test prints attempted / stored / findings and alerts expected, raised,
doubled and lost, and the seconds from the restart to a complete recovery.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Harness
from tests.proxy import TcpProxy
from tests.stream.pipeline import Pipeline, Scenario, VigilProcess, wait_for
from vigil.servers.nats import EmbeddedNats
from vigil.servers.nats_cluster import NatsCluster

pytestmark = pytest.mark.slow


@pytest.fixture
def pipeline(harness: Harness, nats_server: EmbeddedNats, tmp_path: Path) -> Pipeline:
    return Pipeline(harness, nats_server.url, tmp_path)


def settle(scenario: Scenario, pipeline: Pipeline) -> None:
    """Wait until every reading is stored and detection has acknowledged the whole stream."""
    wait_for(lambda: scenario.stored() == scenario.attempted, "every reading stored")
    wait_for(
        lambda: pipeline.detection_done(messages=scenario.attempted),
        "every message in the stream once, and detection caught up",
    )
    # The consumer's counts are the server's view; the alerts are what matters: at least every
    # expected finding applied (more would be doubles, which the report counts).
    expected = sum(scenario.expected().values())
    wait_for(lambda: scenario.findings_applied() >= expected, "every expected finding applied")


def test_a_critical_reading_killed_right_after_its_commit_is_alerted_exactly_once(
    harness: Harness, pipeline: Pipeline, processes: list[VigilProcess]
) -> None:
    ingest = pipeline.process("ingest")
    detect = pipeline.process("detect")
    processes += [ingest, detect]
    detect.start()
    ingest.start(VIGIL_FAULT_POINT="ingest_after_commit")
    scenario = Scenario(harness, patients=1, per_patient=1)  # (0 + 0) % 4 == 0: SpO2 80 %
    scenario.publish(background=False)
    ingest.wait_killed()
    assert scenario.stored() == 1, "the reading was committed before the kill"
    assert scenario.findings_applied() == 0, "nothing reached detection before the kill"
    restarted = time.monotonic()
    ingest.start()
    settle(scenario, pipeline)
    recovery = time.monotonic() - restarted
    figures = scenario.report("critical reading, ingest killed after commit", recovery_s=recovery)
    scenario.assert_nothing_lost_or_doubled(figures)
    assert figures["alerts_raised"] == 1


@pytest.mark.parametrize(
    ("kind", "point"),
    [
        ("ingest", "ingest_after_commit"),
        ("ingest", "ingest_after_publish"),
        ("detect", "detect_after_findings"),
        ("detect", "detect_after_commit"),
    ],
)
def test_kill_9_at_a_named_point_mid_burst_loses_and_doubles_nothing(
    harness: Harness, pipeline: Pipeline, processes: list[VigilProcess], kind: str, point: str
) -> None:
    ingest = pipeline.process("ingest")
    detect = pipeline.process("detect")
    processes += [ingest, detect]
    faulty = {"ingest": ingest, "detect": detect}[kind]
    fault = {"VIGIL_FAULT_POINT": point, "VIGIL_FAULT_SKIP": "3"}
    detect.start(**(fault if kind == "detect" else {}))
    ingest.start(**(fault if kind == "ingest" else {}))
    scenario = Scenario(harness, patients=20, per_patient=40)
    scenario.publish()
    faulty.wait_killed()
    restarted = time.monotonic()
    faulty.start()
    settle(scenario, pipeline)
    recovery = time.monotonic() - restarted
    figures = scenario.report(f"kill -9 of {kind} at {point}", recovery_s=recovery)
    scenario.assert_nothing_lost_or_doubled(figures)


def test_postgresql_gone_during_alert_applies_loses_and_doubles_nothing(
    harness: Harness, pipeline: Pipeline, processes: list[VigilProcess]
) -> None:
    proxy = TcpProxy.for_url(harness.db_url)
    try:
        ingest = pipeline.process("ingest")
        detect = pipeline.process("detect", VIGIL_DATABASE_URL=proxy.url_for(harness.db_url))
        processes += [ingest, detect]
        detect.start()
        ingest.start()
        scenario = Scenario(harness, patients=20, per_patient=40)
        proxy.cut()  # detection's database goes away before the burst; ingest's stays
        cut_at = time.monotonic()
        scenario.publish()
        wait_for(lambda: scenario.stored() == scenario.attempted, "ingest went on")
        wait_for(lambda: detect.said("failed") > 0, "detection noticed the outage")
        assert scenario.findings_applied() == 0
        proxy.restore()
        restored = time.monotonic()
        cut_for = restored - cut_at
        settle(scenario, pipeline)
        recovery = time.monotonic() - restored
    finally:
        proxy.close()
    figures = scenario.report(
        f"PostgreSQL unreachable for detection for {cut_for:.0f} s", recovery_s=recovery
    )
    scenario.assert_nothing_lost_or_doubled(figures)


def test_a_nats_node_killed_mid_burst_in_a_3_node_cluster_loses_and_doubles_nothing(
    harness: Harness,
    nats_cluster: Callable[..., NatsCluster],
    tmp_path: Path,
    processes: list[VigilProcess],
) -> None:
    cluster = nats_cluster(size=3)
    pipeline = Pipeline(harness, cluster.url, tmp_path, replicas=3)
    ingest = pipeline.process("ingest")
    detect = pipeline.process("detect")
    processes += [ingest, detect]
    detect.start()
    ingest.start()
    scenario = Scenario(harness, patients=20, per_patient=40)
    scenario.publish()
    wait_for(lambda: scenario.findings_applied() > 0, "detection under way")
    cluster.kill(0)
    killed = time.monotonic()
    settle(scenario, pipeline)
    recovery = time.monotonic() - killed
    figures = scenario.report("a NATS node of 3 killed mid-burst", recovery_s=recovery)
    scenario.assert_nothing_lost_or_doubled(figures)


@pytest.mark.parametrize("kind", ["ingest", "detect"])
def test_a_stop_that_hangs_still_ends_the_process(
    kind: str, pipeline: Pipeline, processes: list[VigilProcess]
) -> None:
    """Signalled to stop, a stage process whose graceful stop hangs (a thread stuck on a server
    gone) exits hard ``VIGIL_STOP_GRACE_S`` later: an operator's stop stops, and an ingest helper
    ends with its parent. (It acknowledges only what is durable, so nothing is lost that way.)"""
    proc = pipeline.process(kind)
    processes.append(proc)
    proc.start(VIGIL_FAULT_POINT="stage_stop", VIGIL_STOP_GRACE_S="2")
    assert proc.proc is not None
    proc.proc.terminate()
    assert proc.proc.wait(60) == 1
    proc._pump.join(10)
    assert proc.said("fault point stage_stop reached: hanging here") == 1
    assert proc.said("stopping took longer than 2 s: exiting now") == 1
