"""`vigil bench api` and `vigil user add` (the first administrator of a tenant)."""

from __future__ import annotations

import json

import typer

from vigil.settings import Settings


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
) -> None:
    """p50/p99 latency and requests/s of the alert inbox, a 30-day hourly rollup and a care
    team's latest-vitals list."""
    from vigil.api.bench import run_bench

    result = run_bench(
        Settings(),
        patients=patients,
        days=days,
        team_size=team_size,
        clients=clients,
        requests=requests,
        processes=processes,
        cache=cache,
    )
    if as_json:
        typer.echo(json.dumps(result))
        return
    for name, figures in result["endpoints"].items():
        typer.echo(
            f"{name:>20}: p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms,"
            f" {figures['rps']} req/s"
        )
    typer.echo(f"{'setup':>20}: {json.dumps(result['setup'])}")


def add_user(
    tenant: str = typer.Option(..., help="Tenant name"),
    email: str = typer.Option(...),
    name: str = typer.Option(..., help="Display name"),
    role: str = typer.Option("admin", help="admin, clinician or patient"),
    patient: str | None = typer.Option(None, help="Patient id (role patient)"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a user (for example the first administrator of a tenant)."""
    from uuid import UUID

    import psycopg

    from vigil.api import repo
    from vigil.api.access import Role
    from vigil.api.security import hash_password
    from vigil.servers import start_servers
    from vigil.storage import admin, migrate

    servers = start_servers(Settings())
    try:
        with psycopg.connect(servers.database_url) as conn:
            migrate(conn)
            user_id = repo.create_user(
                conn,
                tenant_id=admin.tenant_by_name(conn, name=tenant),
                email=email,
                display_name=name,
                role=Role(role),
                password_hash=hash_password(password),
                patient_id=UUID(patient) if patient else None,
            )
        typer.echo(str(user_id))
    finally:
        servers.close()


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    bench_app.command("api")(bench_api)
    user_app = typer.Typer(no_args_is_help=True, help="API users.")
    user_app.command("add")(add_user)
    app.add_typer(user_app, name="user")
