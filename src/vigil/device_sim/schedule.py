"""When each device measures: daily routines on local time, adherence, continuous sensors.

Adherence follows the home-monitoring literature in a simple form: a patient forgets a whole
day with probability ``1 - adherence`` (more at weekends), never two days running (longer gaps
are the labelled ``missed_measurements`` event), and skips single sessions now and then.
Continuous devices (CGM, wrist HR) have their own gaps: sensor warm-up, charging.
"""

from __future__ import annotations

import random

from vigil.device_sim.context import PlanContext
from vigil.device_sim.models import DAY, HOUR, MINUTE, DeviceKind, Event

Session = tuple[float, float]
"""A window of local hours in which a routine measurement happens."""


def _routine(ctx: PlanContext, kind: DeviceKind) -> tuple[list[Session], float, int]:
    """The device's daily sessions, the chance each happens on a remembered day, readings each."""
    conditions = set(ctx.patient.conditions)
    if kind == "bp_cuff":
        if "hypertension" in conditions:
            return [(6.5, 9.0), (19.0, 22.0)], 0.9, 2  # ESH: two readings, morning and evening
        if "heart_failure" in conditions:
            return [(6.5, 9.0)], 0.9, 1
        return [(7.0, 21.0)], 0.5, 1
    if kind == "scale":
        return [(6.0, 8.5)], 0.95 if "heart_failure" in conditions else 0.5, 1
    if kind == "glucometer":
        per_day = ctx.rng.choice((1, 2, 2, 3, 4))
        slots = [(6.5, 8.5), (20.0, 21.5), (14.0, 15.0), (22.0, 23.0)][:per_day]
        return slots, 0.9, 1
    if kind == "oximeter":
        return [(8.0, 10.0), (18.0, 21.0)], 0.9, 1
    if kind == "thermometer":
        return [(8.0, 10.0)], 0.8 if "copd" in conditions else 0.1, 1
    return [], 0.0, 0


def _continuous(ctx: PlanContext, kind: DeviceKind, start: int, end: int) -> list[int]:
    rng = ctx.rng
    out: list[int] = []
    if kind == "cgm":
        step = 5 * MINUTE
        sensor_start = start - rng.randint(0, 9) * DAY  # a sensor lasts 10 days
        gaps: list[tuple[int, int]] = []
        t = sensor_start
        while t < end:
            gaps.append((t, t + 2 * HOUR))  # warm-up after a sensor change
            t += 10 * DAY
        day = start
        while day < end:
            if rng.random() < 0.2:  # signal loss (phone out of range, compression)
                a = day + rng.randint(0, DAY - 1)
                gaps.append((a, a + rng.randint(15, 90) * MINUTE))
            day += DAY
    else:
        step = 15 * MINUTE
        gaps = []
        day = start
        while day < end:
            a = day + rng.randint(0, DAY - 1)
            gaps.append((a, a + HOUR))  # charging
            day += DAY
    gaps.sort()
    t = start + rng.randint(0, step - 1)
    gi = 0
    while t < end:
        while gi < len(gaps) and gaps[gi][1] <= t:
            gi += 1
        if not (gi < len(gaps) and gaps[gi][0] <= t < gaps[gi][1]):
            out.append(t)
        t += step
    return out


def measurement_times(
    ctx: PlanContext, events: list[Event], start: int, end: int
) -> dict[DeviceKind, list[int]]:
    """Every time each of the patient's devices measures during the run, sorted."""
    rng: random.Random = ctx.rng
    phys = ctx.phys
    patient = ctx.patient
    first, last = phys.local_day(start), phys.local_day(end)
    forgotten: set[int] = set()
    for d in range(first, last + 1):
        weekend = (phys.day0 + d + 3) % 7 >= 5  # 1970-01-01 was a Thursday
        p_measure = patient.adherence * (0.85 if weekend else 1.0)
        if d - 1 not in forgotten and rng.random() > p_measure:
            forgotten.add(d)
    times: dict[DeviceKind, list[int]] = {}
    for device in patient.devices:
        kind = device.kind
        if kind in ("cgm", "hr_wearable"):
            times[kind] = _continuous(ctx, kind, start, end)
            continue
        sessions, p_session, readings = _routine(ctx, kind)
        out: list[int] = []
        for d in range(first, last + 1):
            if d in forgotten:
                continue
            midnight = (phys.day0 + d) * DAY - phys.offset
            taken = [
                s for s in sessions if rng.random() < p_session * (0.5 + patient.adherence / 2)
            ]
            if not taken and p_session >= 0.9:
                taken = sessions[:1]  # a remembered day has at least one routine measurement
            for lo, hi in taken:
                t = midnight + int(rng.uniform(lo, hi) * HOUR)
                for i in range(readings):
                    out.append(t + i * rng.randint(60, 120))
        times[kind] = out
    for event in events:
        for kind, t in event.forced:
            if kind in times:
                times[kind].append(t)
    quiet = [(e.start, e.end) for e in events if e.suppress]
    for kind, ts in times.items():
        kept = {t for t in ts if start <= t < end and not any(a <= t <= b for a, b in quiet)}
        times[kind] = sorted(kept)
    return times
