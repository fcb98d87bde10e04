"""Type 1 diabetes on Bergman's minimal model: truth from simulated blood glucose, not from the
detectors' own thresholds (scenario ``t1d_minimal_model``).

Each virtual patient's plasma glucose ``G`` (mg/dL), remote insulin action ``X`` (1/min) and
plasma insulin ``I`` (mU/L) follow the minimal model with exogenous insulin (Bergman 1979,
Bergman 2005 review; the T1D form of Fisher 1991 and Roy & Parker 2006)::

    dG/dt = -(p1 + X) G + p1 Gb + Ra(t) / VG + counter-regulation below 70 mg/dL
    dX/dt = -p2 X + p3 (I - Ib)
    dI/dt = -n I + Uss(t) / VI

Meals appear through a two-compartment gut (``Ra``, bioavailability 0.8, time to peak 40-60
min); insulin (a basal rate that holds ``Ib``, a bolus per meal) through two subcutaneous
compartments (time to peak 55 min). The patient's carbohydrate ratio is the model's own, so a
well-judged bolus brings glucose back; what makes lows is what makes them at home: carbs
overestimated (+-30 %), a doubled bolus now and then, an evening of exercise (``p1`` up for
hours). Below 70 mg/dL the patient, if awake, eats 15-20 g within 10-30 minutes.

Each patient also has an insulin pump (device ``{patient}-pump``), uploaded through the same
phone as the CGM: every bolus as an ``insulin`` reading (the dose injected, a doubled one
included) and every meal's carbohydrate as the patient entered it in the bolus calculator
(``carbs``: their estimate, not what they ate; a forgotten bolus logs neither). The patient's
settings, an insulin sensitivity factor and a carb ratio (:meth:`Params.believed_settings`),
are those their carb ratio was set for (``ratio_p3``), never the true sensitivity, and go in
the patient's care plan (the patients record's ``insulin``). Rescue carbohydrate and exercise
are not logged.

The CGM sees interstitial glucose (a 10-minute lag) with a slowly varying multiplicative error
and white noise, every 5 minutes, reads 40-400 (LOW/HIGH clipped), uploads every 15 minutes,
drops out now and then (the readings come later in one upload), and at night may read a
**compression low** (lying on the sensor: 30-50 mg/dL lower for 20-60 minutes, labelled as a
non-event). Truth: ``hypoglycemia`` while blood glucose is below 70 for 15 minutes or more,
``hypoglycemia_urgent`` below 54, ``hyperglycemia`` above 250, each ending once 15 minutes are
back across the line (the international consensus, Battelino 2023).

>>> out = generate_minimal_model(patients=2, days=2, seed=1)
>>> sorted({m["patient"] for m in out.messages}), out.scenario
(['m0001', 'm0002'], 't1d_minimal_model')
>>> readings = [r for m in out.messages for r in m["payload"]["readings"]]
>>> all(40 <= r["value"] <= 400 for r in readings if r["metric"] == "glucose")
True
>>> sorted({r["metric"] for r in readings}), sorted(out.patients[0]["insulin"])
(['carbs', 'glucose', 'insulin'], ['carb_ratio_g_per_u', 'sensitivity_mg_dl_per_u'])
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from vigil.device_sim.models import SimOutput

log = logging.getLogger(__name__)

SCENARIO = "t1d_minimal_model"
STEP_MIN = 1.0
CGM_EVERY = 5
UPLOAD_EVERY = 15


@dataclass(slots=True)
class Params:
    gb: float
    """Basal glucose (mg/dL)."""
    p1: float = 0.028
    p2: float = 0.025
    p3: float = 1.3e-5
    n: float = 0.09
    vi: float = 12.0
    """Insulin distribution volume (L)."""
    vg: float = 117.0
    """Glucose distribution volume (dL): 1.7 dL/kg at 70 kg."""
    ib: float = 15.0
    """Basal plasma insulin (mU/L)."""
    tau_meal: float = 50.0
    tau_insulin: float = 55.0

    ratio_p3: float = 1.3e-5
    """The insulin sensitivity the patient's carb ratio was set for (not quite the real one)."""

    def _action_per_mu(self) -> float:
        """Integral of X per mU of insulin at the sensitivity the carb ratio was set for."""
        return self.ratio_p3 / self.p2 / (self.vi * self.n)

    def believed_settings(self) -> dict[str, float]:
        """The patient's pump settings, as their care plan stores them: the carb ratio (grams
        one unit covers, the one :meth:`bolus_for` doses by) and the insulin sensitivity factor
        (the most one unit lowers glucose from basal, what a correction bolus showed when the
        pump was set up: :meth:`_correction_fall`), both at the sensitivity the ratio was set
        for (``ratio_p3``), never the true ``p3``. On this model a unit's effect passes (glucose
        effectiveness ``p1`` brings glucose back to basal), so the factor is about a sixth of
        the ``gb`` times insulin action the carb ratio is reckoned from.

        >>> s = Params(gb=120.0).believed_settings()
        >>> s["sensitivity_mg_dl_per_u"], s["carb_ratio_g_per_u"]
        (9.3, 8.4)
        """
        return {
            "sensitivity_mg_dl_per_u": round(self._correction_fall(), 1),
            "carb_ratio_g_per_u": round(1000 / self.bolus_for(1.0), 1),
        }

    def _correction_fall(self, minutes: int = 360) -> float:
        """mg/dL: the lowest glucose after 1 U at basal, below basal, on this model's equations
        with the sensitivity ``ratio_p3`` (no meal, no exercise)."""
        basal = self.n * self.ib * self.vi
        g, x, i_pl = self.gb, 0.0, self.ib
        s1 = s2 = basal * self.tau_insulin  # the basal's steady state
        s1 += 1000.0
        lowest = g
        for _ in range(minutes):
            dg = -(self.p1 + x) * g + self.p1 * self.gb
            dx = -self.p2 * x + self.ratio_p3 * (i_pl - self.ib)
            di = -self.n * i_pl + (s2 / self.tau_insulin) / self.vi
            s1, s2 = s1 + basal - s1 / self.tau_insulin, s2 + (s1 - s2) / self.tau_insulin
            g, x, i_pl = g + dg, x + dx, max(0.0, i_pl + di)
            lowest = min(lowest, g)
        return self.gb - lowest

    def bolus_for(self, carbs_g: float) -> float:
        """mU of insulin whose action would clear ``carbs_g`` at basal glucose if the patient's
        sensitivity were ``ratio_p3`` (the carb ratio)."""
        rise = carbs_g * 1000 * 0.8 / self.vg  # mg/dL if it all stayed
        return rise / self.gb / self._action_per_mu()


