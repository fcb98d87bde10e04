"""Alert episodes: the one rule that groups findings into the alerts a care team sees.

Related causes of one physiological state share an **episode key**, and a patient has at most
one unresolved alert per episode: a CGM that predicts a low, then reads 62, then 51, is one
"low glucose" alert that escalates (``predicted_low`` -> ``hypoglycemia`` ->
``hypoglycemia_urgent``) and de-escalates as the readings recover, with its worst value and the
time it started. A cause not listed is an episode of its own.

An episode has **ended** once none of its causes has been found for the rule's ``ends_after``
(at least two measurement intervals of what shows it: an hour of a CGM and its 15-minute
upload, two hours of a wearable's heart rate, three days of daily weighings, the span of the
heart-failure rule; three days for home blood pressure and a deterioration, which last days to
weeks and go quiet for two days in their middle, measured on ``standard``). A cause may end
sooner than its episode (``cause_ends``): a heart rate out of range alone ends after two hours;
once a slower cause has joined, the episode waits for the slowest of the causes it holds
(:func:`ends_after`): the alerts stage then resolves the alert if someone has seen it
(acknowledged or snoozed); a finding within the policy's quiet period after a resolution
reopens it rather than opening a new one (:func:`next_step`).

:class:`AlertGrouping` applies the same rule to findings without a database, for replays (the
evaluation, the care-plan preview), assuming the team acknowledges every alert, so each one
resolves when its episode ends (by the clock, so between uploads: the findings of one upload
reach the alerts stage together).

>>> episode_of("hypoglycemia_urgent"), episode_of("predicted_low"), episode_of("tachycardia")
('low_glucose', 'low_glucose', 'deterioration')
>>> deterioration = rule_for("news2")
>>> ends_after(deterioration, ["tachycardia"]), ends_after(deterioration, ["tachycardia", "news2"])
(datetime.timedelta(seconds=7200), datetime.timedelta(days=3))
>>> from datetime import UTC, datetime
>>> t = datetime(2026, 1, 5, 3, tzinfo=UTC)
>>> next_step(unresolved=False, resolved_at=t, now=t + timedelta(minutes=20),
...           quiet_period=timedelta(minutes=30))
<Step.REOPEN: 'reopen'>
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from vigil.clinical.findings import Finding, Severity

DEFAULT_ENDS_AFTER = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class EpisodeRule:
    key: str
    label: str
    causes: frozenset[str]
    lower_is_worse: bool | None = None
    """How the worst value is chosen: the lowest (True), the highest (False), or (None) the
    value of the most severe, highest-scoring finding."""
    ends_after: timedelta = DEFAULT_ENDS_AFTER
    """The state has ended when none of the causes has been found for this long."""
    cause_ends: tuple[tuple[str, timedelta], ...] = ()
    """Causes that end sooner than ``ends_after`` when the episode holds no other cause."""


EPISODES: tuple[EpisodeRule, ...] = (
    EpisodeRule(
        # An hour of CGM readings without a finding, counted on the clock from the last
        # finding's data time: a phone uploads every 15 minutes or so, so an hour on the clock
        # had shown as little as 45 minutes of readings. On the minimal model an hour ended
        # slow falls after a predicted low (the CGM at 70-80 for an hour, then below 70: the
        # alert reopened, told twice) on 2 / 1 / 6 events of seeds 1 / 2 / 3.
        "low_glucose",
        "Low glucose",
        frozenset({"predicted_low", "hypoglycemia", "hypoglycemia_urgent"}),
        lower_is_worse=True,
        ends_after=timedelta(minutes=75),
    ),
    EpisodeRule(
        # A 7-day home average stays above target for days; its finding also needs the last
        # day above, which a day or two of readings at target interrupts mid-episode (gaps of
        # 59-61 h inside one labelled episode split it in two with a 48 h end).
        "high_blood_pressure",
        "High blood pressure",
        frozenset({"hypertensive_crisis", "bp_above_target"}),
        # The worst is the most severe, highest-scoring finding: a crisis's value is whichever
        # side was measured last (190/125 has the value 125 or 190), its score the pressure
        # against both limits.
        lower_is_worse=None,
        ends_after=timedelta(hours=72),
    ),
    EpisodeRule(
        # One deteriorating patient, seen several ways at once: low SpO2, a drop from the
        # patient's own SpO2, the fever of an infection, a heart rate out of range, and the
        # early-warning score that sums exactly these vital signs (COPD: 1.6-2.6 alerts per
        # exacerbation when NEWS2 and low oxygen were two episodes; fever 1.0-1.5 with NEWS2
        # apart; a tachycardia and the NEWS2 its heart rate raised were two rows). The worst
        # value is the most severe finding's: SpO2, score, temperature and rate are not
        # comparable. Three days: an exacerbation's findings can pause for 49 h mid-episode.
        # A heart rate out of range alone (a wearable, no other vital involved) ends after two
        # hours, as it did as an episode of its own, so a new bout the next day is told again.
        "deterioration",
        "Deterioration: low oxygen, fever, heart rate, early-warning score",
        frozenset(
            {"spo2_low", "copd_exacerbation", "news2", "fever", "tachycardia", "bradycardia"}
        ),
        ends_after=timedelta(hours=72),
        cause_ends=(("tachycardia", timedelta(hours=2)), ("bradycardia", timedelta(hours=2))),
    ),
    EpisodeRule(
        "hf_decompensation",
        "Heart failure decompensation",
        frozenset({"hf_decompensation"}),
        lower_is_worse=False,
        ends_after=timedelta(hours=72),
    ),
)
_BY_CAUSE = {cause: rule for rule in EPISODES for cause in rule.causes}
_BY_KEY = {rule.key: rule for rule in EPISODES}


def rule_for(cause_or_key: str) -> EpisodeRule:
    """The episode a cause belongs to (or, given an episode key, that episode)."""
    rule = _BY_CAUSE.get(cause_or_key) or _BY_KEY.get(cause_or_key)
    if rule is not None:
        return rule
    label = cause_or_key.replace("_", " ").capitalize()
    return EpisodeRule(cause_or_key, label, frozenset({cause_or_key}))


def episode_of(cause: str) -> str:
    return rule_for(cause).key


def worse(
    rule: EpisodeRule, current: float | None, current_rank: tuple[int, float], f: Finding
) -> bool:
    """Whether ``f``'s value is worse than the episode's worst so far."""
    value = f.explanation.value
    if value is None:
        return False
    if current is None:
        return True
    if rule.lower_is_worse is None:
        return (int(f.severity), f.score) > current_rank
    return value < current if rule.lower_is_worse else value > current


class Step(StrEnum):
    OPEN = "open"
    UPDATE = "update"
    REOPEN = "reopen"


def next_step(
    *, unresolved: bool, resolved_at: datetime | None, now: datetime, quiet_period: timedelta
) -> Step:
    """What a finding does to its episode's alert: update the unresolved one, reopen the one
    resolved within the quiet period, or open a new one."""
    if unresolved:
        return Step.UPDATE
    if resolved_at is not None and now - resolved_at <= quiet_period:
        return Step.REOPEN
    return Step.OPEN


def ends_after(rule: EpisodeRule, causes: Iterable[str]) -> timedelta:
    """How long the episode waits after its last finding: the slowest of its causes' ends."""
    sooner = dict(rule.cause_ends)
    return max((sooner.get(c, rule.ends_after) for c in causes), default=rule.ends_after)


