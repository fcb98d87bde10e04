"""Missing data, driven by the clock: a patient who stopped measuring, a device gone silent.

>>> from datetime import UTC, datetime, timedelta
>>> from uuid import uuid4
>>> clock = MissingData()
>>> t0 = datetime(2026, 1, 5, 8, tzinfo=UTC)
>>> clock.seen(uuid4(), "scale-1", t0)
>>> clock.check(t0 + timedelta(hours=60)), len(clock.check(t0 + timedelta(hours=73)))
([], 1)
>>> clock.check(t0 + timedelta(hours=80))   # one finding per gap, not one per tick
[]

A patient whose CGM went quiet together with everything else is one gap, the patient's, told
once when the CGM's silence is long enough (a day), not a "device silent" and then a "missed
measurements" two days later:

>>> clock = MissingData()
>>> for i in range(10):
...     clock.seen("p2", "cgm-1", t0 + timedelta(minutes=5 * i))
>>> [f.cause for f in clock.check(t0 + timedelta(hours=25))]
['missed_measurements']
>>> clock.check(t0 + timedelta(hours=73))
[]
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import fmean
from uuid import UUID

from vigil.clinical.findings import Explanation, Finding, Severity
from vigil.core.metrics import Metric

MAX_GAPS = 8
TOGETHER = timedelta(hours=1)
"""A device that stopped within this of the patient's last reading from any device went quiet
together with the others: the patient is silent, not the device."""


WORN: frozenset[Metric] = frozenset({Metric.HEART_RATE, Metric.STEPS})
"""What a watch sends: a device that sends nothing else is taken off (charging, a shower, a
day without it) as a matter of course, unlike a CGM stuck to the skin."""


@dataclass(slots=True)
class _DeviceClock:
    last: datetime
    gaps: array[float] = field(default_factory=lambda: array("d"))
    """The last ``MAX_GAPS`` intervals between readings, seconds."""
    silent_reported: bool = False
    worn: bool = False
    """Whether it has sent only :data:`WORN` metrics (a watch)."""


@dataclass(slots=True)
class PatientClock:
    last: datetime
    received: datetime
    """When the newest of the patient's readings (whatever its data time) arrived."""
    devices: dict[str, _DeviceClock] = field(default_factory=dict)
    missing_reported: bool = False
    reported_through: datetime | None = None
    """``received`` when the gap was reported: a later upload that left the gap open, then
    silence for ``patient_gap`` again, is a new silence."""

    def report_missing(self) -> None:
        self.missing_reported = True
        self.reported_through = self.received


