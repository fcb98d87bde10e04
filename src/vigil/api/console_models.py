"""Request and response bodies of the admin console's endpoints (vigil.api.routers.console)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from vigil.api.access import Role
from vigil.api.models import PayloadFormat, SeverityName, Strict
from vigil.api.names import DisplayName


class UserUpdate(Strict):
    display_name: DisplayName | None = None
    role: Role | None = Field(default=None, description="admin or clinician (staff only)")
    disabled: bool | None = Field(
        default=None, description="true: cannot sign in, tokens revoked; false: enabled again"
    )


class DischargePublic(BaseModel):
    patient_id: UUID
    discharged_at: datetime
    devices_unassigned: list[str] = Field(description="Devices whose assignment ended now")


class WebhookStatus(BaseModel):
    id: UUID
    url: str
    level: int
    min_severity: SeverityName
    active: bool
    payload_format: PayloadFormat = "vigil"
    pending: int
    delivered: int
    dead: int
    last_delivered_at: datetime | None
    last_error: str | None


class WebhookUpdate(Strict):
    active: bool
