"""What is usual for this patient: personal baselines of every vital, by part of day.

Every vital (heart rate, SpO2, blood pressure, temperature, weight, glucose) has an
exponentially weighted mean and variance (``river.stats.EWMean`` / ``EWVar``) of the patient's
own readings. Heart rate, blood pressure and glucose have one per part of the patient's local
day (night 0-6 h, morning 6-12 h, afternoon 12-18 h, evening 18-24 h): resting heart rate falls
at night, blood pressure surges in the morning, glucose rises at dawn. A dense stream (a CGM, a
wrist wearable) is thinned to one reading per ``slot`` (30 minutes) per metric, so a bucket
remembers days, not hours. The engine lets them learn only from readings that raised no alarm,
and rebuilds them with the rest of a patient's state by replay (a detect worker's restart).

The engine adds the usual value to the explanation of every finding, in English and Korean:

>>> from datetime import UTC, datetime, timedelta
>>> b = PersonalBaselines()
>>> t0 = datetime(2026, 1, 5, 8, tzinfo=UTC)
>>> for day in range(6):
...     t = t0 + timedelta(days=day)
...     b.learn(Metric.BP_SYSTOLIC, t, 118 + day % 2, UTC)
...     b.learn(Metric.BP_DIASTOLIC, t, 76, UTC)
>>> u = b.describe((Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC), t0 + timedelta(days=7), UTC)
>>> print(u["en"]); print(u["ko"])
This patient's mornings are usually around 118/76 mmHg.
이 환자의 아침 혈압은 보통 118/76 mmHg 정도입니다.
"""

from __future__ import annotations

import math
from array import array
from datetime import UTC, datetime, timezone, tzinfo
from typing import Any, ClassVar, NamedTuple

from vigil.clinical.personal import ACTIVE_STEPS_PER_MIN, ACTIVITY_RECOVERY_S
from vigil.core.metrics import Metric
from vigil.streaming.base import Observation, fmt

VITALS: tuple[Metric, ...] = (
    Metric.HEART_RATE,
    Metric.SPO2,
    Metric.BP_SYSTOLIC,
    Metric.BP_DIASTOLIC,
    Metric.BODY_TEMPERATURE,
    Metric.BODY_WEIGHT,
    Metric.GLUCOSE,
)
BY_PART_OF_DAY = frozenset(
    {Metric.HEART_RATE, Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC, Metric.GLUCOSE}
)
PARTS: tuple[tuple[str, str, str], ...] = (
    ("night", "nights", "밤"),
    ("morning", "mornings", "아침"),
    ("afternoon", "afternoons", "오후"),
    ("evening", "evenings", "저녁"),
)
"""(key, English plural, Korean) for 0-6, 6-12, 12-18, 18-24 h local time."""
ALL_DAY = "day"
NAMES: dict[Metric, tuple[str, str]] = {
    Metric.HEART_RATE: ("heart rate", "심박수는"),
    Metric.SPO2: ("SpO2", "산소포화도는"),
    Metric.BP_SYSTOLIC: ("systolic blood pressure", "수축기 혈압은"),
    Metric.BP_DIASTOLIC: ("diastolic blood pressure", "이완기 혈압은"),
    Metric.BODY_TEMPERATURE: ("temperature", "체온은"),
    Metric.BODY_WEIGHT: ("weight", "체중은"),
    Metric.GLUCOSE: ("glucose", "혈당은"),
}
"""English name; Korean name with its topic particle."""
UNUSUAL_METRICS = frozenset(VITALS) - {Metric.GLUCOSE}
"""Which vitals can be unusual for the patient: not glucose, which meals move by 60 mg/dL or
more every day and which its own range rules watch (a small run raised 0.27 false
"unusual" alerts per CGM patient-day with it)."""
MIN_DEPARTURE: dict[Metric, float] = {
    Metric.HEART_RATE: 20.0,
    Metric.SPO2: 4.0,
    Metric.BP_SYSTOLIC: 25.0,
    Metric.BP_DIASTOLIC: 15.0,
    Metric.BODY_TEMPERATURE: 1.0,
    Metric.BODY_WEIGHT: 2.0,
    Metric.GLUCOSE: 60.0,
}
"""The least departure from the usual mean that can count as unusual, whatever the spread (a
very steady patient's SD is small): roughly what a clinician would call a real change."""


