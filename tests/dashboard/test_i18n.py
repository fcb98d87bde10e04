"""The message catalogue: every key in both languages with the same parameters, every key a
template or script names exists, and the language is negotiated as documented."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from pathlib import Path

from starlette.requests import Request

from vigil.api.web import i18n

WEB = Path(i18n.__file__).parent


def params(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_exists_in_both_languages_with_the_same_parameters() -> None:
    en, ko = i18n.catalogue("en"), i18n.catalogue("ko")
    assert en, "the English catalogue is empty"
    assert set(en) == set(ko), {"only en": set(en) - set(ko), "only ko": set(ko) - set(en)}
    for key in en:
        assert en[key].strip(), key
        assert ko[key].strip(), key
        assert params(en[key]) == params(ko[key]), key


def test_every_key_the_pages_name_is_in_the_catalogue() -> None:
    named: set[str] = set()
    for path in [*WEB.glob("templates/**/*.html"), *WEB.glob("static/*.js")]:
        body = path.read_text(encoding="utf-8")
        named |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_]+)["']\s*[,)]""", body))
    assert len(named) > 20
    missing = named - set(i18n.catalogue("en"))
    assert not missing, missing


def request(query: str = "", cookie: str = "", accept: str = "") -> Request:
    headers = []
    if cookie:
        headers.append((b"cookie", f"{i18n.COOKIE}={cookie}".encode()))
    if accept:
        headers.append((b"accept-language", accept.encode()))
    return Request({"type": "http", "query_string": query.encode(), "headers": headers})


def test_language_from_query_then_cookie_then_accept_language_else_korean() -> None:
    assert i18n.negotiate(request()) == "ko"
    assert i18n.negotiate(request(accept="en-GB,en;q=0.9")) == "en"
    assert i18n.negotiate(request(accept="fr;q=1, en;q=0.5, ko;q=0.8")) == "ko"
    assert i18n.negotiate(request(cookie="en", accept="ko")) == "en"
    assert i18n.negotiate(request(query="lang=ko", cookie="en")) == "ko"
    assert i18n.negotiate(request(query="lang=xx", cookie="zz", accept="de")) == "ko"


def test_a_refused_or_malformed_accept_language_is_not_chosen() -> None:
    assert i18n.negotiate(request(accept="en;q=0, *")) == "ko"  # q=0: not acceptable
    assert i18n.negotiate(request(accept="en;q=nan, en;q=2, en;q=-1, en;q=x")) == "ko"
    assert i18n.negotiate(request(accept="fr;q=0.9, en;q=0.1")) == "en"
    # Only the first ranges are read, however long the header.
    junk = ", ".join(["xx"] * (i18n.ACCEPTED_RANGES - 1))
    assert i18n.negotiate(request(accept=f"{junk}, en")) == "en"
    assert i18n.negotiate(request(accept=f"{junk}, xx, en")) == "ko"
    assert i18n.negotiate(request(accept="xx," * 100_000 + "en")) == "ko"


def test_times_in_the_clinic_zone_as_each_locale_writes_them() -> None:
    when = datetime(2026, 12, 2, 5, 5, tzinfo=UTC)
    assert i18n.format_datetime(when, "ko", "Asia/Seoul") == "2026. 12. 2. 14:05 (Asia/Seoul)"
    assert i18n.format_datetime(when, "en", "Asia/Seoul") == "2 Dec 2026, 14:05 (Asia/Seoul)"
    assert i18n.translate("en", "patient.days", n=7) == "7 days"
    assert i18n.translate("ko", "patient.days", n=7) == "7일"
