"""Blood Pressure Measurement (0x2A35), Weight Measurement (0x2A9D), Temperature Measurement
(0x2A1C), decoded as the GATT Specification Supplement lays them out."""

from __future__ import annotations

from datetime import tzinfo
from decimal import Decimal
from typing import Any

from vigil.gateway.errors import DecodeError
from vigil.gateway.models import Decoded, GatewayReading, number
from vigil.gateway.reader import Reader, bits

BLOOD_PRESSURE_MEASUREMENT = 0x2A35
WEIGHT_MEASUREMENT = 0x2A9D
TEMPERATURE_MEASUREMENT = 0x2A1C

UNKNOWN_USER = 255

BP_STATUS = {
    0: "body movement during measurement",
    1: "cuff too loose",
    2: "irregular pulse detected",
    5: "improper measurement position",
}
BP_PULSE_RANGE = {1: "pulse rate exceeds upper limit", 2: "pulse rate is less than lower limit"}

WEIGHT_SI_KG = Decimal("0.005")
WEIGHT_IMPERIAL_LB = Decimal("0.01")
WEIGHT_UNSUCCESSFUL = 0xFFFF
BMI_STEP = Decimal("0.1")
HEIGHT_SI_M = Decimal("0.001")
HEIGHT_IMPERIAL_IN = Decimal("0.1")

TEMPERATURE_TYPES = {
    1: "armpit",
    2: "body (general)",
    3: "ear (usually ear lobe)",
    4: "finger",
    5: "gastro-intestinal tract",
    6: "mouth",
    7: "rectum",
    8: "toe",
    9: "tympanum (ear drum)",
}


def _user(r: Reader, details: dict[str, Any]) -> None:
    user = r.uint(1, "User ID")
    details["user_id"] = None if user == UNKNOWN_USER else user


def blood_pressure(data: bytes, tz: tzinfo) -> Decoded:
    """Flags, systolic/diastolic/MAP (SFLOAT, mmHg or kPa), then as the flags say: time stamp,
    pulse rate, user id, measurement status. MAP and the status go into details."""
    r = Reader(data, "Blood Pressure Measurement")
    flags = r.uint(1, "Flags")
    unit = "kPa" if flags & 0x01 else "mm[Hg]"
    out = Decoded(BLOOD_PRESSURE_MEASUREMENT)
    systolic = r.sfloat("systolic")
    diastolic = r.sfloat("diastolic")
    mean = r.optional_sfloat("mean arterial pressure", out.details)
    if mean is not None:
        out.details["mean_arterial_pressure"] = f"{number(mean)} {unit}"
    ts = r.date_time("Time Stamp", tz) if flags & 0x02 else None
    components = {"systolic": systolic, "diastolic": diastolic}
    if flags & 0x04:
        pulse = r.optional_sfloat("pulse rate", out.details)
        if pulse is not None:
            components["pulse"] = pulse
    if flags & 0x08:
        _user(r, out.details)
    if flags & 0x10:
        status = r.uint(2, "Measurement Status")
        named = bits(status, BP_STATUS)
        if (status >> 3) & 0x3 in BP_PULSE_RANGE:
            named.append(BP_PULSE_RANGE[(status >> 3) & 0x3])
        out.details["measurement_status"] = named
    out.readings.append(GatewayReading("blood_pressure", unit, ts, components=components))
    return out


def weight(data: bytes, tz: tzinfo) -> Decoded:
    """Flags, weight (uint16: 0.005 kg or 0.01 lb; 0xFFFF: measurement unsuccessful), then as
    the flags say: time stamp, user id, BMI and height (into details)."""
    r = Reader(data, "Weight Measurement")
    flags = r.uint(1, "Flags")
    imperial = bool(flags & 0x01)
    raw = r.uint(2, "Weight")
    if raw == WEIGHT_UNSUCCESSFUL:
        raise DecodeError(
            "Weight Measurement: weight 0xFFFF: the scale says measurement unsuccessful"
        )
    value = raw * (WEIGHT_IMPERIAL_LB if imperial else WEIGHT_SI_KG)
    out = Decoded(WEIGHT_MEASUREMENT)
    ts = r.date_time("Time Stamp", tz) if flags & 0x02 else None
    if flags & 0x04:
        _user(r, out.details)
    if flags & 0x08:
        out.details["bmi"] = number(r.uint(2, "BMI") * BMI_STEP)
        height = r.uint(2, "Height")
        out.details["height"] = (
            f"{number(height * HEIGHT_IMPERIAL_IN)} in"
            if imperial
            else f"{number(height * HEIGHT_SI_M)} m"
        )
    out.readings.append(
        GatewayReading("body_weight", "[lb_av]" if imperial else "kg", ts, value=value)
    )
    return out


def temperature(data: bytes, tz: tzinfo) -> Decoded:
    """Flags, temperature (FLOAT, Celsius or Fahrenheit), then as the flags say: time stamp,
    temperature type (into details)."""
    r = Reader(data, "Temperature Measurement")
    flags = r.uint(1, "Flags")
    value = r.float32("temperature")
    out = Decoded(TEMPERATURE_MEASUREMENT)
    ts = r.date_time("Time Stamp", tz) if flags & 0x02 else None
    if flags & 0x04:
        kind = r.uint(1, "Temperature Type")
        out.details["temperature_type"] = TEMPERATURE_TYPES.get(kind, f"reserved ({kind})")
    unit = "[degF]" if flags & 0x01 else "Cel"
    out.readings.append(GatewayReading("body_temperature", unit, ts, value=value))
    return out
