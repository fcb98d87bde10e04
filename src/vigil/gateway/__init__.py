"""The home gateway: Bluetooth health devices (GATT) -> Vigil's MQTT reading contract.

Runs at the patient's home (a hub, a Raspberry Pi), not in the server: decoders of the SIG
health characteristics, a transport interface (bleak in production, bumble's virtual link in
tests and the demo), an on-disk queue and an MQTT publisher. See docs/gateway.md.
"""

from vigil.gateway.characteristics import DECODERS, decode, parse_uuid16
from vigil.gateway.errors import ConfigError, DecodeError, GatewayError
from vigil.gateway.models import Decoded, GatewayReading

__all__ = [
    "DECODERS",
    "ConfigError",
    "DecodeError",
    "Decoded",
    "GatewayError",
    "GatewayReading",
    "decode",
    "parse_uuid16",
]