def _day_plan(rng: random.Random, day: int) -> list[tuple[float, str, float]]:
    """(minute of the run, what, amount) for one day: meals, boluses, exercise."""
    base = day * 1440
    events: list[tuple[float, str, float]] = []
    for hour, lo, hi in ((7.5, 30, 60), (12.5, 40, 80), (19.0, 50, 100)):
        t = base + (hour + rng.uniform(-0.75, 0.75)) * 60
        carbs = rng.uniform(lo, hi)
        judged = carbs * rng.uniform(0.5, 1.5)
        entered = judged  # what the bolus calculator was told
        luck = rng.random()
        if luck < 0.05:
            judged *= 2.0  # the bolus taken twice
        elif luck < 0.10:
            judged = entered = 0.0  # forgotten
        events.append((t, "meal", carbs))
        t_bolus = t - rng.uniform(0, 15)
        events.append((t_bolus, "bolus_for", judged))
        if entered > 0:
            events.append((t_bolus, "carbs_entered", entered))
    if rng.random() < 0.3:
        events.append((base + rng.uniform(16, 20) * 60, "exercise", rng.uniform(45, 120)))
    if rng.random() < 0.15:
        events.append((base + rng.uniform(0.5, 5) * 60, "compression", rng.uniform(20, 60)))
    if rng.random() < 0.1:
        events.append((base + rng.uniform(0, 24) * 60, "dropout", rng.uniform(30, 150)))
    return sorted(events)


