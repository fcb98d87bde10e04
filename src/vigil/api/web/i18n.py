"""The interface's message catalogue: JSON files ``messages/<locale>/<namespace>.json`` whose
keys are ``"<namespace>.<key>"``; ``t(key, **params)`` in templates; the locale negotiated
from ``?lang=``, the ``vigil_lang`` cookie, then ``Accept-Language`` (Korean and English).

>>> translate("ko", "admin.nav.users")
'사용자와 역할'
>>> translate("en", "admin.users.created", email="a@b.example")
'Created a@b.example.'
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.requests import Request

LOCALES = ("en", "ko")
DEFAULT = "en"
LANG_COOKIE = "vigil_lang"
MESSAGES = Path(__file__).parent / "messages"


@cache
def catalogue(locale: str, namespace: str) -> dict[str, str]:
    """One namespace of one locale (read once per process); KeyError for an unknown one."""
    if locale not in LOCALES:
        raise KeyError(locale)
    data: dict[str, str] = json.loads(
        (MESSAGES / locale / f"{namespace}.json").read_text(encoding="utf-8")
    )
    return data


def translate(locale: str, key: str, **params: Any) -> str:
    """The message in ``locale`` (English when it lacks one), with ``{name}`` filled in."""
    namespace = key.split(".", 1)[0]
    message = catalogue(locale, namespace).get(key) or catalogue(DEFAULT, namespace)[key]
    return message.format(**params) if params else message


def negotiate(request: Request) -> str:
    for asked in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if asked in LOCALES:
            return asked
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";", 1)[0].strip().lower()[:2]
        if tag in LOCALES:
            return tag
    return DEFAULT


@pass_context
def t(context: Context, key: str, **params: Any) -> str:
    """The Jinja global: the message in the page's locale (``lang`` in the context)."""
    return translate(str(context.get("lang", DEFAULT)), key, **params)