def shortest_end() -> timedelta:
    """The soonest any episode can end (what the alerts stage's clock looks back over)."""
    return min(
        [DEFAULT_ENDS_AFTER]
        + [rule.ends_after for rule in EPISODES]
        + [end for rule in EPISODES for _, end in rule.cause_ends]
    )


def has_ended(rule: EpisodeRule, causes: Iterable[str], last_seen: datetime, now: datetime) -> bool:
    return now - last_seen >= ends_after(rule, causes)


@dataclass(slots=True)
class EpisodeAlert:
    """An alert as a replay groups it: the findings it gathered and when a nurse was told."""

    patient_id: UUID
    rule: EpisodeRule
    findings: list[Finding] = field(default_factory=list)
    seen: list[datetime] = field(default_factory=list)
    """When each finding could be seen: its data time plus its age (late uploads)."""
    notified: list[datetime] = field(default_factory=list)
    """When it opened and each time it reopened."""
    resolved_at: datetime | None = None
    worst_value: float | None = None
    worst_rank: tuple[int, float] = (0, 0.0)

    @property
    def last_seen(self) -> datetime:
        return max(f.time for f in self.findings)

    @property
    def causes(self) -> list[str]:
        return sorted({f.cause for f in self.findings})

    @property
    def severity(self) -> Severity:
        return max(f.severity for f in self.findings)

    def add(self, f: Finding, seen: datetime) -> None:
        if worse(self.rule, self.worst_value, self.worst_rank, f):
            self.worst_value = f.explanation.value
            self.worst_rank = (int(f.severity), f.score)
        self.findings.append(f)
        self.seen.append(seen)


