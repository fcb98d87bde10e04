"""E-mail addresses and names that people type: one spelling each, nothing hidden.

An e-mail is an account's identity (people sign in with it, admins recognise it in a list), so
it is NFKC-normalised (a fullwidth ``ａ`` becomes ``a``, and then collides with the account it
imitates: 409) and must then be plain ASCII: zero-width characters, bidi controls, control
characters and letters of other scripts that look like Latin ones (Cyrillic ``а``) are refused
(422), each with its reason. A display name is shown to clinicians beside a patient's data:
it is NFC-normalised and trimmed, and refused when blank, made only of invisible characters
(Hangul fillers and zero-width joiners included), or holding a control character (an ANSI
escape that repaints a terminal reading the logs) or a bidi override (U+202E reverses the
text after it).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""The bidirectional formatting characters (Unicode Bidi_Control)."""

INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong / jungseong fillers
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x200B, 0x200F),  # zero-width space, non-joiner, joiner, LRM, RLM
    (0x202A, 0x202E),
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space (BOM)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
"""Unicode's Default_Ignorable_Code_Point: characters drawn as nothing."""


def invisible(ch: str) -> bool:
    """Drawn as nothing: a default-ignorable code point or a format character.

    >>> [invisible(c) for c in ("a", " ", "\\u200b", "\\u3164", "\\u202e")]
    [False, False, True, True, True]
    """
    point = ord(ch)
    if any(low <= point <= high for low, high in INVISIBLE_RANGES):
        return True
    return unicodedata.category(ch) == "Cf"


def _control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def normalise_email(value: str) -> str:
    """The one spelling of an e-mail address, or ValueError (422) with the reason.

    >>> normalise_email("  Nurse@Clinic.Example ")
    'Nurse@Clinic.Example'
    >>> normalise_email("ｎｕｒｓｅ@clinic.example")
    'nurse@clinic.example'
    """
    value = unicodedata.normalize("NFKC", value).strip()
    if any(ch in BIDI_CONTROLS for ch in value):
        raise ValueError("an e-mail address must not hold bidirectional controls")
    if any(invisible(ch) for ch in value):
        raise ValueError("an e-mail address must not hold invisible characters")
    if any(_control(ch) or ch.isspace() for ch in value):
        raise ValueError("an e-mail address must not hold control characters or spaces")
    if not value.isascii():
        raise ValueError("an e-mail address must be written in ASCII letters")
    local, at, domain = value.partition("@")
    if not at or not local or not domain or "@" in domain:
        raise ValueError("an e-mail address is one name, '@' and a domain")
    return value


def sign_in_email(value: str) -> str:
    """An e-mail as typed at sign-in, in the spelling accounts are stored in (nothing refused:
    a spelling no account has simply signs nobody in)."""
    return unicodedata.normalize("NFKC", value).strip()


def clean_display_name(value: str) -> str:
    """A name trimmed, or ValueError (422) with the reason.

    >>> clean_display_name("  김 민 수 ")
    '김 민 수'
    """
    value = unicodedata.normalize("NFC", value)
    if any(ch in BIDI_CONTROLS for ch in value):
        raise ValueError("a name must not hold bidirectional overrides or isolates")
    if any(_control(ch) for ch in value):
        raise ValueError("a name must not hold control characters")
    value = value.strip()
    if all(ch.isspace() or invisible(ch) for ch in value):
        raise ValueError("a name must have a visible character")
    return value


Email = Annotated[
    str,
    Field(min_length=3, max_length=320, examples=["nurse@clinic.example"]),
    AfterValidator(normalise_email),
]
"""An account's e-mail address in a request (:func:`normalise_email`)."""

SignInEmail = Annotated[
    str,
    StringConstraints(pattern=r"^[^\x00]*$"),
    Field(min_length=3, max_length=320, examples=["nurse@clinic.example"]),
    AfterValidator(sign_in_email),
]

DisplayName = Annotated[
    str,
    Field(min_length=1, max_length=200),
    AfterValidator(clean_display_name),
]
"""A person's or a team's name in a request (:func:`clean_display_name`)."""
