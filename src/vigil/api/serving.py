"""How uvicorn serves the API: no server banner, and TLS when a certificate is set."""

from __future__ import annotations

from typing import Any

from vigil.settings import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` beyond the app and address.

    With ``VIGIL_API_TLS_CERTFILE`` and ``_KEYFILE`` set, the API is served over TLS only
    (health data must not cross a network in clear text): responses then carry HSTS and the
    session cookies are Secure (vigil.api.edge, vigil.api.sessions).
    """
    options: dict[str, Any] = {"server_header": False}
    if settings.api_tls_certfile is not None:
        options["ssl_certfile"] = str(settings.api_tls_certfile)
        options["ssl_keyfile"] = str(settings.api_tls_keyfile)
    return options


def api_scheme(settings: Settings) -> str:
    return "https" if settings.api_tls_certfile is not None else "http"