def _episodes(
    patient: str, bg: list[float], start: datetime, kind: str, below: bool, line: float
) -> list[dict[str, Any]]:
    """Truth episodes: across the line for 15 minutes or more, ended by 15 minutes back."""
    out = []
    i, n = 0, len(bg)
    while i < n:
        if (bg[i] < line) if below else (bg[i] > line):
            j = i
            back = 0
            while j < n and back < 15:
                inside = (bg[j] < line) if below else (bg[j] > line)
                back = 0 if inside else back + 1
                j += 1
            end = j - back
            if end - i >= 15:
                out.append(
                    {
                        "patient": patient,
                        "kind": kind,
                        "start": _iso(start + timedelta(minutes=i)),
                        "end": _iso(start + timedelta(minutes=end)),
                        "severity": "critical" if kind == "hypoglycemia_urgent" else "warning",
                        "metrics": ["glucose"],
                        "non_event": False,
                        "detail": {
                            "extreme_mg_dl": round(min(bg[i:end]) if below else max(bg[i:end]))
                        },
                    }
                )
            i = j
        else:
            i += 1
    return out


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def simulate_patient(
    name: str, rng: random.Random, days: int, start: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, float]]:
    """One patient's CGM and pump messages, truth events (then the true blood glucose every
    ``CGM_EVERY`` minutes) and pump settings (what they believe:
    :meth:`Params.believed_settings`)."""
    p = Params(gb=rng.uniform(110, 160), p3=1.3e-5 * rng.uniform(0.6, 1.6))
    plan = []
    for d in range(days):
        plan += _day_plan(rng, d)
    minutes = days * 1440
    g, x, i_pl = p.gb, 0.0, p.ib
    gut1 = gut2 = s1 = s2 = 0.0
    ig = g
    basal = p.n * p.ib * p.vi  # mU/min that holds Ib
    exercise_until = compression_until = -1.0
    compression_depth = 0.0
    rescue_at: float | None = None
    bg: list[float] = []
    cgm: list[tuple[int, float]] = []
    pump: list[tuple[int, str, float]] = []
    error = 0.0
    k = 0
    for minute in range(minutes):
        while k < len(plan) and plan[k][0] <= minute:
            _, what, amount = plan[k]
            if what == "meal":
                gut1 += amount * 1000
            elif what == "bolus_for":
                dose = p.bolus_for(amount)
                s1 += dose
                if dose >= 50:  # mU: a pump's smallest step, 0.05 U
                    pump.append((minute, "insulin", round(dose / 1000, 2)))
            elif what == "carbs_entered":
                pump.append((minute, "carbs", round(amount)))
            elif what == "exercise":
                exercise_until = minute + amount * 3  # effect lasts beyond the session
            elif what == "compression":
                compression_until, compression_depth = minute + amount, rng.uniform(30, 50)
            k += 1
        hour = (minute / 60) % 24
        awake = 7 <= hour < 23
        if g < 70 and rescue_at is None and (awake or g < 45):
            rescue_at = minute + rng.uniform(10, 40)
        if rescue_at is not None and minute >= rescue_at:
            gut1 += rng.uniform(15, 20) * 1000
            rescue_at = None if g >= 70 else minute + 20
        ra = gut2 / p.tau_meal * 0.8  # mg/min
        p1 = p.p1 * (2.5 if minute < exercise_until else 1.0)
        counter = 0.2 * (70 - g) if g < 70 else 0.0  # blunted glucagon in T1D
        dg = -(p1 + x) * g + p.p1 * p.gb + ra / p.vg + counter * 0.05
        dx = -p.p2 * x + p.p3 * (i_pl - p.ib)
        di = -p.n * i_pl + (s2 / p.tau_insulin) / p.vi
        gut1, gut2 = gut1 - gut1 / p.tau_meal, gut2 + gut1 / p.tau_meal - gut2 / p.tau_meal
        s1, s2 = s1 + basal - s1 / p.tau_insulin, s2 + s1 / p.tau_insulin - s2 / p.tau_insulin
        g = max(20.0, g + dg * STEP_MIN)
        x = x + dx * STEP_MIN
        i_pl = max(0.0, i_pl + di * STEP_MIN)
        ig += (g - ig) / 10.0
        error = 0.995 * error + rng.gauss(0.0, 0.004)
        bg.append(g)
        if minute % CGM_EVERY == 0:
            value = ig * (1 + error) + rng.gauss(0.0, 2.0)
            if minute < compression_until:
                value -= compression_depth
            cgm.append((minute, round(min(400.0, max(40.0, value)))))
    messages = _uploads(name, cgm, pump, start, dropouts=plan)
    truth = (
        _episodes(name, bg, start, "hypoglycemia", True, 70.0)
        + _episodes(name, bg, start, "hypoglycemia_urgent", True, 54.0)
        + _episodes(name, bg, start, "hyperglycemia", False, 250.0)
    )
    for t, what, amount in plan:
        if what == "compression":
            truth.append(
                {
                    "patient": name,
                    "kind": "compression_low",
                    "start": _iso(start + timedelta(minutes=t)),
                    "end": _iso(start + timedelta(minutes=t + amount)),
                    "severity": "info",
                    "metrics": ["glucose"],
                    "non_event": True,
                }
            )
    truth += [
        {
            "patient": name,
            "time": _iso(start + timedelta(minutes=m)),
            "true_glucose_mg_dl": round(v, 1),
        }
        for m, v in enumerate(bg)
        if m % CGM_EVERY == 0
    ]
    return messages, truth, p.believed_settings()


