"""The message catalogue and locale formatting of Vigil's pages (Korean and English).

Catalogues are JSON files ``messages/<lang>/<namespace>.json``; a key is referenced as
``"<namespace>.<key>"`` (``"common.sign_in"``). Values may hold ``{name}`` parameters.
Every key exists in both languages (checked by ``tests/dashboard/test_i18n.py``).
"""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request

from vigil.core import languages
from vigil.core.languages import Lang, is_lang

LANGS = languages.LANGS
DEFAULT_LANG = languages.DEFAULT_LANG

COOKIE = "vigil_lang"
MESSAGES = Path(__file__).parent / "messages"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of one language, keyed ``namespace.key`` (read once per process)."""
    out: dict[str, str] = {}
    for path in sorted((MESSAGES / lang).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for key, value in data.items():
            out[f"{path.stem}.{key}"] = value
    return out


def namespaces() -> list[str]:
    return sorted({p.stem for lang in LANGS for p in (MESSAGES / lang).glob("*.json")})


def translate(lang: str, key: str, **params: Any) -> str:
    """The message ``key`` in ``lang``, its ``{name}`` parameters filled in. A missing key is
    a programming error the catalogue test catches; at run time it shows the key itself."""
    text = catalogue(lang).get(key) or catalogue("en").get(key) or key
    return text.format(**params) if params else text


def messages_for(lang: str, spaces: tuple[str, ...]) -> dict[str, str]:
    """The messages of the given namespaces (``common`` always), for a page's scripts."""
    wanted = {"common", *spaces}
    return {k: v for k, v in catalogue(lang).items() if k.split(".", 1)[0] in wanted}


ACCEPTED_RANGES = 32
"""How many of Accept-Language's ranges are read (a browser sends a handful): a header of a
megabyte costs no more than one of a line."""


def _accepted(header: str) -> list[str]:
    """Accept-Language's languages, highest quality first (``ko-KR;q=0.9`` -> ``ko``); a
    language at ``q=0`` (refused) or with a quality that is not a number in 0-1 is left out,
    and so is all past the first :data:`ACCEPTED_RANGES` ranges."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",", ACCEPTED_RANGES)[:ACCEPTED_RANGES]):
        tag, _, q = part.strip().partition(";q=")
        try:
            quality = float(q) if q else 1.0
        except ValueError:
            continue
        if not 0 < quality <= 1:  # also NaN
            continue
        ranked.append((-quality, i, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(request: Request) -> Lang:
    """The page's language: ``?lang=``, then the ``vigil_lang`` cookie, then Accept-Language,
    else Korean. The API's words for a person (the patient's feed) follow the same rule."""
    for given in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if is_lang(given):
            return given
    for tag in _accepted(request.headers.get("accept-language", "")):
        if is_lang(tag):
            return tag
    return DEFAULT_LANG


@cache
def clinic_zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def format_datetime(when: datetime, lang: str, zone: str) -> str:
    """A time as the locale writes it, in the clinic's zone, the zone named
    (``2026. 12. 2. 14:05 (Asia/Seoul)``, ``2 Dec 2026, 14:05 (Asia/Seoul)``)."""
    local = when.astimezone(clinic_zone(zone))
    if lang == "ko":
        text = f"{local.year}. {local.month}. {local.day}. {local:%H:%M}"
    else:
        text = f"{local.day} {local:%b} {local.year}, {local:%H:%M}"
    return f"{text} ({zone})"


def format_date(when: datetime, lang: str, zone: str) -> str:
    local = when.astimezone(clinic_zone(zone))
    if lang == "ko":
        return f"{local.year}. {local.month}. {local.day}."
    return f"{local.day} {local:%b} {local.year}"