class MissingData:
    """Track when each patient and device last measured; report gaps on ``check(now)``.

    ``patient_gap``: no reading at all for this long (a forgotten day is normal, and so is a
    device offline for a day or two that uploads its backlog later; 72 h means three days
    without a single measurement). ``device_gap``: a continuous device (mean
    interval over its last 8 readings under 2 hours: CGM, wearable; the mean, not the median, so
    that a cuff's two readings a minute apart twice a day do not look continuous) silent for
    ``device_gap`` or six intervals. A day, not hours: a CGM out of its phone's range for an
    afternoon uploads its backlog later and is the patient's business, not the care team's.

    One finding per gap, and one gap per silence: when a continuous device's silence is long
    enough but the patient's other devices went quiet with it (nothing from any of them since
    ``TOGETHER`` after its last reading: a phone off, a stay away from home), the patient is
    silent, so the finding is ``missed_measurements``, at once (the continuous device shows it
    sooner than 72 h) and answered by a reading from any device, and no second finding follows
    at 72 h, nor a ``device_silent`` for that device's silence if the patient measures again
    without it (its silence was told; its next reading starts a new one). A device that stopped
    while the others kept reporting is ``device_silent``, answered by that device's own data;
    unless it is a watch (it has sent only heart rate and steps, :data:`WORN`): taken off for a
    day while the patient measures on is not a silent device (issue 27). A watch that goes quiet
    with everything else is still the patient's gap.
    """

    def __init__(
        self,
        patient_gap: timedelta = timedelta(hours=72),
        device_gap: timedelta = timedelta(hours=24),
    ) -> None:
        self.patient_gap = patient_gap
        self.device_gap = device_gap
        self.patients: dict[UUID, PatientClock] = {}

    def seen(
        self,
        patient_id: UUID,
        device_id: str,
        time: datetime,
        received: datetime | None = None,
        metric: Metric | None = None,
    ) -> None:
        """A reading taken at ``time`` arrived at ``received`` (default: then).

        A late reading (a backlog upload, oldest first) ends a reported gap only when it is
        recent where it arrives (within ``patient_gap``, ``device_gap`` for a device's
        silence): a backlog that still leaves a gap of days is the same gap, already told and
        answered (the alerts stage resolves its alert as answered by data), not a new silence
        for the clock to open another alert for at its next tick.
        """
        received = time if received is None else received
        self.note(self.clock(patient_id, time, received), device_id, time, received, metric)

    def clock(self, patient_id: UUID, time: datetime, received: datetime) -> PatientClock:
        """The patient's clock, started by the reading at ``time`` if it is their first."""
        clock = self.patients.get(patient_id)
        if clock is None:
            clock = self.patients[patient_id] = PatientClock(time, received)
        return clock

    def note(
        self,
        clock: PatientClock,
        device_id: str,
        time: datetime,
        received: datetime,
        metric: Metric | None = None,
    ) -> None:
        """:meth:`seen` on the patient's clock (:meth:`clock`), looked up once for a message's
        readings."""
        if time > clock.last:
            clock.last = time
        if received > clock.received:
            clock.received = received
        if clock.missing_reported and received - clock.last < self.patient_gap:
            clock.missing_reported = False
        device = clock.devices.get(device_id)
        if device is None:
            clock.devices[device_id] = _DeviceClock(time, worn=metric in WORN)
        elif time > device.last:
            if len(device.gaps) >= MAX_GAPS:
                del device.gaps[0]
            device.gaps.append((time - device.last).total_seconds())
            device.last = time
        if device is not None:
            if device.silent_reported and received - device.last < self.device_gap:
                device.silent_reported = False
            if device.worn and metric not in WORN:
                device.worn = False

    def check(self, now: datetime) -> list[Finding]:
        found: list[Finding] = []
        patient_since, device_since = now - self.patient_gap, now - self.device_gap
        for patient_id, clock in self.patients.items():
            if clock.last > patient_since:  # the patient measures: is a device silent?
                for device_id, device in clock.devices.items():
                    # the least allowance first: most devices, most ticks
                    if (
                        device.last <= device_since
                        and len(device.gaps) >= 4
                        and not device.silent_reported
                    ):
                        self._device(found, patient_id, clock, now, device_id, device)
                continue
            if not self._reported(clock, now):  # the patient's gap, not a device's
                gap = now - clock.last
                clock.report_missing()
                days = gap.total_seconds() / 86400
                found.append(
                    _finding(
                        patient_id,
                        "missed_measurements",
                        now,
                        f"No readings for {days:.1f} days (last on {clock.last:%d %b %H:%M} UTC), "
                        f"longer than the {self.patient_gap.total_seconds() / 3600:.0f} hours "
                        "allowed between measurements.",
                        gap.total_seconds(),
                        self.patient_gap.total_seconds(),
                    )
                )
        return found

    def _device(
        self,
        found: list[Finding],
        patient_id: UUID,
        clock: PatientClock,
        now: datetime,
        device_id: str,
        device: _DeviceClock,
    ) -> None:
        """A device silent for at least ``device_gap``: silent for longer than it allows?"""
        device_gap_s = self.device_gap.total_seconds()
        silent = (now - device.last).total_seconds()
        usual = fmean(device.gaps)
        if usual > 7200:
            return
        allowed = max(device_gap_s, 6 * usual)
        if silent < allowed:
            return
        device.silent_reported = True
        if clock.last - device.last <= TOGETHER:
            if not clock.missing_reported:
                clock.report_missing()
                found.append(
                    self._patient_silent(patient_id, clock, now, device_id, usual, allowed)
                )
            return
        if device.worn:
            return  # a watch off while the patient measures on: not a silent device
        found.append(
            _finding(
                patient_id,
                "device_silent",
                now,
                f"Device {device_id} silent for {silent / 3600:.1f} hours; it "
                f"usually reports every {usual / 60:.0f} minutes "
                f"(allowed: {allowed / 3600:.0f} hours).",
                silent,
                allowed,
                device_id=device_id,
            )
        )

    def _reported(self, clock: PatientClock, now: datetime) -> bool:
        """Whether this gap was told: once, unless an upload arrived after the telling (a
        partial backlog) and nothing has arrived since for ``patient_gap``."""
        if not clock.missing_reported:
            return False
        through = clock.reported_through
        renewed = through is not None and clock.received > through
        return not (renewed and now - clock.received >= self.patient_gap)

    @staticmethod
    def _patient_silent(
        patient_id: UUID,
        clock: PatientClock,
        now: datetime,
        device_id: str,
        usual: float,
        allowed: float,
    ) -> Finding:
        gap = (now - clock.last).total_seconds()
        return _finding(
            patient_id,
            "missed_measurements",
            now,
            f"No readings for {gap / 86400:.1f} days (last on {clock.last:%d %b %H:%M} UTC) from "
            f"any device: {device_id}, which usually reports every {usual / 60:.0f} minutes, "
            f"went quiet with the others (allowed: {allowed / 3600:.0f} hours).",
            gap,
            allowed,
            continuous_device=device_id,
        )


def _finding(
    patient_id: UUID,
    cause: str,
    now: datetime,
    sentence: str,
    value_s: float,
    threshold_s: float,
    **details: object,
) -> Finding:
    return Finding(
        patient_id=patient_id,
        cause=cause,
        metrics=(),
        time=now,
        detector="missing_data",
        severity=Severity.WARNING,
        score=value_s / threshold_s,
        explanation=Explanation(
            sentence=sentence,
            value=round(value_s / 3600, 1),
            threshold=round(threshold_s / 3600, 1),
            window_s=value_s,
            details={"unit": "hours", **details},
        ),
    )
