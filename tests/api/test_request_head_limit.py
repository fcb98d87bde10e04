"""A huge request head is refused before the application: a 20 MB header used to be read
whole and answered 200. Real uvicorn serving the real app (its serving options, as `vigil
serve` uses them), raw sockets."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from vigil.api.serving import MAX_REQUEST_HEAD_BYTES

pytestmark = pytest.mark.integration


def _exchange(base_url: str, *requests: bytes, answers: int = 1) -> bytes:
    """Send ``requests`` on one connection; what the server answers, read until ``answers``
    status lines have come or the server closes the connection."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        for r in requests:
            try:
                s.sendall(r)
            except (BrokenPipeError, ConnectionResetError):
                break  # refused mid-send: the answer is already on its way
        out = b""
        try:
            while out.count(b"HTTP/1.1 ") < answers and (chunk := s.recv(65536)):
                out += chunk
        except ConnectionResetError:
            pass
    return out


def _get(path: str = "/health", header: bytes = b"") -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n"


def test_an_ordinary_request_is_served(base_url: str) -> None:
    answer = _exchange(base_url, _get(header=b"X-Note: " + b"a" * 8000 + b"\r\n"))
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


@pytest.mark.parametrize(
    ("what", "request_bytes"),
    [
        ("a huge header", _get(header=b"X-Big: " + b"a" * (MAX_REQUEST_HEAD_BYTES + 1) + b"\r\n")),
        ("a 20 MB header", _get(header=b"X-Big: " + b"a" * 20_000_000 + b"\r\n")),
        ("many headers", _get(header=b"".join(b"X-%d: v\r\n" % i for i in range(20_000)))),
        ("a huge URL", _get(path="/health?" + "q" * (MAX_REQUEST_HEAD_BYTES + 1))),
        ("a huge cookie", _get(header=b"Cookie: vigil_session=" + b"c" * 100_000 + b"\r\n")),
    ],
)
def test_a_huge_request_head_is_refused_with_431(
    base_url: str, what: str, request_bytes: bytes
) -> None:
    answer = _exchange(base_url, request_bytes)
    assert answer.startswith(b"HTTP/1.1 431"), (what, answer[:200])
    assert b"request line and headers over" in answer


def test_the_limit_is_per_request_on_a_kept_alive_connection(base_url: str) -> None:
    """Twenty requests with 6 KB heads, one after the other's answer on one connection (120 KB
    in all, over the limit together) are all served; a huge one after them is refused."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    ordinary = _get(header=b"X-Note: " + b"a" * 6000 + b"\r\n")
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        for _ in range(20):
            s.sendall(ordinary)
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                chunk = s.recv(65536)
                assert chunk, "the connection closed"
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        s.sendall(_get(header=b"X-Big: " + b"a" * 100_000 + b"\r\n"))
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
