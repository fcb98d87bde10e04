"""`vigil ingest` (ingest alone, one of possibly several processes) and `vigil bench ingest`."""

from __future__ import annotations

import json
import logging
import signal
import threading

import typer

from vigil.settings import Settings

log = logging.getLogger(__name__)


def ingest_command() -> None:
    """Run only the ingest stage; several, with distinct VIGIL_MQTT_CLIENT_ID, share the load."""
    import psycopg

    from vigil.ingest.runner import Ingest
    from vigil.servers.stack import start_servers
    from vigil.storage import migrate

    settings = Settings()
    servers = start_servers(settings)
    try:
        with psycopg.connect(servers.database_url) as conn:
            migrate(conn)
        ingest = Ingest(settings, database_url=servers.database_url, mqtt=servers.mqtt)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        ingest.start()
        log.info("ingest running as %s", settings.mqtt_client_id)
        while not stop.wait(1.0):
            pass
        ingest.stop()
    finally:
        servers.close()


def bench_ingest(
    readings: int = typer.Option(20_000, help="Readings to publish"),
    devices: int = typer.Option(50, help="Simulated devices publishing at once"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """Publish N readings through the real broker; full ingest path versus a bare ceiling."""
    from vigil.ingest.bench import run_bench

    result = run_bench(Settings(), readings=readings, devices=devices)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for key, value in result.items():
            typer.echo(f"{key:>28}: {value}")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)
    bench_app.command("ingest")(bench_ingest)
