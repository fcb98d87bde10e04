"""`vigil bench ingest` (the `vigil ingest` process is composed in ``vigil.processes``)."""

from __future__ import annotations

import json

import typer

from vigil.settings import Settings


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
    bench_app.command("ingest")(bench_ingest)
