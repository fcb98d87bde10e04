"""A password guesser is refused within a few tries; the real user is not locked out for long;
admins see the refusals."""

from __future__ import annotations

import doctest
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import PASSWORD, LiveServer, World, make_app
from vigil.api import throttle
from vigil.api.throttle import SignInThrottle, ThrottlePolicy

pytestmark = pytest.mark.integration


def email(world: World, who: str) -> str:
    return f"{who}.{world.a.id.hex[:6]}@clinic.example"


@pytest.fixture
def base(world: World) -> Iterator[str]:
    with LiveServer(make_app(world.db_url)) as url:
        yield url


def from_address(base: str, address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any of 127.0.0.0/8 on Linux)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base, timeout=10, transport=transport)


def sign_in(client: httpx.Client, address: str, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/token", json={"email": address, "password": password})


def test_brute_force_gets_429_within_10_tries_and_the_user_gets_back_in(
    world: World, base: str
) -> None:
    account = email(world, "clinician")
    with from_address(base, "127.0.0.1") as attacker, from_address(base, "127.0.0.2") as user:
        statuses = [sign_in(attacker, account, f"guess {i}").status_code for i in range(10)]
        first_429 = statuses.index(429) + 1
        assert first_429 <= 10
        assert statuses[: first_429 - 1] == [401] * (first_429 - 1)
        refused = sign_in(attacker, account, PASSWORD)  # the right password is refused too
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_requests"
        assert int(refused.headers["Retry-After"]) >= 1
        # The real user, elsewhere, is not held up by the guesser.
        assert sign_in(user, account, PASSWORD).status_code == 200
        # And from the guesser's own address once the short wait is over.
        deadline = time.monotonic() + 60
        while (r := sign_in(attacker, account, PASSWORD)).status_code == 429:
            assert time.monotonic() < deadline, "still refused after a minute"
            time.sleep(float(r.headers["Retry-After"]))
        assert r.status_code == 200
        print(f"brute force: 429 at attempt {first_429} of 10: {statuses}")

    admin = httpx.get(
        f"{base}/api/v1/audit",
        params={"outcome": "denied", "limit": 100},
        headers=world.headers("admin"),
    ).json()
    sign_ins = [e for e in admin if e["action"] == "issue_token"]
    clinician = str(world.a.users["clinician"])
    assert {e["status"] for e in sign_ins} == {401, 429}
    assert all(e["detail"]["account_user_id"] == clinician for e in sign_ins)
    assert all(e["detail"]["address"] == "127.0.0.1" for e in sign_ins)
    # Tenant B's admin sees none of tenant A's accounts' refusals.
    other = httpx.get(
        f"{base}/api/v1/audit", params={"outcome": "denied"}, headers=world.headers("admin", "b")
    ).json()
    assert [e for e in other if e["action"] == "issue_token"] == []


def test_one_address_guessing_many_accounts_is_refused(base: str) -> None:
    with from_address(base, "127.0.0.3") as attacker:
        statuses = [
            sign_in(attacker, f"user{i}@nowhere.example", "guess").status_code for i in range(25)
        ]
    assert statuses[:20] == [401] * 20
    assert set(statuses[20:]) == {429}


def test_delays_double_and_are_capped_and_forgotten() -> None:
    assert doctest.testmod(throttle).failed == 0
    t = SignInThrottle(ThrottlePolicy(free_per_account_address=2, max_delay_s=4))
    who = {"account": "A@x.example", "address": "10.0.0.1"}
    t.failed(**who, now=0.0)
    assert t.retry_after_s(**who, now=0.0) == 0
    t.failed(**who, now=0.0)
    assert t.retry_after_s(**who, now=0.5) == 1  # 1 s after the second failure
    t.failed(**who, now=1.0)
    assert t.retry_after_s(**who, now=1.0) == 2
    for _ in range(10):
        t.failed(**who, now=3.0)
    assert t.retry_after_s(**who, now=3.0) == 4  # capped
    assert t.retry_after_s(account="a@X.EXAMPLE ", address="10.0.0.1", now=3.0) == 4
    assert t.retry_after_s(**who, now=3.0 + 901) == 0  # forgotten
    t.failed(**who, now=1000.0)
    t.failed(**who, now=1000.0)
    t.succeeded(**who)
    assert t.retry_after_s(**who, now=1000.0) == 0
