"""The HTTP API: FastAPI under ``/api/v1``, with SSE of alert changes."""

from vigil.api.access import Principal, Role
from vigil.api.app import API_PREFIX, create_app
from vigil.api.broadcast import AlertBroadcaster

__all__ = ["API_PREFIX", "AlertBroadcaster", "Principal", "Role", "create_app"]