def part_of_day(time: datetime, zone: tzinfo) -> int:
    """0-3: night, morning, afternoon, evening in the zone. A fixed offset from a UTC time is
    an addition (what ``astimezone`` does for one, without making the converted datetime)."""
    if type(zone) is timezone and time.tzinfo is UTC:
        return (time + zone.utcoffset(None)).hour // 6
    return time.astimezone(zone).hour // 6


def moving(obs: Observation) -> bool:
    """Whether the patient is moving at the observation's time, or was within
    :data:`ACTIVITY_RECOVERY_S` before it: a wearable's steps per minute at or above
    :data:`ACTIVE_STEPS_PER_MIN` at this instant (the latest values) or learned earlier."""
    now = obs.epoch
    steps = obs.latest.get(_STEPS)
    if (
        steps is not None
        and steps[1] >= ACTIVE_STEPS_PER_MIN
        and 0 <= now - steps[0].timestamp() <= ACTIVITY_RECOVERY_S
    ):
        return True
    last = obs.usual.last_active() if obs.usual is not None else math.nan
    return 0 <= now - last <= ACTIVITY_RECOVERY_S


class Usual(NamedTuple):
    """Immutable; a tuple, made for every reading of a vital the patient has a usual for (a
    frozen dataclass's ``__init__`` cost more than the lookup)."""

    metric: Metric
    part: str
    """A part of day (``morning``), or ``day`` for the whole day."""
    mean: float
    sd: float
    n: int


_new_usual = tuple.__new__
"""``Usual(...)`` without the named tuple's ``__new__`` (a Python call), for every lookup."""
_VITALS = frozenset(VITALS)
_STEPS = Metric.STEPS
"""A module constant: in Python 3.11 an enum member looked up on its class goes through
``EnumType.__getattr__``."""
_INDEX: dict[Metric, int] = {m: i for i, m in enumerate((*VITALS, Metric.STEPS))}
_ABSENT = 255
_HEAD = 2
"""Each vital's block starts with the time it was last learned and its run of departures."""
_CELL = 3
"""Then one cell per band (the whole day, then the parts of day): readings, exponentially
weighted mean, exponentially weighted mean of squares."""


def _bands(metric: Metric) -> int:
    if metric is Metric.STEPS:
        return 0  # its block is the time of the last active minute
    return 1 + len(PARTS) if metric in BY_PART_OF_DAY else 1


