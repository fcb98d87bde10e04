"""Placing events in a patient's timeline: how many (Poisson), when, and never two at once."""

from __future__ import annotations

import math
import random

from vigil.device_sim.events import PLANNERS, PlanContext
from vigil.device_sim.models import DAY, HOUR, Event
from vigil.device_sim.scenarios import Scenario

MIN_SILENCE = 3 * DAY
"""A labelled ``missed_measurements`` lasts at least this (natural gaps: under 2.6 days)."""


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; the means here are small."""
    if mean <= 0:
        return 0
    limit = math.exp(-mean)
    k, p = 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def eligible(ctx: PlanContext, kind: str) -> bool:
    _, needs = PLANNERS[kind]
    return not needs or any(ctx.has(k) for k in needs)


class Timeline:
    """One patient's events, kept apart by the scenario's minimum gap."""

    def __init__(self, ctx: PlanContext, start: int, end: int, scenario: Scenario) -> None:
        self.ctx = ctx
        self.start = start
        self.end = end
        self.gap = int(scenario.min_gap_h * HOUR)
        days = (end - start) / DAY
        self.earliest = start + (DAY if days < 14 else 3 * DAY)
        self.groups: list[list[Event]] = []

    @property
    def events(self) -> list[Event]:
        return sorted((e for g in self.groups for e in g), key=lambda e: (e.start, e.kind))

    def _free(self, start: int, end: int) -> bool:
        return all(
            end + self.gap <= g[0].start or start >= g[0].end + self.gap for g in self.groups
        )

    def try_place(self, kind: str, attempts: int = 20) -> bool:
        planner, _ = PLANNERS[kind]
        first_day = self.ctx.phys.local_day(self.earliest)
        last_day = self.ctx.phys.local_day(self.end)
        if last_day < first_day:
            return False
        for _ in range(attempts):
            d = self.ctx.rng.randint(first_day, last_day)
            midnight = (self.ctx.phys.day0 + d) * DAY - self.ctx.phys.offset
            group = planner(self.ctx, midnight)
            main = group[0]
            if main.start < self.earliest:
                continue
            if main.end > self.end - HOUR:
                # A multi-day event may still be going on when the run ends; a short one may not.
                if main.end - main.start < DAY or main.start > self.end - 2 * DAY:
                    continue
                for e in group:
                    e.end = min(e.end, self.end)
            if main.suppress and main.end - main.start < MIN_SILENCE:
                continue  # cut short by the end of the run: not yet a detectable silence
            if self._free(main.start, main.end):
                self.groups.append(group)
                return True
        return False


def plan_timeline(ctx: PlanContext, start: int, end: int, scenario: Scenario) -> Timeline:
    timeline = Timeline(ctx, start, end, scenario)
    months = (end - start) / (30 * DAY)
    for kind in PLANNERS:
        rate = scenario.rate(kind, ctx.patient.conditions)
        if rate <= 0 or not eligible(ctx, kind):
            continue
        for _ in range(poisson(ctx.rng, rate * months)):
            timeline.try_place(kind)
    return timeline
