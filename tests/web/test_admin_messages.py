"""The admin console's message catalogue: Korean and English carry the same keys, every key the
pages and scripts name exists, and the locale is negotiated as documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

from starlette.requests import Request

from vigil.api.web import i18n

WEB = Path(i18n.__file__).parent


def _request(query: str = "", headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "query_string": query.encode(), "headers": raw})


def test_both_languages_hold_every_key_the_pages_use() -> None:
    en = i18n.catalogue("en", "admin")
    ko = i18n.catalogue("ko", "admin")
    assert set(en) == set(ko)
    assert all(v.strip() for v in [*en.values(), *ko.values()])
    used: set[str] = set()
    for page in (WEB / "templates" / "admin").glob("*.html"):
        used |= set(re.findall(r"t\('(admin\.[a-z_.]+[a-z_])'\)", page.read_text()))
    for script in (WEB / "static").glob("admin*.js"):
        used |= {
            "admin." + k for k in re.findall(r'admin\.m\("([a-z_.]+[a-z_])"', script.read_text())
        }
    assert len(used) > 100
    assert used - set(en) == set()
    # Dynamic keys: one message per value of the closed lists.
    for prefix, values in (("condition", ["copd", "t1d", "t2d", "hypertension", "heart_failure"]),
                           ("role", ["admin", "clinician", "patient"])):  # fmt: skip
        assert {f"admin.{prefix}.{v}" for v in values} <= set(ko)
    assert (
        json.loads((WEB / "messages" / "ko" / "admin.json").read_text())["admin.nav.audit"]
        == "감사 로그"
    )


def test_locale_from_query_cookie_then_accept_language() -> None:
    assert i18n.negotiate(_request("lang=ko")) == "ko"
    assert i18n.negotiate(_request(headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"})) == "ko"
    assert i18n.negotiate(_request(headers={"Accept-Language": "fr, en;q=0.4"})) == "en"
    assert i18n.negotiate(_request("lang=xx", {"Cookie": "vigil_lang=ko"})) == "ko"
    assert i18n.negotiate(_request()) == "en"
    assert i18n.translate("ko", "admin.devices.revoked", id="ox-1") == "ox-1 기기를 폐기했습니다."