class PersonalBaselines:
    """One patient's baselines (not thread-safe; the engine owns it), in compact form: one array
    of doubles holding, for each vital the patient sends (a block added at its first reading),
    the time it was last learned, its run of departures from the usual (:class:`Unusual`) and
    one cell per band (readings, mean, mean of squares), the exponentially weighted statistics
    of ``river.stats.EWMean`` / ``EWVar`` computed the same way (the same figures to the last
    bit: ``tests/streaming/test_usual.py``). About 200 bytes for a patient's blood pressure,
    against 3 KB as river objects per cell."""

    __slots__ = ("data", "offsets")
    fading_factor: ClassVar[float] = 0.1
    grace_period: ClassVar[int] = 5
    """Readings a bucket needs before it says what is usual."""
    slot_s: ClassVar[float] = 1800.0

    def __init__(self) -> None:
        self.data = array("d")
        self.offsets = bytes((_ABSENT,)) * len(_INDEX)
        """Where each vital's block starts in ``data`` (255: none yet)."""

    def __getstate__(self) -> tuple[bytes, bytes]:
        return self.data.tobytes(), self.offsets

    def __setstate__(self, state: tuple[bytes, bytes]) -> None:
        self.data = array("d")
        self.data.frombytes(state[0])
        self.offsets = state[1]

    def _block(self, metric: Metric, create: bool = False) -> int:
        """Where the metric's block starts (-1: none, or not a vital)."""
        index = _INDEX.get(metric)
        if index is None:
            return -1
        start = self.offsets[index]
        if start != _ABSENT:
            return start
        if not create:
            return -1
        start = len(self.data)
        self.data.extend([math.nan, 0.0] + [0.0] * (_CELL * _bands(metric)))
        offsets = bytearray(self.offsets)
        offsets[index] = start
        self.offsets = bytes(offsets)
        return start

    def _update(self, cell: int, value: float) -> None:
        data, a = self.data, self.fading_factor
        if data[cell] == 0:
            data[cell + 1] = value
            data[cell + 2] = value * value
        else:
            data[cell + 1] = a * value + (1 - a) * data[cell + 1]
            data[cell + 2] = a * (value * value) + (1 - a) * data[cell + 2]
        data[cell] += 1

    def note_activity(self, time: datetime, steps: float) -> None:
        """A wearable's steps per minute: from :data:`ACTIVE_STEPS_PER_MIN` on, the patient
        is moving (:func:`moving`)."""
        if steps < ACTIVE_STEPS_PER_MIN:
            return
        start = self._block(_STEPS, create=True)
        now = time.timestamp()
        if not now <= self.data[start]:  # NaN at first
            self.data[start] = now

    def last_active(self) -> float:
        """Epoch seconds of the patient's last active minute (NaN: none yet)."""
        start = self._block(_STEPS)
        return math.nan if start < 0 else self.data[start]

    def learn(
        self, metric: Metric, time: datetime, value: float, zone: tzinfo, now: float | None = None
    ) -> None:
        """Learn a reading (``now``: ``time.timestamp()``, if the caller has it already)."""
        if metric not in _VITALS:
            return
        start = self.offsets[_INDEX[metric]]
        if start == _ABSENT:
            start = self._block(metric, create=True)
        if now is None:
            now = time.timestamp()
        if now - self.data[start] < self.slot_s:  # False while the last time is NaN
            return  # a dense stream: one reading per slot
        self.data[start] = now
        self._update(start + _HEAD, value)
        if metric in BY_PART_OF_DAY:
            self._update(start + _HEAD + _CELL * (1 + part_of_day(time, zone)), value)

    def count(self, metric: Metric, part: str = ALL_DAY) -> int:
        """Readings learned in a band (``day`` or a part of day)."""
        start = self._block(metric) if metric in VITALS else -1
        if start < 0:
            return 0
        band = 0 if part == ALL_DAY else 1 + [p[0] for p in PARTS].index(part)
        return int(self.data[start + _HEAD + _CELL * band])

    def usual(self, metric: Metric, time: datetime, zone: tzinfo) -> Usual | None:
        """The usual value at this time of day (or over the day), once known."""
        if metric not in _VITALS:
            return None
        start = self.offsets[_INDEX[metric]]
        if start == _ABSENT:
            return None
        data = self.data
        if metric in BY_PART_OF_DAY:
            part = part_of_day(time, zone)
            cell = start + _HEAD + _CELL * (1 + part)
            if data[cell] >= self.grace_period:
                return _usual(metric, PARTS[part][0], data, cell)
        cell = start + _HEAD
        if data[cell] >= self.grace_period:
            return _usual(metric, ALL_DAY, data, cell)
        return None

    def streak(self, metric: Metric) -> int:
        """+n / -n readings in a row above / below the usual range (:class:`Unusual`)."""
        start = self._block(metric)
        return 0 if start < 0 else int(self.data[start + 1])

    def set_streak(self, metric: Metric, run: int) -> None:
        start = self._block(metric, create=run != 0)
        if start >= 0:
            self.data[start + 1] = run

    def describe(self, metrics: tuple[Metric, ...], time: datetime, zone: tzinfo) -> dict[str, Any]:
        """What is usual for the metrics of a finding: ``en`` and ``ko`` sentences and the
        figures (``values``: metric -> mean, SD, readings, part of day)."""
        vitals = [m for m in metrics if m in VITALS]
        if not vitals:
            return {}
        known = {m: u for m in vitals if (u := self.usual(m, time, zone)) is not None}
        values = {
            m.value: {"mean": round(u.mean, 1), "sd": round(u.sd, 1), "n": u.n, "part": u.part}
            for m, u in known.items()
        }
        phrases_en: list[str] = []
        phrases_ko: list[str] = []
        rest = list(vitals)
        bp = (Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC)
        if all(m in known for m in bp) and all(m in rest for m in bp):
            s, d = known[bp[0]], known[bp[1]]
            phrases_en.append(_en(s.part, "blood pressure", f"{s.mean:.0f}/{d.mean:.0f} mmHg"))
            phrases_ko.append(_ko(s.part, "혈압은", f"{s.mean:.0f}/{d.mean:.0f} mmHg"))
            rest = [m for m in rest if m not in bp]
        for m in rest:
            u = known.get(m)
            if u is None:
                continue
            phrases_en.append(_en(u.part, NAMES[m][0], fmt(m, u.mean)))
            phrases_ko.append(_ko(u.part, NAMES[m][1], fmt(m, u.mean)))
        if not phrases_en:
            names_en = ", ".join(NAMES[m][0] for m in vitals)
            names_ko = ", ".join(NAMES[m][1][:-1] for m in vitals)
            return {
                "en": f"Not enough of this patient's readings yet to say what is usual "
                f"({names_en}).",
                "ko": f"이 환자의 평소 값({names_ko})을 알기에는 아직 측정이 부족합니다.",
                "values": {},
            }
        return {"en": " ".join(phrases_en), "ko": " ".join(phrases_ko), "values": values}


