"""Heart Rate Measurement (0x2A37), PLX Spot-Check (0x2A5E) and PLX Continuous (0x2A5F)
Measurement, decoded as the GATT Specification Supplement lays them out."""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal

from vigil.gateway.errors import DecodeError
from vigil.gateway.models import Decoded, GatewayReading, number
from vigil.gateway.reader import Reader, bits

HEART_RATE_MEASUREMENT = 0x2A37
PLX_SPOT_CHECK = 0x2A5E
PLX_CONTINUOUS = 0x2A5F

RR_INTERVAL_PER_S = 1024
"""An RR-interval counts 1/1024 s."""
CONTACT_NOT_DETECTED = 2
"""Sensor Contact Status 2: the feature is supported and the sensor is not touching skin."""

PLX_STATUS = {
    5: "measurement ongoing",
    6: "early estimated data",
    7: "validated data",
    8: "fully qualified data",
    9: "data from measurement storage",
    10: "data for demonstration",
    11: "data for testing",
    12: "calibration ongoing",
    13: "measurement unavailable",
    14: "questionable measurement detected",
    15: "invalid measurement detected",
}
PLX_REFUSED = {
    10: "data for demonstration, not the patient's",
    11: "data for testing, not the patient's",
    13: "the oximeter says measurement unavailable",
    15: "the oximeter says invalid measurement detected",
}
"""Measurement status bits that make a value not a patient's measurement."""
PLX_DEVICE_STATUS = {
    0: "extended display update ongoing",
    1: "equipment malfunction detected",
    2: "signal processing irregularity detected",
    3: "inadequate signal detected",
    4: "poor signal detected",
    5: "low perfusion detected",
    6: "erratic signal detected",
    7: "nonpulsatile signal detected",
    8: "questionable pulse detected",
    9: "signal analysis ongoing",
    10: "sensor interference detected",
    11: "sensor unconnected to user",
    12: "unknown sensor connected",
    13: "sensor displaced",
    14: "sensor malfunctioning",
    15: "sensor disconnected",
}


def heart_rate(data: bytes, tz: tzinfo) -> Decoded:
    """Flags, heart rate (uint8 or uint16 /min), then as the flags say: energy expended (kJ)
    and RR-intervals (1/1024 s, into details in ms). No time stamp in this characteristic."""
    r = Reader(data, "Heart Rate Measurement")
    flags = r.uint(1, "Flags")
    rate = r.uint(2 if flags & 0x01 else 1, "Heart Rate Measurement Value")
    if (flags >> 1) & 0x3 == CONTACT_NOT_DETECTED:
        raise DecodeError("Heart Rate Measurement: the sensor reports no skin contact")
    out = Decoded(HEART_RATE_MEASUREMENT)
    if flags & 0x08:
        out.details["energy_expended_kj"] = r.uint(2, "Energy Expended")
    if flags & 0x10:
        raw = r.rest()
        if not raw or len(raw) % 2:
            raise DecodeError(
                f"Heart Rate Measurement: RR-Interval field of {len(raw)} bytes is not whole"
                " uint16 values"
            )
        out.details["rr_intervals_ms"] = [
            number(Decimal(int.from_bytes(raw[i : i + 2], "little")) * 1000 / RR_INTERVAL_PER_S)
            for i in range(0, len(raw), 2)
        ]
    out.readings.append(GatewayReading("heart_rate", "/min", None, value=Decimal(rate)))
    return out


def _measurement_status(r: Reader, out: Decoded) -> None:
    status = r.uint(2, "Measurement Status")
    for bit, reason in PLX_REFUSED.items():
        if status & (1 << bit):
            raise DecodeError(f"{r.what}: {reason}")
    out.details["measurement_status"] = bits(status, PLX_STATUS)


def _status_and_pai(r: Reader, out: Decoded, present: int) -> None:
    """The fields both PLX measurements end with, in order, as three flag bits say: measurement
    status, device and sensor status, pulse amplitude index."""
    if present & 0x1:
        _measurement_status(r, out)
    if present & 0x2:
        out.details["device_and_sensor_status"] = bits(
            r.uint(3, "Device and Sensor Status"), PLX_DEVICE_STATUS
        )
    if present & 0x4:
        pai = r.optional_sfloat("pulse amplitude index", out.details)
        if pai is not None:
            out.details["pulse_amplitude_index_percent"] = number(pai)


def _pulse_ox(out: Decoded, spo2: Decimal, rate: Decimal, ts: datetime | None) -> None:
    out.readings.append(GatewayReading("spo2", "%", ts, value=spo2))
    out.readings.append(GatewayReading("heart_rate", "/min", ts, value=rate))


def plx_spot_check(data: bytes, tz: tzinfo) -> Decoded:
    """Flags, SpO2 and pulse rate (SFLOAT), then as the flags say: time stamp, measurement
    status, device and sensor status, pulse amplitude index. Flag bit 4 (device clock not set)
    drops the time stamp."""
    r = Reader(data, "PLX Spot-Check Measurement")
    flags = r.uint(1, "Flags")
    out = Decoded(PLX_SPOT_CHECK)
    spo2 = r.sfloat("SpO2")
    rate = r.sfloat("pulse rate")
    ts = r.date_time("Timestamp", tz) if flags & 0x01 else None
    if flags & 0x10 and ts is not None:
        out.details["timestamp_dropped"] = "the oximeter's clock is not set"
        ts = None
    _status_and_pai(r, out, (flags >> 1) & 0x7)
    _pulse_ox(out, spo2, rate, ts)
    return out


def plx_continuous(data: bytes, tz: tzinfo) -> Decoded:
    """Flags, SpO2PR-Normal (SpO2 and pulse rate), then as the flags say: SpO2PR-Fast,
    SpO2PR-Slow (into details), measurement status, device and sensor status, pulse amplitude
    index. No time stamp in this characteristic."""
    r = Reader(data, "PLX Continuous Measurement")
    flags = r.uint(1, "Flags")
    out = Decoded(PLX_CONTINUOUS)
    spo2 = r.sfloat("SpO2")
    rate = r.sfloat("pulse rate")
    for bit, name in ((0x01, "fast"), (0x02, "slow")):
        if flags & bit:
            fast_spo2 = r.optional_sfloat(f"SpO2PR-{name} SpO2", out.details)
            fast_rate = r.optional_sfloat(f"SpO2PR-{name} PR", out.details)
            out.details[f"spo2pr_{name}"] = [
                None if v is None else number(v) for v in (fast_spo2, fast_rate)
            ]
    _status_and_pai(r, out, (flags >> 2) & 0x7)
    _pulse_ox(out, spo2, rate, None)
    return out
