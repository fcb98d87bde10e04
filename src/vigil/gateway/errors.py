"""The gateway's failures: each carries a reason a person can act on."""

from __future__ import annotations


class GatewayError(Exception):
    """Base of the gateway's own errors."""


class DecodeError(GatewayError, ValueError):
    """A characteristic value that is refused: too short for its flags, a special or reserved
    IEEE-11073 value, a measurement the device itself marks unsuccessful. ``str()`` is the
    reason."""


class ConfigError(GatewayError):
    """A gateway configuration that cannot run (a missing device field, an unknown kind)."""
