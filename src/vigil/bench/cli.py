"""`vigil bench ...`: each benchmark prints its figures (``--json`` for one JSON object)."""

from __future__ import annotations

import json
from typing import Any

import typer

from vigil.settings import Settings


def bench_pipeline(
    readings: int = typer.Option(6000, min=1, help="Readings published as fast as possible"),
    devices: int = typer.Option(100, min=1, help="Simulated devices (one patient each)"),
    latency_readings: int = typer.Option(
        2000, min=1, help="Readings paced at half the measured throughput, for latency"
    ),
    idle_readings: int = typer.Option(
        200, min=0, help="Readings trickled on an idle system first (0: no idle phase)"
    ),
    idle_rate: float = typer.Option(5.0, min=0.1, help="Readings a second in the idle phase"),
    path: list[str] = typer.Option(
        ["inprocess", "stream-1", "stream-2"], "--path", help="Paths to run (repeat the option)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """MQTT publish -> alert change: the stream path (1 and 2 detect workers) against the old
    in-process path, on embedded servers in a temporary folder: idle, full speed, half load."""
    from vigil.bench.pipeline import PATHS, run_bench

    unknown = sorted(set(path) - set(PATHS))
    if unknown:
        raise typer.BadParameter(f"unknown path {unknown[0]}; one of {', '.join(PATHS)}")
    result = run_bench(
        Settings(),
        readings=readings,
        devices=devices,
        latency_readings=latency_readings,
        idle_readings=idle_readings,
        idle_rate=idle_rate,
        paths=tuple(p for p in PATHS if p in path),
    )
    _print(result, as_json=as_json, width=24)


def bench_api(
    patients: int = typer.Option(1000, help="Simulated patients"),
    days: int = typer.Option(30, help="Days of history per patient"),
    team_size: int = typer.Option(100, help="Patients per care team"),
    clients: int = typer.Option(50, help="Concurrent clients (closed loop)"),
    requests: int = typer.Option(10_000, help="Requests per endpoint"),
    processes: int = typer.Option(2, help="API server processes (clients spread over them)"),
    cache: bool = typer.Option(
        True, help="Serve from the read cache (--no-cache: every read from the database)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    cgm_days: int = typer.Option(
        0, help="Days of 5-minute CGM per patient; > 0 also times the clinic list and the AGP"
    ),
) -> None:
    """p50/p99 latency and requests/s of the alert inbox, a 30-day hourly rollup and a care
    team's latest-vitals list (with --cgm-days 14: the clinic list and one patient's AGP)."""
    from vigil.bench.api import run_bench

    result = run_bench(
        Settings(),
        patients=patients,
        days=days,
        team_size=team_size,
        clients=clients,
        requests=requests,
        processes=processes,
        cache=cache,
        cgm_days=cgm_days,
    )
    _print_endpoints(result, as_json=as_json)


def bench_fhir(
    patients: int = typer.Option(100, help="Simulated patients (one care team)"),
    days: int = typer.Option(30, help="Days of history per patient"),
    clients: int = typer.Option(8, help="Concurrent clients (closed loop)"),
    requests: int = typer.Option(1000, help="Requests per endpoint"),
    processes: int = typer.Option(2, help="API server processes"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """p50/p99 latency and requests/s of the FHIR reads an EMR makes (docs/fhir.md)."""
    from vigil.bench.fhir import run_bench

    result = run_bench(
        Settings(),
        patients=patients,
        days=days,
        clients=clients,
        requests=requests,
        processes=processes,
    )
    _print_endpoints(result, as_json=as_json)


def bench_ingest(
    readings: int = typer.Option(100_000, min=1, help="Readings each phase publishes"),
    devices: int = typer.Option(48, min=1, help="Simulated devices publishing at once"),
    publishers: int = typer.Option(2, min=1, help="Publisher processes (devices split among them)"),
    per_message: int = typer.Option(10, "--per-message", min=1, help="Readings a message"),
    processes: int | None = typer.Option(
        None, min=1, help="`vigil ingest` processes of the full path (default: its default)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """On the NATS edge, in one run: (a) a bare counting subscriber, (b) a bare COPY
    subscriber, (c) the full path with its stream hand-off; readings/s, (c)/(a), (c)/(b), CPU
    seconds per 1,000 readings of each process, lost and doubled (database and stream)."""
    from vigil.bench.ingest import run_bench

    result = run_bench(
        Settings(),
        readings=readings,
        devices=devices,
        publishers=publishers,
        per_message=per_message,
        processes=processes,
    )
    _print(result, as_json=as_json, width=34)


def bench_flood(
    flood: int = typer.Option(50_000, min=1, help="Messages the flooding device publishes"),
    load: int = typer.Option(0, min=0, help="Spinning processes beside the run (a busy machine)"),
    rate: float | None = typer.Option(
        None, min=0, help="Per-device rate limit, messages/s (0: off; default: the setting)"
    ),
    alone_s: float = typer.Option(5.0, min=0.5, help="Seconds of the quiet device alone first"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """A second device's delay, publish to commit, while one device floods ingest: alone and
    under the flood in the same run, optionally on a machine made busy on purpose."""
    from vigil.bench.flood import run_bench

    settings = Settings()
    if rate is not None:
        settings = settings.model_copy(update={"ingest_device_rate_per_s": rate})
    result = run_bench(settings, flood=flood, load=load, alone_s=alone_s)
    _print(result, as_json=as_json, width=20)


def bench_detect(
    patients: int = typer.Option(100, min=1, help="Simulated patients in the mix"),
    days: int = typer.Option(14, min=1, help="Simulated days"),
    rounds: int = typer.Option(3, min=1, help="Timed runs (the minimum is the figure)"),
    rss_patients: int = typer.Option(
        100_000, min=0, help="Patients' states held to measure the RSS (0: skip)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """Microseconds per reading (minimum of runs), state bytes per patient and the RSS of a
    process holding ``--rss-patients`` patients' states, for the full detector set."""
    from vigil.bench.detect import run_bench

    result = run_bench(patients=patients, days=days, rounds=rounds, rss_patients=rss_patients)
    _print(result, as_json=as_json, width=24)


def bench_nightscout(
    days: int = typer.Option(14, min=1, help="Days of 5-minute CGM in the backlog"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """An xDrip+-shaped backlog uploaded through the Nightscout API (gzip batches of 300),
    stored and handed to the stream: seconds, entries/s, stored, lost, doubled."""
    from vigil.bench.nightscout import run_bench

    _print(run_bench(Settings(), days=days), as_json=as_json, width=16)


def _print_endpoints(result: dict[str, Any], *, as_json: bool) -> None:
    """Latency and throughput per endpoint, then the setup."""
    if as_json:
        typer.echo(json.dumps(result))
        return
    for name, figures in result["endpoints"].items():
        cpu = figures.get("server_cpu_ms_per_request")
        typer.echo(
            f"{name:>20}: p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms,"
            f" {figures['rps']} req/s" + (f", server CPU {cpu} ms a request" if cpu else "")
        )
    typer.echo(f"{'setup':>20}: {json.dumps(result['setup'])}")


def _print(result: dict[str, Any], *, as_json: bool, width: int) -> None:
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for key, value in result.items():
            typer.echo(f"{key:>{width}}: {value}")


def bench_gateway(
    records: int = typer.Option(2000, min=1, help="Measurements the simulated cuff holds"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """A simulated Bluetooth cuff's stored measurements through vigil gateway into Vigil."""
    from vigil.bench.gateway import run_bench

    _print(run_bench(Settings(), records=records), as_json=as_json, width=24)


def bench_storage(
    patients: int = typer.Option(1000, min=5, help="Patients (a fifth on a 5-minute CGM)"),
    days: int = typer.Option(30, min=15, help="Days of readings"),
    rounds: int = typer.Option(200, min=1, help="Times each read is timed on each layout"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """Bytes a reading (heap, each index, total) and the 30-day rollup and AGP times, the
    readings' layout before migration 0180 beside today's, same readings, one run."""
    from vigil.bench.storage import run_bench

    _print(run_bench(patients=patients, days=days, rounds=rounds), as_json=as_json, width=28)


def register(bench_app: typer.Typer) -> None:
    bench_app.command("pipeline")(bench_pipeline)
    bench_app.command("api")(bench_api)
    bench_app.command("ingest")(bench_ingest)
    bench_app.command("flood")(bench_flood)
    bench_app.command("detect")(bench_detect)
    bench_app.command("fhir")(bench_fhir)
    bench_app.command("nightscout")(bench_nightscout)
    bench_app.command("gateway")(bench_gateway)
    bench_app.command("storage")(bench_storage)
