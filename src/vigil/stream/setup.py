"""Create the readings stream, or check that the existing one has the expected layout."""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    SubjectTransform,
)
from nats.js.errors import NotFoundError

from vigil.settings import Settings
from vigil.stream.connection import NatsConnection, StreamUnavailable
from vigil.stream.subjects import StreamLayout

log = logging.getLogger(__name__)


def stream_config(layout: StreamLayout) -> StreamConfig:
    return StreamConfig(
        name=layout.stream,
        description="Stored readings, partitioned by patient, for the detect workers",
        subjects=[f"{layout.inbound}.*"],
        subject_transform=SubjectTransform(
            src=f"{layout.inbound}.*", dest=layout.transform_destination
        ),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=layout.max_age_s,
        duplicate_window=layout.duplicate_window_s,
        num_replicas=layout.replicas,
    )


async def _ensure(js: JetStreamContext, layout: StreamLayout) -> None:
    wanted = stream_config(layout)
    try:
        info = await js.stream_info(layout.stream)
    except NotFoundError:
        await js.add_stream(wanted)
        log.info(
            "created stream %s: %d partitions, %d replica(s)",
            layout.stream,
            layout.partitions,
            layout.replicas,
        )
        return
    have = info.config.subject_transform
    if have is None or have.dest != layout.transform_destination:
        raise StreamUnavailable(
            f"stream {layout.stream} maps subjects to {have.dest if have else 'nothing'!r}, not"
            f" {layout.transform_destination!r}: its partition count differs from"
            " VIGIL_STREAM_PARTITIONS (changing it moves patients between partitions;"
            " drain the stream first)"
        )
    if (info.config.max_age, info.config.duplicate_window) != (
        wanted.max_age,
        wanted.duplicate_window,
    ):
        await js.update_stream(wanted)


def ensure_stream(conn: NatsConnection, layout: StreamLayout) -> None:
    conn.call(lambda: _ensure(conn.js, layout), timeout_s=30)


def layout_from(settings: Settings) -> StreamLayout:
    return StreamLayout(
        name=settings.stream_name,
        partitions=settings.stream_partitions,
        replicas=settings.stream_replicas,
        max_age_s=settings.stream_max_age_days * 86400,
        duplicate_window_s=settings.stream_duplicate_window_s,
    )


def connect_stream(settings: Settings, url: str, *, name: str) -> NatsConnection:
    """Connect to NATS and make sure the readings stream exists with the configured layout."""
    conn = NatsConnection(url, name=name, layout=layout_from(settings)).open()
    try:
        ensure_stream(conn, conn.layout)
    except BaseException:
        conn.close()
        raise
    return conn