def _usual(metric: Metric, part: str, data: array[float], cell: int) -> Usual:
    mean = data[cell + 1]
    var = data[cell + 2] - mean * mean
    sd = math.sqrt(0.0 if var < 0.0 else var)  # max(var, 0.0), without the builtin's call
    return _new_usual(Usual, (metric, part, mean, sd, int(data[cell])))


def _en(part: str, name: str, value: str) -> str:
    if part == ALL_DAY:
        return f"This patient's {name} is usually around {value}."
    plural = next(p[1] for p in PARTS if p[0] == part)
    if name == "blood pressure":
        return f"This patient's {plural} are usually around {value}."
    when = "at night" if part == "night" else f"in the {part}"
    return f"This patient's {name} {when} is usually around {value}."


def _ko(part: str, name: str, value: str) -> str:
    when = "" if part == ALL_DAY else next(p[2] for p in PARTS if p[0] == part) + " "
    return f"이 환자의 {when}{name} 보통 {value} 정도입니다."


class Unusual:
    """A low-severity "unusual for this patient" finding: a reading at least ``k`` SDs (and
    :data:`MIN_DEPARTURE`) away from the patient's usual value at this time of day, on two
    readings of the metric in a row, in the same direction (one odd reading is noise).
    Departures stay out of the baseline until ``new_normal`` of them in a row. The rule; each
    patient's runs of departures are kept with their baselines
    (:meth:`PersonalBaselines.streak`)."""

    __slots__ = ("k", "new_normal")

    def __init__(self, k: float = 3.0, new_normal: int = 6) -> None:
        self.k = k
        self.new_normal = new_normal

    def departure(self, usual: Usual | None, value: float) -> int:
        if usual is None or usual.metric not in UNUSUAL_METRICS:
            return 0
        delta = value - usual.mean
        spread, least = self.k * usual.sd, MIN_DEPARTURE[usual.metric]
        if abs(delta) < (least if least > spread else spread):  # max(spread, least)
            return 0
        return 1 if delta > 0 else -1

    @staticmethod
    def confirmed(baselines: PersonalBaselines, metric: Metric, direction: int) -> bool:
        return direction != 0 and baselines.streak(metric) * direction > 0

    def learnable(self, run: int) -> bool:
        """Whether the reading just remembered (``run``: the run :meth:`remember` left) may
        enter the baseline: not a departure, unless ``new_normal`` departures in a row say the
        patient's normal has moved (a new drug)."""
        return run == 0 or abs(run) >= self.new_normal

    @staticmethod
    def remember(baselines: PersonalBaselines, metric: Metric, direction: int) -> int:
        """Note the reading's departure (+1 / -1 / 0) in the metric's run; returns the run."""
        previous = baselines.streak(metric)
        run = previous + direction if previous * direction > 0 else direction
        if run != previous:
            baselines.set_streak(metric, run)
        return run
