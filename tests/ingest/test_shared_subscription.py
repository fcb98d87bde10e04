"""Several ingest processes share the load through an MQTT 5 shared subscription."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from tests.conftest import Harness

from vigil.ingest import DevicePublisher, Ingest
from vigil.servers import MqttTarget


def test_two_ingest_instances_share_the_load_and_store_each_reading_once(
    harness: Harness,
) -> None:
    second_user = f"vigil-ingest-{uuid.uuid4().hex[:8]}"
    harness.broker.service_password(second_user)
    harness.sync()
    group = harness.ingest_user
    instances = [
        Ingest(
            harness.settings(mqtt_client_id=user, mqtt_shared_group=group),
            database_url=harness.db_url,
            mqtt=MqttTarget.from_url(harness.broker.url(user)),
        )
        for user in (harness.ingest_user, second_user)
    ]
    for ingest in instances:
        ingest.start()
        assert ingest.transport.subscribed.wait(10)
    try:
        _, creds = harness.patient_with_device()
        pub = DevicePublisher("127.0.0.1", harness.broker.port, creds.device_id, creds.password)
        pub.connect()
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        infos = [
            pub.publish(
                json.dumps(
                    {
                        "readings": [
                            {
                                "ts": (start + timedelta(seconds=i)).isoformat(),
                                "metric": "heart_rate",
                                "value": 70,
                                "unit": "/min",
                            }
                        ]
                    }
                ).encode()
            )
            for i in range(400)
        ]
        for info in infos:
            info.wait_for_publish(10)
        pub.close()
        deadline = time.monotonic() + 20
        while sum(i.service.stats.messages for i in instances) < 400:
            assert time.monotonic() < deadline, "not all messages processed"
            time.sleep(0.05)
    finally:
        for ingest in instances:
            ingest.stop()
    shares = [i.service.stats.messages for i in instances]
    assert all(share > 0 for share in shares), shares
    assert harness.count("SELECT count(*) FROM readings") == 400
