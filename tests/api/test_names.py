"""One spelling per account, nothing hidden in a name: look-alike e-mails of an existing
account and invisible, control or bidi-override names are refused, never stored."""

from __future__ import annotations

import doctest
from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import PASSWORD, LiveServer, World, make_app
from vigil.api import names

pytestmark = pytest.mark.integration

ADMIN = "admin.{tenant}@clinic.example"

LOOK_ALIKES = {
    "zero-width space": "ad\u200bmin.{tenant}@clinic.example",
    "zero-width joiner": "admin\u200d.{tenant}@clinic.example",
    "word joiner": "admin.{tenant}\u2060@clinic.example",
    "BOM": "\ufeffadmin.{tenant}@clinic.example",
    "fullwidth letter": "ａdmin.{tenant}@clinic.example",
    "fullwidth at sign": "admin.{tenant}＠clinic.example",
    "cyrillic a": "\u0430dmin.{tenant}@clinic.example",
    "upper case": "ADMIN.{tenant}@Clinic.Example",
    "RTL override": "admin.{tenant}@\u202eelpmaxe.cinilc",
    "LTR mark": "admin.{tenant}@clinic.example\u200e",
    "Hangul filler": "admin.{tenant}\u3164@clinic.example",
    "soft hyphen": "ad\u00admin.{tenant}@clinic.example",
    "control character": "admin.{tenant}@clinic.example\x1b",
    "line break": "admin.{tenant}@clinic.example\nbcc",
}

BAD_NAMES = {
    "empty": "",
    "spaces": "    ",
    "ideographic space": "\u3000\u3000",
    "zero-width joiners": "\u200d\u200d\u200d",
    "zero-width spaces": "\u200b \u200b",
    "Hangul fillers": "\u3164\u3164",
    "halfwidth Hangul filler": "\uffa0",
    "Hangul choseong filler": "\u115f\u1160",
    "BOM": "\ufeff",
    "RTL override": "Kim \u202eNurse",
    "RTL isolate": "\u2067Kim\u2069",
    "ANSI escape": "\x1b[31mKim\x1b[0m",
    "NUL": "Kim\x00",
    "line break": "Kim\nAdmin",
    "tab": "Kim\tLee",
    "DEL": "Kim\x7f",
}


@pytest.fixture
def base(world: World) -> Iterator[str]:
    with LiveServer(make_app(world.db_url)) as url:
        yield url


def tenant_tag(world: World) -> str:
    return world.a.id.hex[:6]


def create_user(base: str, world: World, email: str, name: str = "Nurse Ada") -> httpx.Response:
    body = {"email": email, "display_name": name, "role": "clinician", "password": PASSWORD}
    return httpx.post(f"{base}/api/v1/users", json=body, headers=world.headers("admin"))


def accounts_like(world: World, tag: str) -> int:
    with world.conn() as conn:
        row = conn.execute(
            "SELECT count(*) FROM users WHERE email ILIKE %s OR email ~ '[^[:ascii:]]'",
            (f"%{tag}%",),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_the_rules_doctests() -> None:
    assert doctest.testmod(names).failed == 0


@pytest.mark.parametrize("spelling", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_a_look_alike_of_an_existing_email_is_never_a_second_account(
    world: World, base: str, spelling: str
) -> None:
    tag = tenant_tag(world)
    before = accounts_like(world, tag)
    r = create_user(base, world, spelling.format(tenant=tag))
    assert r.status_code in (409, 422), r.text
    assert r.json()["error"]["code"] in ("conflict", "validation_error", "invalid_request")
    assert accounts_like(world, tag) == before


def test_a_plain_new_email_is_accepted_and_stored_in_its_one_spelling(
    world: World, base: str
) -> None:
    r = create_user(base, world, "  ｋｉｍ.nurse@clinic.example ", "  김민수 ")
    assert r.status_code == 201, r.text
    assert (r.json()["email"], r.json()["display_name"]) == ("kim.nurse@clinic.example", "김민수")
    with world.conn() as conn:
        row = conn.execute(
            "SELECT email, display_name FROM users WHERE id = %s", (r.json()["id"],)
        ).fetchone()
    assert row == ("kim.nurse@clinic.example", "김민수")
    # The fullwidth spelling signs in to it (one spelling), a zero-width one signs nobody in.
    signed_in = httpx.post(
        f"{base}/api/v1/auth/token",
        json={"email": "ｋｉｍ.nurse@clinic.example", "password": PASSWORD},
    )
    assert signed_in.status_code == 200
    refused = httpx.post(
        f"{base}/api/v1/auth/token",
        json={"email": "kim.nur\u200bse@clinic.example", "password": PASSWORD},
    )
    assert refused.status_code == 401


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_blank_invisible_control_and_bidi_names_are_refused_everywhere(
    world: World, base: str, name: str
) -> None:
    admin = world.headers("admin")
    patient = f"{base}/api/v1/patients"
    user = f"{base}/api/v1/users/{world.a.users['clinician']}"
    attempts = {
        "new user": create_user(base, world, f"new.{tenant_tag(world)}@clinic.example", name),
        "new patient": httpx.post(patient, json={"display_name": name}, headers=admin),
        "renamed patient": httpx.patch(
            f"{patient}/{world.a.patient}", json={"display_name": name}, headers=admin
        ),
        "renamed user": httpx.patch(user, json={"display_name": name}, headers=admin),
        "new team": httpx.post(f"{base}/api/v1/care-teams", json={"name": name}, headers=admin),
    }
    assert {what: r.status_code for what, r in attempts.items()} == dict.fromkeys(attempts, 422)
    with world.conn() as conn:
        names_now = {r[0] for r in conn.execute("SELECT display_name FROM patients")}
        names_now |= {r[0] for r in conn.execute("SELECT display_name FROM users")}
        names_now |= {r[0] for r in conn.execute("SELECT name FROM care_teams")}
    assert name.strip() not in names_now
    assert not any(ch in n for n in names_now for ch in "\u202e\u2067\x1b\u200b\u3164")


def test_names_are_trimmed_and_ordinary_ones_kept(world: World, base: str) -> None:
    admin = world.headers("admin")
    for name, kept in [("  Jane D.  ", "Jane D."), ("박 서준", "박 서준"), ("Zoë 👩\u200d⚕️", None)]:
        r = httpx.post(f"{base}/api/v1/patients", json={"display_name": name}, headers=admin)
        assert r.status_code == 201, r.text
        assert r.json()["display_name"] == (kept or name)
