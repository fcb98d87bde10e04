"""How a device publishes: sessions or periodic batches, offline backlogs, repeats, garbage.

Every malformed message is an *extra* message: the readings it garbles are also sent intact, so
"every reading not deliberately malformed is stored" and "every malformed message is rejected"
can both be counted exactly. Each malformed message is rejected as a whole by
``vigil.core.parse_payload`` (it carries a single broken item, or is not a valid payload at all).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from typing import Any

from vigil.device_sim.models import DAY, HOUR, MINUTE, Device, Patient, Sample, iso
from vigil.device_sim.planning import poisson
from vigil.device_sim.scenarios import Scenario

BATCH_PERIOD = {"cgm": 15 * MINUTE, "hr_wearable": HOUR}
"""Continuous devices upload through a phone app in periodic batches."""
BACKLOG_CHUNK = 100
BAD_UNIT = {
    "blood_pressure": "cmH2O",
    "glucose": "mg",
    "body_weight": "kgs",
    "body_temperature": "C",
    "spo2": "percent",
    "heart_rate": "beats",
    "respiratory_rate": "rpm",
}
IMPOSSIBLE = {
    "glucose": 0,
    "body_weight": 0,
    "body_temperature": 0,
    "spo2": 0,
    "heart_rate": 0,
    "respiratory_rate": 0,
}
MALFORMED_KINDS = (
    "truncated",
    "wrong_schema",
    "unknown_metric",
    "bad_unit",
    "impossible_value",
    "naive_timestamp",
    "not_a_number",
)


@dataclass(slots=True)
class Message:
    publish_at: int
    device_id: str
    seq: int
    line: dict[str, Any]


def _malformed(rng: random.Random, item: dict[str, Any]) -> tuple[str, str]:
    """A broken version of a message carrying ``item``: (kind, raw text)."""
    kind = rng.choice(MALFORMED_KINDS)
    bad = dict(item)
    if kind == "truncated":
        text = json.dumps({"readings": [item]})
        return kind, text[: rng.randint(len(text) // 2, len(text) - 2)]
    if kind == "wrong_schema":
        return kind, json.dumps({"reading": [item]})
    if kind == "unknown_metric":
        bad["metric"] = str(item["metric"]).replace("_", "") + "X"
    elif kind == "bad_unit":
        bad["unit"] = BAD_UNIT[str(item["metric"])]
    elif kind == "impossible_value":
        if "systolic" in bad:
            bad["systolic"] = 0
        else:
            bad["value"] = IMPOSSIBLE[str(item["metric"])]
    elif kind == "naive_timestamp":
        bad["ts"] = str(item["ts"]).rstrip("Z")
    else:
        bad["systolic" if "systolic" in bad else "value"] = "n/a"
    return kind, json.dumps({"readings": [bad]})


def _groups(
    device: Device, samples: list[Sample], rng: random.Random, start: int
) -> list[tuple[int, list[Sample]]]:
    """Messages as an always-online device would send them: (publish time, samples)."""
    out: list[tuple[int, list[Sample]]] = []
    period = BATCH_PERIOD.get(device.kind)
    if period is not None:
        current: list[Sample] = []
        key = None
        for s in samples:
            k = (s.t - start) // period
            if key is not None and k != key and current:
                out.append((start + (key + 1) * period + rng.randint(5, 60), current))
                current = []
            key = k
            current.append(s)
        if current and key is not None:
            out.append((start + (key + 1) * period + rng.randint(5, 60), current))
        return out
    session: list[Sample] = []
    for s in samples:
        if session and s.t - session[-1].t > 10 * MINUTE:
            out.append((session[-1].t + rng.randint(2, 40), session))
            session = []
        session.append(s)
    if session:
        out.append((session[-1].t + rng.randint(2, 40), session))
    return out


def device_messages(
    patient: Patient,
    device: Device,
    samples: list[Sample],
    rng: random.Random,
    scenario: Scenario,
    start: int,
    end: int,
) -> list[Message]:
    """Everything one device publishes over the run, with its misbehaviour."""
    groups = _groups(device, samples, rng, start)
    offline: list[tuple[int, int]] = []
    for _ in range(poisson(rng, scenario.offline_per_month * (end - start) / (30 * DAY))):
        a = rng.randint(start, end)
        length = min(max(math.exp(rng.gauss(math.log(6 * HOUR), 1.0)), HOUR), 4 * DAY)
        offline.append((a, min(a + int(length), end)))
    offline.sort()
    sends: list[tuple[int, list[Sample]]] = []
    held: dict[int, list[Sample]] = {}
    for publish_at, group in groups:
        episode = next((i for i, (a, b) in enumerate(offline) if a <= publish_at < b), None)
        if episode is None:
            sends.append((publish_at, group))
        else:
            held.setdefault(episode, []).extend(group)
    for episode, backlog in held.items():
        back_online = offline[episode][1] + rng.randint(30, 600)
        for i in range(0, len(backlog), BACKLOG_CHUNK):
            back_online += rng.randint(1, 3)
            sends.append((back_online, backlog[i : i + BACKLOG_CHUNK]))
    sends.sort(key=lambda s: (s[0], s[1][0].t))
    out: list[Message] = []
    seq = 0
    for publish_at, group in sends:
        line: dict[str, Any] = {
            "publish_at": iso(publish_at),
            "patient": patient.patient_id,
            "device_id": device.device_id,
            "malformed": False,
            "payload": {"readings": [s.item for s in group]},
        }
        out.append(Message(publish_at, device.device_id, seq, line))
        seq += 1
        if rng.random() < scenario.repeat_rate:
            again = publish_at + rng.randint(1, 30)  # no PUBACK seen: the device sends it again
            out.append(Message(again, device.device_id, seq, {**line, "publish_at": iso(again)}))
            seq += 1
        if rng.random() < scenario.malformed_rate:
            kind, raw = _malformed(rng, group[-1].item)
            bad_at = publish_at + rng.randint(1, 10)
            bad_line = {
                "publish_at": iso(bad_at),
                "patient": patient.patient_id,
                "device_id": device.device_id,
                "malformed": True,
                "payload_raw": raw,
                "malformed_kind": kind,
            }
            out.append(Message(bad_at, device.device_id, seq, bad_line))
            seq += 1
    return out
