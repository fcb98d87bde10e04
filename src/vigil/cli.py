"""The ``vigil`` command line. Each stage contributes its own commands from its ``cli`` module;
the instruments (``vigil bench ...`` from :mod:`vigil.bench.cli`, ``vigil eval``) register theirs
from their own packages, above the product's."""

from __future__ import annotations

import logging

import typer

from vigil.core import logs
from vigil.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Vigil remote monitoring.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print figures.")
app.add_typer(bench_app, name="bench")


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging")) -> None:
    logs.configure(logging.DEBUG if verbose else logging.INFO)


def load_settings() -> Settings:
    return Settings()


@app.command()
def serve() -> None:
    """Run every stage in one process (embedded servers unless URLs are configured)."""
    from vigil.serve import serve as run

    run(load_settings())


@app.command()
def api() -> None:
    """Run the API and dashboard alone (stateless: run as many as needed behind a balancer)."""
    from vigil.serve import serve_api

    serve_api(load_settings())


@app.command()
def ingest(
    processes: int | None = typer.Option(
        None,
        min=1,
        help="Ingest processes in all (NATS edge; default VIGIL_INGEST_PROCESSES): they share"
        " the edge's capture consumer",
    ),
) -> None:
    """Run ingest alone: MQTT -> TimescaleDB -> the readings stream. Several, each with its own
    VIGIL_MQTT_CLIENT_ID, share the devices' messages."""
    from vigil.processes import run_ingest

    run_ingest(load_settings(), processes)


@app.command()
def detect(
    ordinal: int | None = typer.Option(
        None, help="Deprecated and ignored: JetStream hands each partition to one worker"
    ),
    workers: int | None = typer.Option(
        None, help="Deprecated and ignored: start as many workers as you like, any time"
    ),
) -> None:
    """Run one detect worker: the partitions JetStream hands it -> findings -> alerts."""
    from vigil.processes import run_detect

    settings = load_settings()
    update = {
        k: v for k, v in (("detect_ordinal", ordinal), ("detect_workers", workers)) if v is not None
    }
    run_detect(settings.model_copy(update=update) if update else settings)


@app.command()
def demo(
    patients: int = typer.Option(30, min=1, help="Simulated patients"),
    days: int = typer.Option(2, min=1, help="Days of history to publish"),
    speed: float = typer.Option(2880.0, min=1, help="Simulated seconds per wall second"),
) -> None:
    """The whole system with simulated patients: prints the dashboard URL and demo logins."""
    from vigil.demo import run_demo
    from vigil.serve import exit_on_sigterm

    exit_on_sigterm()
    settings = load_settings()
    settings = settings.model_copy(update={"state_dir": settings.demo_state_dir})
    try:
        run_demo(settings, patients=patients, days=days, speed=speed)
    except KeyboardInterrupt:
        typer.echo("stopped")


def _register() -> None:
    # Imported here so that `vigil --help` stays fast and each stage owns its commands.
    from vigil.api.cli import register as register_api
    from vigil.bench.cli import register as register_bench
    from vigil.device_sim.cli import register as register_sim
    from vigil.evaluation.cli import register as register_eval
    from vigil.gateway.cli import register as register_gateway
    from vigil.servers.cli import register as register_servers

    register_servers(app)
    register_sim(app)
    register_api(app)
    register_bench(bench_app)
    register_eval(app)
    register_gateway(app)


def main() -> None:
    _register()
    app()
