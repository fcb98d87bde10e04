"""Insulin on board and carbohydrate on board: what a pump's records say glucose will do.

Insulin action follows the exponential curve of OpenAPS and Loop (``ExponentialInsulinModel``,
after Dragan Maksimovic's derivation, LoopKit/Loop#388 and OpenAPS oref0 ``iob/calculate.js``):
with duration of action ``td`` and peak activity at ``tp`` minutes,

    tau = tp (1 - tp/td) / (1 - 2 tp/td),   a = 2 tau / td,   S = 1 / (1 - a + (1 + a) e^(-td/tau))
    activity(t) = S / tau^2 * t (1 - t/td) e^(-t/tau)
    IOB(t) = 1 - S (1 - a) ((t^2 / (tau td (1 - a)) - t/tau - 1) e^(-t/tau) + 1)

for rapid-acting analogues with ``td`` = 6 h and ``tp`` = 75 min (Loop's "Rapid-Acting Adult"
preset). Carbohydrate is absorbed linearly over ``absorption_min`` (3 h, Loop's default medium
absorption). Predicted glucose ``h`` minutes ahead is the glucose now less the insulin
sensitivity times the insulin that acts within ``h``, plus sensitivity over carb ratio times
the carbohydrate absorbed within ``h`` (the sum of Loop's insulin and carbohydrate effects).

>>> round(insulin_on_board(0.0), 3), round(insulin_on_board(75.0), 3), insulin_on_board(360.0)
(1.0, 0.694, 0.0)
>>> max(range(0, 361, 5), key=insulin_activity)
75
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vigil.clinical.careplan import InsulinSettings
from vigil.streaming.window import Window

DIA_MIN = 360.0
"""Duration of insulin action (minutes) of rapid-acting analogues (Loop, OpenAPS: 5-6 h)."""
PEAK_MIN = 75.0
"""Minutes to peak insulin activity (Loop's rapid-acting adult curve; 65 for children)."""
CARB_ABSORPTION_MIN = 180.0
"""Minutes over which a meal's carbohydrate is absorbed (Loop's default, 3 h)."""


def _shape(td: float, tp: float) -> tuple[float, float, float]:
    tau = tp * (1 - tp / td) / (1 - 2 * tp / td)
    a = 2 * tau / td
    s = 1 / (1 - a + (1 + a) * math.exp(-td / tau))
    return tau, a, s


def insulin_on_board(minutes: float, td: float = DIA_MIN, tp: float = PEAK_MIN) -> float:
    """The fraction of a bolus still to act ``minutes`` after it (1 at 0, 0 from ``td`` on)."""
    if minutes <= 0:
        return 1.0
    if minutes >= td:
        return 0.0
    tau, a, s = _shape(td, tp)
    t = minutes
    return 1 - s * (1 - a) * ((t * t / (tau * td * (1 - a)) - t / tau - 1) * math.exp(-t / tau) + 1)


def insulin_activity(minutes: float, td: float = DIA_MIN, tp: float = PEAK_MIN) -> float:
    """The fraction of a bolus acting per minute, ``minutes`` after it (largest at ``tp``)."""
    if minutes <= 0 or minutes >= td:
        return 0.0
    tau, _, s = _shape(td, tp)
    return s / tau**2 * minutes * (1 - minutes / td) * math.exp(-minutes / tau)


def carbs_absorbed(minutes: float, absorption: float = CARB_ABSORPTION_MIN) -> float:
    """The fraction of a meal's carbohydrate absorbed ``minutes`` after it was entered."""
    return min(max(minutes / absorption, 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class Forecast:
    lowest_mg_dl: float
    """The lowest predicted glucose within the horizon."""
    at_min: float
    """Minutes from now to that lowest point."""
    insulin_on_board_u: float
    carbs_on_board_g: float
    below_at_min: float | None = None
    """Minutes from now to the first predicted value below ``level`` (None: none is)."""


class InsulinForecast:
    """One patient's recent boluses and entered carbohydrate, and what they predict.

    Memory is bounded: ``maxlen`` records of each (a day of meals and corrections) within the
    duration of insulin action.

    >>> fc = InsulinForecast()
    >>> fc.add_insulin(0.0, 4.0)
    >>> fc.add_carbs(0.0, 50.0)
    >>> settings = InsulinSettings(sensitivity_mg_dl_per_u=50, carb_ratio_g_per_u=12.5)
    >>> f = fc.predict(60 * 60.0, 150.0, settings, horizon_min=40)
    >>> round(f.insulin_on_board_u, 1), round(f.carbs_on_board_g), round(f.lowest_mg_dl)
    (3.1, 33, 149)
    >>> fc.add_insulin(61 * 60.0, 4.0)  # the bolus taken again
    >>> f = fc.predict(90 * 60.0, 150.0, settings, horizon_min=40)
    >>> round(f.insulin_on_board_u, 1), round(f.lowest_mg_dl), f.at_min
    (6.2, 112, 40.0)
    """

    __slots__ = ("carbs", "doses", "maxlen")

    def __init__(self, maxlen: int = 12) -> None:
        self.maxlen = maxlen
        self.doses: Window | tuple[()] = ()
        self.carbs: Window | tuple[()] = ()
        """(epoch seconds, units / grams), in flat arrays made at the first record: most
        patients have no pump."""

    def add_insulin(self, t: float, units: float) -> None:
        if isinstance(self.doses, tuple):
            self.doses = Window(self.maxlen)
        if not self.doses or t > self.doses[-1][0]:
            self.doses.append((t, units))

    def add_carbs(self, t: float, grams: float) -> None:
        if isinstance(self.carbs, tuple):
            self.carbs = Window(self.maxlen)
        if not self.carbs or t > self.carbs[-1][0]:
            self.carbs.append((t, grams))

    def active(self, now: float) -> bool:
        """Whether a bolus given by ``now`` is still acting."""
        return any(0 <= now - t < DIA_MIN * 60 for t, _ in self.doses)

    def predict(
        self,
        now: float,
        glucose: float,
        settings: InsulinSettings,
        *,
        horizon_min: float,
        step_min: float = 5.0,
        level: float | None = None,
    ) -> Forecast:
        """Glucose predicted every ``step_min`` up to ``horizon_min`` from ``glucose`` at
        ``now`` (epoch seconds); only records taken by ``now`` count."""
        isf = settings.sensitivity_mg_dl_per_u
        per_g = isf / settings.carb_ratio_g_per_u
        doses = [((now - t) / 60, u) for t, u in self.doses if 0 <= now - t < DIA_MIN * 60]
        meals = [((now - t) / 60, g) for t, g in self.carbs if 0 <= now - t < DIA_MIN * 60]
        lowest, at = glucose, 0.0
        below: float | None = None
        steps = int(horizon_min // step_min)
        for k in range(1, steps + 1):
            h = k * step_min
            drop = isf * sum(u * (insulin_on_board(a) - insulin_on_board(a + h)) for a, u in doses)
            rise = per_g * sum(g * (carbs_absorbed(a + h) - carbs_absorbed(a)) for a, g in meals)
            value = glucose - drop + rise
            if value < lowest:
                lowest, at = value, h
            if below is None and level is not None and value < level:
                below = h
        return Forecast(
            lowest,
            at,
            sum(u * insulin_on_board(a) for a, u in doses),
            sum(g * (1 - carbs_absorbed(a)) for a, g in meals),
            below,
        )
