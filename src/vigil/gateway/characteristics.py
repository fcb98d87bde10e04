"""The characteristics the gateway decodes, by 16-bit UUID, and one ``decode`` for them all.

Time stamps: a Bluetooth Date Time is the device's local wall-clock time with no offset. The
gateway reads it in the time zone it is configured with (``timezone`` in its config, the
patient's home; ``vigil gateway decode --tz``), then sends UTC. A value without a time stamp
(heart rate, continuous oximetry, a device that does not know the date) is stamped with the
time the gateway received it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from vigil.gateway import decode_glucose, decode_pulse, decode_vitals
from vigil.gateway.errors import DecodeError
from vigil.gateway.models import Decoded

Decoder = Callable[[bytes, tzinfo], Decoded]

DECODERS: dict[int, tuple[str, Decoder]] = {
    decode_vitals.BLOOD_PRESSURE_MEASUREMENT: (
        "Blood Pressure Measurement",
        decode_vitals.blood_pressure,
    ),
    decode_glucose.GLUCOSE_MEASUREMENT: ("Glucose Measurement", decode_glucose.glucose),
    decode_glucose.GLUCOSE_CONTEXT: ("Glucose Measurement Context", decode_glucose.glucose_context),
    decode_vitals.WEIGHT_MEASUREMENT: ("Weight Measurement", decode_vitals.weight),
    decode_pulse.PLX_SPOT_CHECK: ("PLX Spot-Check Measurement", decode_pulse.plx_spot_check),
    decode_pulse.PLX_CONTINUOUS: ("PLX Continuous Measurement", decode_pulse.plx_continuous),
    decode_vitals.TEMPERATURE_MEASUREMENT: ("Temperature Measurement", decode_vitals.temperature),
    decode_pulse.HEART_RATE_MEASUREMENT: ("Heart Rate Measurement", decode_pulse.heart_rate),
}
RECORD_ACCESS_CONTROL_POINT = 0x2A52


def parse_uuid16(text: str) -> int:
    """``2A35``, ``0x2a35`` or the full ``00002a35-0000-1000-8000-00805f9b34fb``."""
    cleaned = text.strip().lower().removeprefix("0x")
    if len(cleaned) == 36 and cleaned.endswith("-0000-1000-8000-00805f9b34fb"):
        cleaned = cleaned[4:8]
    try:
        value = int(cleaned, 16)
    except ValueError:
        raise DecodeError(f"{text!r} is not a 16-bit characteristic UUID (like 2A35)") from None
    if value not in DECODERS:
        known = ", ".join(f"{u:04X} ({name})" for u, (name, _) in DECODERS.items())
        raise DecodeError(f"characteristic {value:04X} is not one the gateway decodes: {known}")
    return value


def decode(uuid16: int, data: bytes, tz: tzinfo) -> Decoded:
    """The readings ``data`` (a value of characteristic ``uuid16``) decodes to, or
    :class:`DecodeError` with the reason."""
    if uuid16 not in DECODERS:
        raise DecodeError(f"characteristic {uuid16:04X} is not one the gateway decodes")
    return DECODERS[uuid16][1](data, tz)