PUMP_UNITS = {"insulin": "U", "carbs": "g"}


def _uploads(
    name: str,
    cgm: list[tuple[int, float]],
    pump: list[tuple[int, str, float]],
    start: datetime,
    dropouts: list[tuple[float, str, float]],
) -> list[dict[str, Any]]:
    """Every 15 minutes the phone uploads what it has; during a dropout (out of the phone's
    range) nothing goes, and the sensor's readings come with the first upload after it. The
    pump's records since the last upload go in the same upload, ahead of the CGM's."""
    gaps = [(t, t + amount) for t, what, amount in dropouts if what == "dropout"]
    pending: list[dict[str, Any]] = []
    messages = []
    k = 0
    for minute, value in cgm:
        t = start + timedelta(minutes=minute)
        pending.append({"ts": _iso(t), "metric": "glucose", "value": value, "unit": "mg/dL"})
        held = any(a <= minute < b for a, b in gaps)
        if (minute + CGM_EVERY) % UPLOAD_EVERY == 0 and not held:
            doses = []
            while k < len(pump) and pump[k][0] <= minute:
                at, metric, amount = pump[k]
                ts = _iso(start + timedelta(minutes=at))
                doses.append(
                    {"ts": ts, "metric": metric, "value": amount, "unit": PUMP_UNITS[metric]}
                )
                k += 1
            if doses:
                messages.append(
                    {
                        "publish_at": _iso(t + timedelta(seconds=20)),
                        "patient": name,
                        "device_id": f"{name}-pump",
                        "malformed": False,
                        "payload": {"readings": doses},
                    }
                )
            messages.append(
                {
                    "publish_at": _iso(t + timedelta(seconds=20)),
                    "patient": name,
                    "device_id": f"{name}-cgm",
                    "malformed": False,
                    "payload": {"readings": pending},
                }
            )
            pending = []
    return messages


def generate_minimal_model(
    patients: int, days: int, seed: int, start: datetime | None = None
) -> SimOutput:
    """``patients`` virtual type-1 patients for ``days`` days: CGM and insulin pump."""
    start = start or datetime(2026, 1, 5, tzinfo=UTC)
    rng = random.Random(seed)
    people: list[dict[str, Any]] = []
    messages, truth, samples = [], [], []
    for n in range(1, patients + 1):
        name = f"m{n:04d}"
        m, t, settings = simulate_patient(name, random.Random(rng.getrandbits(64)), days, start)
        people.append(
            {
                "patient": name,
                "conditions": ["t1d"],
                "devices": [
                    {"device_id": f"{name}-cgm", "kind": "cgm"},
                    {"device_id": f"{name}-pump", "kind": "insulin_pump"},
                ],
                "insulin": settings,
            }
        )
        messages += m
        truth += [e for e in t if "kind" in e]
        samples += [e for e in t if "kind" not in e]
    messages.sort(key=lambda m: (m["publish_at"], m["patient"]))
    truth.sort(key=lambda e: (e["start"], e["patient"], e["kind"]))
    log.info("minimal model: %d patients, %d days, %d truth events", patients, days, len(truth))
    return SimOutput(
        patients=people,
        messages=messages,
        truth=truth,
        start=start,
        end=start + timedelta(days=days),
        scenario=SCENARIO,
        seed=seed,
        stats={"messages": len(messages), "events": len(truth)},
        true_glucose=samples,
    )
