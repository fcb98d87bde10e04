"""Request and response bodies of the FHIR integration's admin endpoint."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from vigil.api.models import Strict
from vigil.api.names import DisplayName


class ServiceAccountCreate(Strict):
    name: DisplayName = Field(max_length=100, examples=["Seoul Hospital EMR"])
    care_team_ids: list[UUID] = Field(
        min_length=1, max_length=100, description="The care teams whose patients it may read"
    )
    valid_days: int = Field(default=365, ge=1, le=730, description="The token's lifetime")


class ServiceAccountPublic(BaseModel):
    user_id: UUID
    name: str
    token: str = Field(description="Shown once: only its hash is stored")
    expires_at: datetime
    care_team_ids: list[UUID]
