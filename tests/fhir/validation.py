"""Structural validation with the pinned third-party models (fhir.resources, R4B)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class


def assert_valid_r4b(resource: dict[str, Any]) -> None:
    """Raises (pydantic's ValidationError) when the resource is not structurally valid."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
