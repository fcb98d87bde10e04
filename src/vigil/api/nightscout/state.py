"""The Nightscout API's part of an API process: its ingest path, made when the app is."""

from __future__ import annotations

from fastapi import FastAPI, Request

from vigil.api.nightscout.uploads import NightscoutIngest


def ingest_of(request: Request) -> NightscoutIngest:
    ingest = request.app.state.nightscout
    assert isinstance(ingest, NightscoutIngest)
    return ingest


def attach(app: FastAPI, ingest: NightscoutIngest) -> None:
    app.state.nightscout = ingest
