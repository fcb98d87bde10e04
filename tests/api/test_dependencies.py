"""No database I/O on the event loop: every dependency that takes the request's connection is
a plain ``def`` (FastAPI runs it in a worker thread), so a token-cache miss or a refusal's
commit never blocks the SSE streams and live reads of the process."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tests.api.conftest import make_app
from vigil.api.deps import get_conn


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # an included router (FastAPI 0.16x)
        if included is not None:
            yield from _routes(included.routes)


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _tree(sub)


def _takes_connection(dependant: Dependant) -> bool:
    return any(sub.call is get_conn for sub in dependant.dependencies)


def test_dependencies_that_use_the_request_connection_are_not_async() -> None:
    app: Any = make_app("postgresql://unused/vigil")  # the pool stays closed: no connection
    checked: set[str] = set()
    for route in _routes(app.routes):
        for dependant in _tree(route.dependant):
            if dependant.call is None or not _takes_connection(dependant):
                continue
            name = getattr(dependant.call, "__qualname__", repr(dependant.call))
            assert not inspect.iscoroutinefunction(dependant.call), (
                f"{name} takes the request's connection but runs on the event loop"
            )
            checked.add(name)
    # The authentication and scope dependencies are among those checked.
    assert {"get_principal", "get_staff", "get_admin", "get_patient_scope"} <= checked
