"""Webhooks never reach inside: refused at delivery whatever was stored (DNS can change after
creation), connected to the address checked, redirects not followed."""

from __future__ import annotations

import doctest
import uuid
from typing import Any

import psycopg
import pytest

from tests.alerts.conftest import finding
from tests.alerts.receiver import Receiver
from vigil.alerts import (
    AlertService,
    DeliveryState,
    DestinationPolicy,
    UnsafeDestination,
    WebhookDispatcher,
    check_destination,
    destinations,
    repo,
)

Conn = psycopg.Connection[Any]

INSIDE = [
    "http://127.0.0.1:5432/",
    "https://127.0.0.1/",
    "https://127.1/",
    "https://2130706433/",  # 127.0.0.1 as one decimal number
    "https://0x7f000001/",
    "https://localhost/",
    "https://[::1]:22/",
    "https://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "https://[::ffff:169.254.169.254]/latest/meta-data/",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://[fe80::1]/",
    "https://10.0.0.1/",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",  # carrier-grade NAT
    "https://[fc00::1]/",  # unique local
    "https://224.0.0.1/",
    "https://239.255.255.250/",
    "https://[ff02::1]/",
    "https://0.0.0.0/",
    "https://[::]/",
    "https://255.255.255.255/",
    "https://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
    "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo of 10.0.0.1
    "https://198.18.0.1/",  # benchmarking
    "https://192.0.2.1/",  # documentation
    "https://no-such-host.invalid/",
]
NOT_HTTPS = ["http://93.184.215.14/in", "ftp://93.184.215.14/", "file:///etc/passwd", "gopher://x/"]


def test_every_address_inside_is_refused() -> None:
    assert doctest.testmod(destinations).failed == 0
    policy = DestinationPolicy()
    refused = 0
    for url in [*INSIDE, *NOT_HTTPS]:
        with pytest.raises(UnsafeDestination):
            check_destination(url, policy)
        refused += 1
    assert check_destination("https://93.184.215.14/in", policy).addresses
    print(f"SSRF: {refused} targets refused by the default policy")
    # Development settings open http and this machine, nothing else inside.
    dev = DestinationPolicy(allow_http=True, allow_loopback=True)
    for url in ("http://127.0.0.1:8080/", "http://[::1]/", "http://[::ffff:127.0.0.1]/"):
        assert check_destination(url, dev).addresses
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://[fe80::1]/"):
        with pytest.raises(UnsafeDestination):
            check_destination(url, dev)


@pytest.mark.integration
def test_delivery_refuses_what_was_stored_inside(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    """Stored past the creation check (as a changed DNS answer would be): the dispatcher
    with the default policy sends nothing, and says why."""
    tenant, pid = patient
    with Receiver() as rx:
        urls = [rx.url, "http://169.254.169.254/latest/meta-data/", "http://[::1]:22/"]
        for url in urls:
            repo.add_webhook(conn, tenant_id=tenant, url=url, secret="k", level=0, min_severity=0)
        AlertService().apply(conn, [finding(pid)])
        for policy in (DestinationPolicy(), DestinationPolicy(allow_http=True)):
            dispatcher = WebhookDispatcher(destinations=policy)
            attempted = dispatcher.dispatch_due(conn, now=_later(conn))
            assert attempted == len(urls)
            assert dispatcher.refused == len(urls)
            assert rx.received == []
            dispatcher.close()
        pending = repo.list_deliveries(conn, tenant_id=tenant)
        assert {d.state for d in pending} == {DeliveryState.PENDING}
        assert all((d.last_error or "").startswith("refused: ") for d in pending)
        assert all(d.attempts == 2 for d in pending)


@pytest.mark.integration
def test_delivery_goes_to_the_address_checked_and_follows_no_redirect(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    tenant, pid = patient
    local = DestinationPolicy(allow_http=True, allow_loopback=True)
    with Receiver() as rx, Receiver() as elsewhere:
        by_name = rx.url.replace("127.0.0.1", "localhost")
        repo.add_webhook(conn, tenant_id=tenant, url=by_name, secret="k", level=0, min_severity=0)
        AlertService().apply(conn, [finding(pid)])
        dispatcher = WebhookDispatcher(destinations=local)
        assert dispatcher.dispatch_due(conn) == 1
        [(headers, _)] = rx.received
        assert headers["Host"] == by_name.split("/")[2]  # the name, not the address
        assert dispatcher.delivered == 1

        rx.redirect_to = elsewhere.url
        AlertService().apply(conn, [finding(pid, cause="spo2_high")])
        assert dispatcher.dispatch_due(conn) == 1
        assert elsewhere.received == []
        assert len(rx.received) == 1
        redirected = [d for d in repo.list_deliveries(conn, tenant_id=tenant) if d.last_status]
        assert [d.last_status for d in redirected if d.state is DeliveryState.PENDING] == [307]
        dispatcher.close()


def _later(conn: Conn) -> Any:
    row = conn.execute("SELECT now() + interval '1 hour'").fetchone()
    assert row is not None
    return row[0]
