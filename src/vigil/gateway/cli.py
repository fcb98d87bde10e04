"""``vigil gateway``: decode a characteristic value (a device maker's and support engineer's
tool) and run the home gateway."""

from __future__ import annotations

import json
from datetime import tzinfo
from pathlib import Path

import typer

from vigil.gateway.characteristics import decode, parse_uuid16
from vigil.gateway.config import time_zone
from vigil.gateway.errors import DecodeError, GatewayError

gateway_app = typer.Typer(
    no_args_is_help=True, help="The home gateway for Bluetooth health devices."
)
EXIT_REFUSED = 2


def parse_hex(text: str) -> bytes:
    """``1E7800...``, with or without spaces, colons, dashes or a ``0x``."""
    cleaned = "".join(text.split()).replace(":", "").replace("-", "").lower().removeprefix("0x")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise DecodeError(f"{text[:40]!r} is not hexadecimal bytes") from None


def _time_zone(name: str) -> tzinfo:
    try:
        return time_zone(name)
    except ValueError as exc:
        raise DecodeError(str(exc)) from None


def decode_command(
    characteristic: str = typer.Argument(..., help="16-bit UUID in hex, like 2A35"),
    value: str = typer.Argument(..., help="The value's bytes in hex, as the device sent them"),
    tz: str = typer.Option(
        "UTC", "--tz", help="The device clock's time zone (a Date Time has no offset)"
    ),
) -> None:
    """Print the readings a value decodes to, as Vigil's payload (JSON on stdout; the fields
    the payload does not carry on stderr), or exit 2 with the reason."""
    try:
        decoded = decode(parse_uuid16(characteristic), parse_hex(value), _time_zone(tz))
    except DecodeError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    typer.echo(json.dumps(decoded.payload(), ensure_ascii=False))
    if decoded.details:
        typer.echo(f"details: {json.dumps(decoded.details, ensure_ascii=False)}", err=True)


def run_command(
    config: Path = typer.Option(..., "--config", help="The gateway's TOML or JSON config"),
) -> None:
    """Connect to the configured devices and deliver every reading to Vigil (until SIGTERM)."""
    from vigil.gateway.config import load_config
    from vigil.gateway.service import run_gateway

    try:
        cfg = load_config(config)
    except GatewayError as exc:
        typer.echo(f"vigil gateway: {exc}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    raise typer.Exit(run_gateway(cfg))


def register(app: typer.Typer) -> None:
    gateway_app.command("decode")(decode_command)
    gateway_app.command("run")(run_command)
    app.add_typer(gateway_app, name="gateway")
