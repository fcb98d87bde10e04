"""Glucose Measurement (0x2A18) and Glucose Measurement Context (0x2A34), decoded as the GATT
Specification Supplement lays them out.

A meter sends a concentration in kg/L or mol/L: the gateway sends mg/dL (kg/L x 10^5) or mmol/L
(mol/L x 10^3), units the reading contract converts from. A result the meter could not measure
(above or below its range) becomes the contract's ``HIGH`` or ``LOW``; a control-solution test
and a failed strip are refused with their reason. The context's carbohydrate becomes a ``carbs``
reading (grams) at its measurement's time; the rest of the context goes into details.
"""

from __future__ import annotations

from datetime import timedelta, tzinfo
from decimal import Decimal

from vigil.gateway.errors import DecodeError
from vigil.gateway.models import Decoded, GatewayReading, number
from vigil.gateway.reader import Reader, bits

GLUCOSE_MEASUREMENT = 0x2A18
GLUCOSE_CONTEXT = 0x2A34

KG_PER_L_TO_MG_PER_DL = Decimal(10) ** 5
MOL_PER_L_TO_MMOL_PER_L = Decimal(10) ** 3
CONTROL_SOLUTION_TYPE = 10
CONTROL_SOLUTION_LOCATION = 4
TIME_OFFSET_OVERRUN = (32767, -32768)

SAMPLE_TYPES = {
    1: "capillary whole blood",
    2: "capillary plasma",
    3: "venous whole blood",
    4: "venous plasma",
    5: "arterial whole blood",
    6: "arterial plasma",
    7: "undetermined whole blood",
    8: "undetermined plasma",
    9: "interstitial fluid (ISF)",
    10: "control solution",
}
SAMPLE_LOCATIONS = {
    1: "finger",
    2: "alternate site test (AST)",
    3: "earlobe",
    4: "control solution",
    15: "not available",
}
ANNUNCIATION = {
    0: "device battery low",
    7: "sensor temperature too high for a valid result",
    8: "sensor temperature too low for a valid result",
    11: "time fault: the time may be inaccurate",
}
"""Sensor status bits kept as details (the value stands)."""
ANNUNCIATION_REFUSED = {
    1: "sensor malfunction or fault",
    2: "sample size insufficient",
    3: "strip insertion error",
    4: "strip type incorrect for the meter",
    9: "read interrupted: strip pulled too soon",
    10: "general device fault",
}
"""Sensor status bits that make the value no measurement."""
ABOVE_RANGE, BELOW_RANGE = 5, 6

CARBOHYDRATE_IDS = {
    1: "breakfast",
    2: "lunch",
    3: "dinner",
    4: "snack",
    5: "drink",
    6: "supper",
    7: "brunch",
}
MEALS = {
    1: "preprandial (before meal)",
    2: "postprandial (after meal)",
    3: "fasting",
    4: "casual (snacks, drinks)",
    5: "bedtime",
}
TESTERS = {1: "self", 2: "health care professional", 3: "lab test"}
HEALTH = {
    1: "minor health issues",
    2: "major health issues",
    3: "during menses",
    4: "under stress",
    5: "no health issues",
}
MEDICATIONS = {
    1: "rapid acting insulin",
    2: "short acting insulin",
    3: "intermediate acting insulin",
    4: "long acting insulin",
    5: "pre-mixed insulin",
}
NOT_AVAILABLE = 15


