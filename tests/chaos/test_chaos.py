"""The chaos run of issue 23 as a test: the deployment assembled from the CLI (PostgreSQL, the
broker, a 3-node NATS cluster with an R3 stream, 2 `vigil ingest` in a shared group, 2 `vigil
detect`, `vigil api`), kill -9 of each process kind while devices publish, then detect workers
started with overlapping ordinals and worker counts. Counted: attempted / PUBACKed / stored /
alerts / findings lost and doubled against a single engine over the stream, every partition
scored to its last message."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
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
from vigil.servers.nats_cluster import NatsCluster
from vigil.servers.process import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PARTITIONS = 8


def api_ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_kill_9_of_every_process_kind_then_overlapping_workers_lose_and_double_nothing(
    harness: Harness,
    nats_cluster: Callable[..., NatsCluster],
    tmp_path: Path,
    processes: list[VigilProcess],
) -> None:
    cluster = nats_cluster(size=3)
    pipeline = Pipeline(harness, cluster.url, tmp_path, replicas=3, partitions=PARTITIONS)
    second = f"{harness.ingest_user}-b"
    harness.broker.service_password(second)
    harness.sync()
    group = harness.ingest_user
    pin = {"VIGIL_DETECT_PIN_TIMEOUT_S": "3"}
    ingests = [
        pipeline.process("ingest", VIGIL_MQTT_SHARED_GROUP=group),
        pipeline.process(
            "ingest",
            VIGIL_MQTT_URL=harness.broker.url(second),
            VIGIL_MQTT_CLIENT_ID=second,
            VIGIL_MQTT_SHARED_GROUP=group,
        ),
    ]
    detects = [
        pipeline.process("detect", VIGIL_DETECT_ORDINAL="0", VIGIL_DETECT_WORKERS="2", **pin),
        pipeline.process("detect", VIGIL_DETECT_ORDINAL="1", VIGIL_DETECT_WORKERS="2", **pin),
    ]
    port = free_port()
    api = pipeline.process("api", VIGIL_API_PORT=str(port))
    processes += [*ingests, *detects, api]
    for p in [*detects, *ingests, api]:
        p.start()
    # 80 patients over 8 partitions: each partition gets readings (all but certain: random ids)
    scenario = Scenario(harness, patients=80, per_patient=15, wave=10)
    started = time.monotonic()
    scenario.publish()
    kills: list[tuple[str, float]] = []

    def kill_and_restart(name: str, proc: VigilProcess) -> None:
        at = time.monotonic()
        proc.kill()
        proc.start()
        kills.append((name, time.monotonic() - at))

    wait_for(lambda: scenario.findings_applied() > 0, "detection under way")
    kill_and_restart("ingest", ingests[0])
    kill_and_restart("detect", detects[0])
    kill_and_restart("api", api)
    wait_for(lambda: api_ready(port), "the API serving again after its kill", 60)
    at = time.monotonic()
    cluster.kill(1)
    cluster.restart(1)
    kills.append(("nats node", time.monotonic() - at))

    def stream_answers() -> bool:
        try:
            pipeline.stream_messages()
        except Exception:
            return False
        return True

    # The R3 stream elects its leaders again after the node's return (tens of seconds on a
    # busy machine): the next workers start once it answers, as an operator's would.
    wait_for(stream_answers, "the stream served again after the NATS node's restart", 120)
    # The operator's mistakes: more workers with overlapping ordinals and counts.
    extra = [
        pipeline.process("detect", VIGIL_DETECT_ORDINAL="1", VIGIL_DETECT_WORKERS="3", **pin),
        pipeline.process("detect", VIGIL_DETECT_ORDINAL="0", VIGIL_DETECT_WORKERS="2", **pin),
    ]
    processes += extra
    for p in extra:
        p.start()
    wait_for(lambda: scenario.stored() == scenario.attempted, "every reading stored", 300)
    wait_for(lambda: pipeline.stream_messages() == scenario.attempted, "the stream complete")
    reference = stream_reference(pipeline, scenario.attempted)
    wait_for(
        lambda: scored_like_one_process(pipeline, reference, scenario.attempted),
        "every partition scored to its end, the findings equal a single-process run's",
        300,
    )
    figures = scenario.report(
        "chaos: kill -9 of ingest, detect, api and a NATS node, then overlapping workers"
    )
    print(
        f"  PUBACKed {scenario.published}; {time.monotonic() - started:.0f} s end to end;"
        " kill and restart (s): " + ", ".join(f"{k} {v:.1f}" for k, v in kills)
    )
    assert scenario.published == scenario.attempted == figures["stored"]
    scenario.assert_nothing_lost_or_doubled(figures)
    assert findings_by_alert(harness) == reference.findings
    assert set(reference.last_seq) == set(range(PARTITIONS)), "every partition had readings"
    assert progress_by_partition(pipeline) == reference.last_seq