class AlertGrouping:
    """Findings into alerts by the rule above, without a database.

    >>> from datetime import UTC, datetime
    >>> from uuid import uuid4
    >>> from vigil.clinical.findings import Explanation
    >>> t0, patient = datetime(2026, 1, 5, 3, tzinfo=UTC), uuid4()
    >>> def low(minute, cause, value):
    ...     return Finding(patient, cause, ("glucose",), t0 + timedelta(minutes=minute), "d",
    ...                    Severity.HIGH, 1.0, Explanation("low", value=value))
    >>> g = AlertGrouping(quiet_period=timedelta(minutes=30))
    >>> g.extend([low(0, "predicted_low", 80), low(10, "hypoglycemia", 62),
    ...           low(15, "hypoglycemia_urgent", 51), low(200, "hypoglycemia", 66)])
    >>> [(a.causes, a.worst_value, len(a.notified)) for a in g.alerts]
    [(['hypoglycemia', 'hypoglycemia_urgent', 'predicted_low'], 51, 1), (['hypoglycemia'], 66, 1)]
    """

    def __init__(self, *, quiet_period: timedelta) -> None:
        self.quiet_period = quiet_period
        self.alerts: list[EpisodeAlert] = []
        self._latest: dict[tuple[str, str], EpisodeAlert] = {}

    def add(self, f: Finding, seen: datetime | None = None) -> EpisodeAlert:
        """Group one finding; ``seen`` (default: data time plus age) is "now" for the rule."""
        now = seen or f.time + timedelta(seconds=f.age_s)
        rule = rule_for(f.cause)
        key = (str(f.patient_id), rule.key)
        alert = self._latest.get(key)
        # The clock ends an episode between uploads, never inside one: a backlog's findings,
        # hours of data seen at once, reach the alerts stage in one batch and update one alert
        # (they were opening and reopening it, 14 times for one low after a dropout).
        if (
            alert is not None
            and alert.resolved_at is None
            and has_ended(rule, alert.causes, alert.last_seen, now)
            and max(alert.seen) < now
        ):
            alert.resolved_at = max(
                alert.last_seen + ends_after(rule, alert.causes), max(alert.seen)
            )
        step = next_step(
            unresolved=alert is not None and alert.resolved_at is None,
            resolved_at=alert.resolved_at if alert is not None else None,
            now=now,
            quiet_period=self.quiet_period,
        )
        if step is Step.OPEN or alert is None:
            alert = self._latest[key] = EpisodeAlert(f.patient_id, rule)
            self.alerts.append(alert)
            alert.notified.append(now)
        elif step is Step.REOPEN:
            alert.resolved_at = None
            alert.notified.append(now)
        alert.add(f, now)
        return alert

    def extend(self, findings: Iterable[Finding]) -> None:
        """Findings in the order they could be seen (a replay's order)."""
        for f in sorted(findings, key=lambda f: f.time + timedelta(seconds=f.age_s)):
            self.add(f)
