"""The languages Vigil speaks: the pages' catalogue and the patient's feed both use these."""

from __future__ import annotations

from typing import Literal, TypeGuard

Lang = Literal["ko", "en"]
LANGS: tuple[Lang, ...] = ("ko", "en")
DEFAULT_LANG: Lang = "ko"
"""The first deployments are Korean hospitals."""


def is_lang(value: object) -> TypeGuard[Lang]:
    """Whether ``value`` is one of :data:`LANGS` (``"ko"``, ``"en"``; not ``"ko-KR"``)."""
    return value in LANGS
