"""`vigil user add` (the first administrator of a tenant)."""

from __future__ import annotations

import typer

from vigil.settings import Settings


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
    from vigil.api.names import clean_display_name, normalise_email
    from vigil.api.security import hash_password
    from vigil.servers import start_servers
    from vigil.storage import admin, migrate

    try:
        email, name = normalise_email(email), clean_display_name(name)  # as the API does
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    servers = start_servers(Settings(), needs=frozenset({"database"}))
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


def register(app: typer.Typer) -> None:
    user_app = typer.Typer(no_args_is_help=True, help="API users.")
    user_app.command("add")(add_user)
    app.add_typer(user_app, name="user")
