"""The feed's ``act_now`` items worded for the patient, and the care team's own instructions
for them (``/patients/{id}/care-plan/instructions``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, StringConstraints

from vigil.api.deps import ConnDep, PatientDep
from vigil.api.repo import Conn
from vigil.api.web import i18n
from vigil.clinical.guidance import ALERT_CAUSES, ActNow, guidance, said
from vigil.coaching import (
    Latest,
    care_plan_instructions,
    care_team_replies,
    dangers,
    latest_values,
    put_care_plan_instructions,
    unanswered,
)
from vigil.core.languages import Lang
from vigil.core.metrics import Metric
from vigil.streaming import load_care_plan

router = APIRouter(prefix="/patients", tags=["patients"])

Instruction = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ActNowItem(BaseModel):
    kind: ActNow
    metric: Metric
    time: datetime = Field(description="When the reading this answers was measured")
    reading: str = Field(description="The reading as the meter shows it: 190/125 mmHg, LOW")
    limit: str = Field(description="The level it crossed")
    title: str
    body: str
    source: str = Field(description="care_plan (the team's own instruction) or guidance")
    lang: Lang


class InstructionsIn(BaseModel):
    """The team's instruction for each kind, in both languages (a kind left out keeps the
    default guidance)."""

    instructions: dict[ActNow, dict[Lang, Instruction]]


def act_now_items(
    conn: Conn, request: Request, response: Response, *, patient_id: UUID
) -> list[ActNowItem]:
    lang = i18n.negotiate(request)
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language, Cookie"
    latest = {
        Metric(m): Latest(t, v, c)
        for m, (t, v, c) in latest_values(conn, patient_id=patient_id).items()
        if m in Metric.__members__.values()
    }
    found = dangers(latest, load_care_plan(conn, patient_id=patient_id))
    if not found:
        return []
    replies = care_team_replies(conn, patient_id=patient_id, causes=list(ALERT_CAUSES.values()))
    own = care_plan_instructions(conn, patient_id=patient_id)
    out = []
    for d in unanswered(found, replies):
        reading = said(d.metric, d.values, d.censored)
        limit = said(d.metric, d.limits)
        title, body = guidance(d.kind, lang, value=reading, limit=limit)
        mine = own.get(d.kind.value, {}).get(lang)
        out.append(
            ActNowItem(kind=d.kind, metric=d.metric, time=d.time, reading=reading, limit=limit,
                       title=title, body=mine or body,
                       source="care_plan" if mine else "guidance", lang=lang)
        )  # fmt: skip
    return out


@router.get("/{patient_id}/care-plan/instructions", response_model=InstructionsIn)
def get_instructions(scope: PatientDep, conn: ConnDep) -> InstructionsIn:
    return InstructionsIn.model_validate(
        {"instructions": care_plan_instructions(conn, patient_id=scope.patient_id)}
    )


@router.put("/{patient_id}/care-plan/instructions", response_model=InstructionsIn)
def put_instructions(body: InstructionsIn, scope: PatientDep, conn: ConnDep) -> InstructionsIn:
    """Replace the team's instructions; the patient's feed shows them from the next read."""
    stored = body.model_dump(mode="json")["instructions"]
    put_care_plan_instructions(
        conn, patient_id=scope.patient_id, instructions=stored, user_id=scope.principal.user_id
    )
    return InstructionsIn.model_validate({"instructions": stored})
