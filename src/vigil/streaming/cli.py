"""`vigil bench detect` (`vigil eval` is registered by :mod:`vigil.evaluation.cli`)."""

from __future__ import annotations

import json

import typer


def bench_detect(
    patients: int = typer.Option(100, min=1, help="Simulated patients in the mix"),
    days: int = typer.Option(14, min=1, help="Simulated days"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """Microseconds per reading and state bytes per patient for the full detector set."""
    from vigil.streaming.bench import run_bench

    result = run_bench(patients=patients, days=days)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for key, value in result.items():
            typer.echo(f"{key:>24}: {value}")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    bench_app.command("detect")(bench_detect)
