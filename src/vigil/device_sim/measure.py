"""One measurement: true value, event effects, device noise, then the device's unit and rounding.

The canonical value of each emitted reading is computed with ``vigil.core.to_canonical``, the
same conversion ingest applies, so the truth is judged on exactly what the system will store.
"""

from __future__ import annotations

from typing import Any

from vigil.core.metrics import BLOOD_PRESSURE, MGDL_PER_MMOL, Metric, to_canonical
from vigil.device_sim.context import PlanContext
from vigil.device_sim.models import DAY, Device, Event, Sample, iso
from vigil.device_sim.physiology import DEVICE_METRICS, NORMAL_BANDS

MAX_DRIFT_S = 180
LB_PER_KG = 1 / 0.45359237


def _emit(metric: Metric, value: float, unit: str) -> float | int:
    """The number a device of that unit displays."""
    if unit == "mmol/L":
        return round(value / MGDL_PER_MMOL, 1)
    if unit in ("[lb_av]", "lb"):
        return round(value * LB_PER_KG, 1)
    if unit == "[degF]":
        return round(value * 9 / 5 + 32, 1)
    if metric in (Metric.BODY_WEIGHT, Metric.BODY_TEMPERATURE):
        return round(value, 1)
    if metric is Metric.SPO2:
        return min(round(value), 100)
    return round(value)


class Measurer:
    """Takes one patient's measurements, counting how often the normal bands had to step in."""

    def __init__(self, ctx: PlanContext, events: list[Event], start: int) -> None:
        self.ctx = ctx
        self.events = events
        self.start = start
        self.clamped = 0
        self.values = 0

    def true_values(self, device: Device, t: int) -> list[tuple[Metric, float]]:
        phys = self.ctx.phys
        active = [e for e in self.events if e.effects and e.start - 1 <= t <= e.end + 1]
        out = []
        for metric in DEVICE_METRICS[device.kind]:
            value = phys.base(metric, t)
            clinical = False
            band: tuple[float, float] | None = NORMAL_BANDS[metric]
            for event in active:
                for effect in event.effects:
                    if effect.metric is metric and effect.weight(t) > 0.0:
                        value = effect.apply(value, t)
                        if event.non_event:
                            band = event.band
                        else:
                            clinical = True
            value += phys.noise(device.kind, metric, t, value)
            self.values += 1
            if not clinical and band is not None:
                low, high = band
                if not low <= value <= high:
                    self.clamped += 1
                    value = min(max(value, low), high)
            out.append((metric, value))
        return out

    def device_time(self, device: Device, t: int) -> int:
        drift = device.drift_s + device.drift_per_day_s * (t - self.start) / DAY
        return t + round(max(-MAX_DRIFT_S, min(MAX_DRIFT_S, drift)))

    def measure(self, device: Device, t: int) -> list[Sample]:
        values = self.true_values(device, t)
        ts = self.device_time(device, t)
        stamp = iso(ts)
        if device.kind == "bp_cuff":
            (_, sys_v), (_, dia_v), (_, pulse_v) = values
            sys_v = max(sys_v, dia_v + 15.0)
            unit = device.units[Metric.BP_SYSTOLIC]
            s, d, p = round(sys_v), round(dia_v), round(pulse_v)
            item: dict[str, Any] = {
                "ts": stamp,
                "metric": BLOOD_PRESSURE,
                "systolic": s,
                "diastolic": d,
                "pulse": p,
                "unit": unit,
            }
            canonical = [
                (Metric.BP_SYSTOLIC, to_canonical(Metric.BP_SYSTOLIC, s, unit)),
                (Metric.BP_DIASTOLIC, to_canonical(Metric.BP_DIASTOLIC, d, unit)),
                (Metric.HEART_RATE, float(p)),
            ]
            return [Sample(t, ts, canonical, item)]
        samples = []
        for metric, value in values:
            unit = device.units[metric]
            shown = _emit(metric, value, unit)
            item = {"ts": stamp, "metric": metric.value, "value": shown, "unit": unit}
            samples.append(Sample(t, ts, [(metric, to_canonical(metric, shown, unit))], item))
        return samples
