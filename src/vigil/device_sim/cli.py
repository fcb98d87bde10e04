"""``vigil sim``: simulate patients to files, or enrol them and publish as their devices."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from vigil.device_sim.generate import generate
from vigil.device_sim.output import generate_to_folder
from vigil.device_sim.scenarios import SCENARIOS


def sim(
    patients: int = typer.Option(50, min=0, help="Simulated patients"),
    days: int = typer.Option(7, min=1, help="Days of history"),
    seed: int = typer.Option(0, help="Same seed, same output (to the byte, with --to-file)"),
    scenario: str = typer.Option(
        "standard", help=f"One of: {', '.join(SCENARIOS)} (stress: many events)"
    ),
    to_file: Path | None = typer.Option(
        None, "--to-file", help="Write patients/readings/truth JSON Lines here; no broker"
    ),
    speed: float | None = typer.Option(
        None, min=0, help="Simulated seconds per wall second (default: as fast as possible)"
    ),
    start: datetime | None = typer.Option(
        None,
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
        help="UTC start of the history (default: a fixed date with --to-file; when "
        "publishing, so that the history ends when publishing does)",
    ),
    malformed_rate: float | None = typer.Option(
        None,
        min=0.0,
        max=1.0,
        help="Share of messages followed by a broken copy (default: "
        "the scenario's, 0.005 standard, 0.03 stress)",
    ),
    run_id: str | None = typer.Option(
        None, help="Prefix of the provisioned device ids (default: random)"
    ),
) -> None:
    """Simulated patients with labelled clinical events, to files or to the broker."""
    begin = start.replace(tzinfo=UTC) if start is not None else None
    if to_file is not None:
        result = generate_to_folder(
            to_file, scenario, patients, days, seed, start=begin, malformed_rate=malformed_rate
        )
        typer.echo(json.dumps({"wrote": str(to_file), **result}))
        return
    if begin is None:
        begin = live_start(datetime.now(UTC), days=days, speed=speed)
    out = generate(scenario, patients, days, seed, start=begin, malformed_rate=malformed_rate)
    _publish(out, speed=speed, run_id=run_id or f"sim{secrets.token_hex(3)}")


def live_start(now: datetime, *, days: int, speed: float | None) -> datetime:
    """Where a published run starts so that it ends as publishing ends, never in the future.

    With ``speed`` S the run takes days / S of wall time; starting it at now + days / S - days
    makes simulated time catch up with the wall clock at the end (S = 1 is a live feed).
    Without a speed, publishing is quick and the history simply ends now.
    """
    history = timedelta(days=days)
    ahead = history / speed if speed else timedelta(0)
    return (now + ahead - history).replace(microsecond=0)


def _publish(out: object, *, speed: float | None, run_id: str) -> None:
    import psycopg

    from vigil.device_sim.models import SimOutput
    from vigil.device_sim.publish import AdminProvisioner, enrol, expected_counts, publish
    from vigil.servers.stack import start_servers
    from vigil.settings import Settings
    from vigil.storage import migrate

    assert isinstance(out, SimOutput)
    servers = start_servers(Settings())
    try:
        with psycopg.connect(servers.database_url) as conn:
            migrate(conn)
        provisioner = AdminProvisioner(servers.database_url, servers.broker_root)
        try:
            enrolment = enrol(provisioner, out, run_id=run_id)
        finally:
            provisioner.close()
        report = publish(
            out, enrolment.devices, host=servers.mqtt.host, port=servers.device_port, speed=speed
        )
        typer.echo(
            json.dumps(
                {
                    "run_id": run_id,
                    "tenant_id": str(enrolment.tenant_id),
                    "published": report.messages,
                    "malformed": report.malformed,
                    "unacknowledged": report.unacknowledged,
                    "seconds": round(report.seconds, 1),
                    "expected": expected_counts(out),
                }
            )
        )
    finally:
        servers.close()


def register(app: typer.Typer) -> None:
    app.command("sim")(sim)
