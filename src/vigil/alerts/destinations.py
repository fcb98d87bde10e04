"""Where a webhook may point: https (http only when allowed, for development), and never at
an address inside (loopback, link-local, private, multicast, unspecified, reserved), IPv4 or
IPv6, IPv4 embedded in IPv6 (mapped, 6to4, NAT64, Teredo) included.

Checked when a webhook is created and again at every delivery, on the addresses the name
resolves to then (DNS can change); the delivery connects to the address checked, so a
second lookup cannot swap it (see :class:`~vigil.alerts.dispatcher.WebhookDispatcher`).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import httpx

from vigil.core.errors import InvalidInput
from vigil.settings import Settings

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeDestination(InvalidInput):
    """A webhook URL that may not be called; the message says why."""


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    allow_http: bool = False
    """Plain http:// (development only: a notification carries patient data)."""
    allow_loopback: bool = False
    """127.0.0.0/8 and ::1 (tests and development: a receiver on this machine)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> DestinationPolicy:
        return cls(
            allow_http=settings.webhook_allow_http, allow_loopback=settings.webhook_allow_loopback
        )


@dataclass(frozen=True, slots=True)
class Destination:
    url: httpx.URL
    addresses: tuple[IP, ...]
    """The checked addresses to connect to, in the resolver's order."""

    def pinned_urls(self) -> list[httpx.URL]:
        """The URL with its host replaced by each checked address (the Host header and the
        TLS server name stay the original's: see the dispatcher)."""
        return [self.url.copy_with(host=str(a)) for a in self.addresses]


def _embedded_v4(ip: IP) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IP, policy: DestinationPolicy) -> str | None:
    """Why ``ip`` may not be called, or None.

    >>> p = DestinationPolicy()
    >>> [refusal(ipaddress.ip_address(a), p) for a in ("93.184.215.14", "::ffff:10.0.0.1")]
    [None, 'a private address (10.0.0.1)']
    """
    inner = _embedded_v4(ip)
    if inner is not None:
        return refusal(inner, policy)
    if ip.is_loopback:
        return None if policy.allow_loopback else f"a loopback address ({ip})"
    for kind, flag in (
        ("an unspecified", ip.is_unspecified),
        ("a link-local", ip.is_link_local),
        ("a multicast", ip.is_multicast),
        ("a private", ip.is_private),
        ("a reserved", ip.is_reserved),
        ("a non-global", not ip.is_global),
    ):
        if flag:
            return f"{kind} address ({ip})"
    return None


def check_destination(url: str, policy: DestinationPolicy) -> Destination:
    """Resolve ``url``'s host and check every address it resolves to; raise
    :class:`UnsafeDestination` unless all may be called."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise UnsafeDestination("the webhook URL is not a valid URL") from None
    if parsed.scheme != "https" and not (parsed.scheme == "http" and policy.allow_http):
        raise UnsafeDestination("a webhook URL must use https")
    host = parsed.host
    if not host:
        raise UnsafeDestination("the webhook URL has no host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeDestination(f"the webhook host {host!r} does not resolve") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in found]
    for address in addresses:
        why = refusal(address, policy)
        if why is not None:
            raise UnsafeDestination(f"the webhook host {host!r} resolves to {why}")
    return Destination(parsed, tuple(dict.fromkeys(addresses)))
