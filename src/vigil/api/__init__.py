"""The HTTP API: FastAPI under ``/api/v1``, with SSE of alert changes."""

# Imported first: vigil.storage.admin and vigil.servers import each other, and importing
# storage.admin first fails. Remove once that cycle is broken.
import vigil.servers  # noqa: F401
from vigil.api.access import Principal, Role
from vigil.api.app import API_PREFIX, create_app
from vigil.api.broadcast import AlertBroadcaster

__all__ = ["API_PREFIX", "AlertBroadcaster", "Principal", "Role", "create_app"]
