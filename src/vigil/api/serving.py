"""How uvicorn serves the API: no server banner, a bounded request head, and TLS when a
certificate is set."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from vigil.settings import Settings

MAX_REQUEST_HEAD_BYTES = 64 * 1024
"""The request line and headers of one request, at most (browsers send a few KiB; nginx's
default buffers hold 32 KiB)."""


SLICE_BYTES = 8 * 1024
"""What the parser is fed at a time: the head's count is exact to this."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on the request head.

    httptools buffers a header until it is complete, however long: a 20 MB header was read
    whole and answered 200, so a few clients could make the server hold gigabytes. Here the
    bytes fed to the parser while a request's line and headers are being read are counted, and past
    :data:`MAX_REQUEST_HEAD_BYTES` the answer is ``431 Request Header Fields Too Large`` and the
    connection is closed, before the application sees anything.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = True

    def data_received(self, data: bytes) -> None:
        # Fed in slices, so that the bytes of a request's head are counted as the parser
        # reaches them (the head of a request after a body in the same read included).
        for start in range(0, len(data), SLICE_BYTES):
            if self.transport.is_closing():
                return
            piece = data[start : start + SLICE_BYTES]
            if self._in_head:
                self._head_bytes += len(piece)
                if self._head_bytes > MAX_REQUEST_HEAD_BYTES:
                    self._refuse_head()
                    return
            super().data_received(piece)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head, self._head_bytes = True, 0  # the next request on this connection
        super().on_message_complete()

    def _refuse_head(self) -> None:
        msg = f"request line and headers over {MAX_REQUEST_HEAD_BYTES} bytes"
        self.logger.warning("refused a request: %s", msg)
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            + f"content-length: {len(msg)}\r\n".encode()
            + b"connection: close\r\n\r\n"
            + msg.encode()
        )
        self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` beyond the app and address.

    The request head is bounded (:class:`BoundedHttpToolsProtocol`). With
    ``VIGIL_API_TLS_CERTFILE`` and ``_KEYFILE`` set, the API is served over TLS only
    (health data must not cross a network in clear text): responses then carry HSTS and the
    session cookies are Secure (vigil.api.edge, vigil.api.sessions).
    """
    options: dict[str, Any] = {
        "server_header": False,
        "http": BoundedHttpToolsProtocol,
        **proxy_options(settings),
    }
    if settings.api_tls_certfile is not None:
        options["ssl_certfile"] = str(settings.api_tls_certfile)
        options["ssl_keyfile"] = str(settings.api_tls_keyfile)
    return options


def trusted_proxies(settings: Settings) -> list[str]:
    """``VIGIL_API_TRUSTED_PROXIES`` as a list of addresses and networks."""
    return [p.strip() for p in settings.api_trusted_proxies.split(",") if p.strip()]


def proxy_options(settings: Settings) -> dict[str, Any]:
    """Whose ``X-Forwarded-For`` (and ``-Proto``) uvicorn believes: only the configured
    proxies'. uvicorn's own default believes 127.0.0.1 (or ``$FORWARDED_ALLOW_IPS``), so any
    local process, or a proxy that passes the header through, could choose the client address
    the sign-in throttle and the audit log key on. With none configured the headers are not
    read at all; with some, the client is the nearest address in the chain that is not one of
    them (uvicorn's ``ProxyHeadersMiddleware``)."""
    proxies = trusted_proxies(settings)
    if not proxies:
        return {"proxy_headers": False, "forwarded_allow_ips": []}
    return {"proxy_headers": True, "forwarded_allow_ips": proxies}


def api_scheme(settings: Settings) -> str:
    return "https" if settings.api_tls_certfile is not None else "http"


class ThreadedServer:
    """The app served by uvicorn in a thread, on a free loopback port, for as long as the
    ``with`` block lasts (benches and tests): ``with ThreadedServer(app) as base_url: ...``."""

    def __init__(self, app: Any, *, settings: Settings | None = None) -> None:
        """``settings``: the serving options (TLS) taken from them, as ``vigil serve`` does."""
        options = uvicorn_options(settings or Settings())
        self.scheme = "https" if "ssl_certfile" in options else "http"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", **options
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"{self.scheme}://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
