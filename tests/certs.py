"""A throw-away certificate authority for the tests that speak TLS (the API, the broker's
device listener), made with openssl."""

from __future__ import annotations

import socket
import ssl
import subprocess
from pathlib import Path

import pytest


def make_ca_and_server_cert(root: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a certificate it signs for localhost and 127.0.0.1."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=root, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Vigil test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (root / "ext.cnf").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
        "extendedKeyUsage=serverAuth\n"
    )
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2",
            "-extfile", "ext.cnf")  # fmt: skip
    return root / "ca.pem", root / "server.pem", root / "server.key"


def assert_tls_only(port: int, connect: bytes) -> None:
    """The listener on ``port`` speaks TLS only: a client that does not trust its CA fails
    verification before sending anything, and a clear MQTT CONNECT (``connect``: the variable
    header and payload) gets no CONNACK (0x20)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as clear:
        clear.sendall(bytes([0x10, len(connect)]) + connect)
        try:
            answer = clear.recv(16)
        except (ConnectionResetError, TimeoutError):
            answer = b""
    assert not answer.startswith(b"\x20"), answer
