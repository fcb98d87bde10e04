"""The fair inbox without servers: round-robin batches, each device's order kept, bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from vigil.ingest import metrics
from vigil.ingest.inbox import MESSAGE_OVERHEAD_BYTES, FairInbox
from vigil.ingest.models import InboundMessage


def _message(device: str, n: int, payload: bytes = b"{}") -> InboundMessage:
    return InboundMessage(
        topic=f"vigil/v1/devices/{device}/readings",
        payload=payload,
        mid=n,
        qos=1,
        retain=False,
        received_at=datetime.now(UTC),
        generation=1,
    )


def _until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.01)


def _names(batch: list[InboundMessage]) -> list[tuple[str, int]]:
    return [(m.topic.split("/")[3], m.mid) for m in batch]


def test_a_batch_takes_one_message_per_device_per_round_in_each_devices_order() -> None:
    inbox = FairInbox()
    for n in range(1, 1001):
        inbox.put(_message("flood", n))
    inbox.put(_message("quiet", 1))
    inbox.put(_message("other", 1))
    inbox.put(_message("quiet", 2))
    first = inbox.take(6, wait_s=0, fill_s=0)
    assert _names(first) == [
        ("flood", 1),
        ("quiet", 1),
        ("other", 1),
        ("flood", 2),
        ("quiet", 2),
        ("flood", 3),
    ], "the quiet devices' messages come in the first batch, not after the flood's 1000"
    rest = inbox.take(2000, wait_s=0, fill_s=0)
    assert [n for _, n in _names(rest)] == list(range(4, 1001)), "the flood's order is kept"
    assert len(inbox) == 0
    assert inbox.queued_bytes == 0


def test_the_next_batch_starts_after_the_device_the_previous_one_ended_with() -> None:
    inbox = FairInbox()
    for device in ("a", "b", "c"):
        for n in range(1, 4):
            inbox.put(_message(device, n))
    assert _names(inbox.take(2, wait_s=0, fill_s=0)) == [("a", 1), ("b", 1)]
    assert _names(inbox.take(2, wait_s=0, fill_s=0)) == [("c", 1), ("a", 2)]


def test_take_waits_for_a_first_message_then_returns_empty() -> None:
    inbox = FairInbox()
    assert inbox.take(10, wait_s=0.05, fill_s=0) == []
    threading.Timer(0.05, inbox.put, (_message("a", 1),)).start()
    assert _names(inbox.take(10, wait_s=30, fill_s=0)) == [("a", 1)]


def test_a_full_inbox_pauses_put_until_the_service_takes() -> None:
    inbox = FairInbox(max_messages=3)
    for n in range(1, 4):
        inbox.put(_message("flood", n))
    done = threading.Event()

    def put_fourth() -> None:
        inbox.put(_message("quiet", 1))
        done.set()

    paused = metrics.INBOX_FULL._value.get()
    threading.Thread(target=put_fourth, daemon=True).start()
    _until(lambda: inbox.full_waits == 1)
    assert metrics.INBOX_FULL._value.get() == paused + 1  # the operator sees the pause
    # The fourth put is held until there is room; the cap is never exceeded.
    assert not done.is_set()
    assert len(inbox) == 3
    assert _names(inbox.take(1, wait_s=0, fill_s=0)) == [("flood", 1)]
    assert done.wait(30)
    assert len(inbox) == 3


def test_the_byte_cap_counts_payloads_and_one_large_message_still_goes_in() -> None:
    big = b"x" * (3 * 1024 * 1024)
    inbox = FairInbox(max_bytes=2 * 1024 * 1024)
    inbox.put(_message("a", 1, big))  # an empty inbox takes any one message
    assert inbox.queued_bytes == len(big) + len("vigil/v1/devices/a/readings") + (
        MESSAGE_OVERHEAD_BYTES
    )
    done = threading.Event()
    threading.Thread(target=lambda: (inbox.put(_message("b", 1)), done.set()), daemon=True).start()
    _until(lambda: inbox.full_waits == 1)
    assert not done.is_set(), "over the byte cap, the next put waits"
    assert len(inbox) == 1
    inbox.close()  # ingest stopping: the waiting put goes through, nothing is held up
    assert done.wait(30)
    assert len(inbox) == 2
