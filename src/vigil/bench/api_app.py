"""An app factory for uvicorn (``vigil.bench.api_app:create --factory``): settings from the
environment, a pool sized from them."""

from __future__ import annotations

from fastapi import FastAPI

from vigil.api.app import create_app
from vigil.core.gc_tuning import tune_gc_for_serving
from vigil.settings import Settings
from vigil.storage import create_pool


def create() -> FastAPI:
    settings = Settings()
    if settings.database_url is None:
        raise RuntimeError("set VIGIL_DATABASE_URL")
    pool = create_pool(
        settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
    )
    app = create_app(settings, pool)
    tune_gc_for_serving()
    return app