def glucose(data: bytes, tz: tzinfo) -> Decoded:
    """Flags, sequence number, base time, then as the flags say: time offset (minutes),
    concentration with type and sample location, sensor status annunciation."""
    r = Reader(data, "Glucose Measurement")
    flags = r.uint(1, "Flags")
    out = Decoded(GLUCOSE_MEASUREMENT, sequence=r.uint(2, "Sequence Number"))
    out.details["sequence_number"] = out.sequence
    ts = r.date_time("Base Time", tz)
    if flags & 0x01:
        offset = r.sint16("Time Offset")
        if offset in TIME_OFFSET_OVERRUN:
            out.details["time_offset"] = "overrun: the time is not known"
            ts = None
        elif ts is not None:
            ts += timedelta(minutes=offset)
    if not flags & 0x02:
        raise DecodeError("Glucose Measurement: no concentration (flag bit 1 clear)")
    concentration = r.sfloat("glucose concentration")
    type_location = r.uint(1, "Type-Sample Location")
    sample_type, location = type_location & 0x0F, type_location >> 4
    if sample_type == CONTROL_SOLUTION_TYPE or location == CONTROL_SOLUTION_LOCATION:
        raise DecodeError("Glucose Measurement: a control-solution test, not the patient's blood")
    out.details["sample_type"] = SAMPLE_TYPES.get(sample_type, f"reserved ({sample_type})")
    out.details["sample_location"] = SAMPLE_LOCATIONS.get(location, f"reserved ({location})")
    value: Decimal | str = (
        concentration * MOL_PER_L_TO_MMOL_PER_L
        if flags & 0x04
        else concentration * KG_PER_L_TO_MG_PER_DL
    )
    if flags & 0x08:
        status = r.uint(2, "Sensor Status Annunciation")
        for bit, reason in ANNUNCIATION_REFUSED.items():
            if status & (1 << bit):
                raise DecodeError(f"Glucose Measurement: the meter reports {reason}")
        if status & (1 << ABOVE_RANGE):
            value = "HIGH"
        elif status & (1 << BELOW_RANGE):
            value = "LOW"
        out.details["sensor_status"] = bits(status, ANNUNCIATION)
    if flags & 0x10:
        out.details["context_follows"] = True
    unit = "mmol/L" if flags & 0x04 else "mg/dL"
    out.readings.append(GatewayReading("glucose", unit, ts, value=value))
    return out


def glucose_context(data: bytes, tz: tzinfo) -> Decoded:
    """Flags, sequence number (of its Glucose Measurement), then as the flags say: extended
    flags, carbohydrate, meal, tester and health, exercise, medication, HbA1c. The context has
    no time of its own: its ``carbs`` reading takes the measurement's (``ts`` absent here)."""
    r = Reader(data, "Glucose Measurement Context")
    flags = r.uint(1, "Flags")
    out = Decoded(GLUCOSE_CONTEXT, sequence=r.uint(2, "Sequence Number"))
    out.details["sequence_number"] = out.sequence
    if flags & 0x80:
        r.uint(1, "Extended Flags")
    if flags & 0x01:
        carb_id = r.uint(1, "Carbohydrate ID")
        carbs_kg = r.sfloat("carbohydrate")
        out.details["carbohydrate_meal"] = CARBOHYDRATE_IDS.get(carb_id, f"reserved ({carb_id})")
        out.readings.append(GatewayReading("carbs", "g", None, value=carbs_kg * 1000))
    if flags & 0x02:
        meal = r.uint(1, "Meal")
        out.details["meal"] = MEALS.get(meal, f"reserved ({meal})")
    if flags & 0x04:
        tester_health = r.uint(1, "Tester-Health")
        tester, health = tester_health & 0x0F, tester_health >> 4
        if tester != NOT_AVAILABLE:
            out.details["tester"] = TESTERS.get(tester, f"reserved ({tester})")
        if health != NOT_AVAILABLE:
            out.details["health"] = HEALTH.get(health, f"reserved ({health})")
    if flags & 0x08:
        out.details["exercise_duration_s"] = r.uint(2, "Exercise Duration")
        out.details["exercise_intensity_percent"] = r.uint(1, "Exercise Intensity")
    if flags & 0x10:
        medication = r.uint(1, "Medication ID")
        amount = r.optional_sfloat("medication", out.details)
        out.details["medication"] = MEDICATIONS.get(medication, f"reserved ({medication})")
        if amount is not None:
            # kilograms (exponent -6: mg) or litres (exponent -3: mL), as flag bit 5 says
            out.details["medication_amount"] = (
                f"{number(amount * 1000)} mL" if flags & 0x20 else f"{number(amount * 10**6)} mg"
            )
    if flags & 0x40:
        hba1c = r.optional_sfloat("HbA1c", out.details)
        if hba1c is not None:
            out.details["hba1c_percent"] = number(hba1c)
    return out
