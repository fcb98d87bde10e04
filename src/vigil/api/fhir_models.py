"""Request and response bodies of the FHIR integration's admin endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field

from vigil.api.models import Strict
from vigil.api.names import clean_display_name


class ServiceAccountCreate(Strict):
    name: Annotated[
        str,
        Field(min_length=1, max_length=100, examples=["Seoul Hospital EMR"]),
        AfterValidator(clean_display_name),  # refused when invisible, like every name
    ]
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
