"""`vigil demo`: the whole system with simulated patients, on embedded servers.

Starts TimescaleDB, Mosquitto and every stage, enrols a few dozen simulated patients through
the administrator's path, creates a care team with a nurse and a patient login, prints the
dashboard URL and the logins, then publishes the patients' recent history as their devices
at a speed where clinical events (and their alerts) appear within a minute or two.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TextIO
from uuid import UUID

import psycopg
import uvicorn

from vigil.api import Role
from vigil.api import repo as api_repo
from vigil.api.security import hash_password
from vigil.api.serving import uvicorn_options
from vigil.device_sim import generate
from vigil.device_sim.cli import live_start
from vigil.device_sim.nightscout import XdripUploader, enrol_phone_patient
from vigil.device_sim.publish import AdminProvisioner, enrol, publish, wall_offsets
from vigil.gateway.demo import demo_config
from vigil.gateway.thread import GatewayThread
from vigil.serve import Running, running_stages
from vigil.settings import Settings
from vigil.storage import nightscout

DEMO_PASSWORD = "vigil-demo"  # noqa: S105 - printed for the demo's throw-away accounts
ADMIN = "admin@demo.vigil.example"
NURSES = ("nurse@demo.vigil.example", "nurse2@demo.vigil.example")
PATIENT = "patient@demo.vigil.example"
PATIENTS = (PATIENT, "patient2@demo.vigil.example")
NURSE = NURSES[0]


def _users(database_url: str, tenant_id: UUID, patients: list[UUID]) -> list[tuple[str, str]]:
    """The demo's care team (two nurses, every patient), two patient logins and the admin;
    returns every login as (what it is, e-mail), in the order the demo prints them."""
    digest = hash_password(DEMO_PASSWORD)
    logins: list[tuple[str, str]] = []
    with psycopg.connect(database_url, autocommit=True) as conn:

        def user(email: str, name: str, role: Role, patient: UUID | None = None) -> UUID:
            return api_repo.create_user(
                conn,
                tenant_id=tenant_id,
                email=email,
                display_name=name,
                role=role,
                password_hash=digest,
                patient_id=patient,
            )

        user(ADMIN, "Demo Admin", Role.ADMIN)
        logins.append(("Admin console", ADMIN))
        team = api_repo.create_team(conn, tenant_id=tenant_id, name="Demo care team")
        for i, email in enumerate(NURSES, 1):
            nurse = user(email, f"Demo Nurse {i}", Role.CLINICIAN)
            api_repo.add_member(conn, team_id=team, user_id=nurse, tenant_id=tenant_id)
            logins.append(("Clinician", email))
        for patient in patients:
            api_repo.add_team_patient(conn, team_id=team, patient_id=patient, tenant_id=tenant_id)
        for i, (email, patient) in enumerate(zip(PATIENTS, patients, strict=False), 1):
            user(email, f"Demo Patient {i}", Role.PATIENT, patient)
            logins.append(("Patient feed", email))
    return logins


class _Progress:
    """Prints how far the history load is, from the publishing pace."""

    def __init__(self, total_s: float, out: TextIO) -> None:
        self.total_s = max(total_s, 1e-6)
        self.began = time.monotonic()
        self.out = out
        self.shown = -1

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
        done = min(100, int(100 * (time.monotonic() - self.began) / self.total_s))
        if done // 10 != self.shown // 10:
            self.shown = done
            self.out.write(f"  loading history: {done}%\n")
            self.out.flush()


def run_demo(
    settings: Settings,
    *,
    patients: int = 30,
    days: int = 2,
    speed: float = 2880.0,
    seed: int = 7,
    out: TextIO = sys.stdout,
    stop: threading.Event | None = None,
) -> None:
    """Run until Ctrl-C (or ``stop``). The demo's state folder is recreated each run."""
    stop = stop or threading.Event()
    if settings.database_url is None and settings.state_dir.exists():
        shutil.rmtree(settings.state_dir)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    settings.state_dir.chmod(0o755)
    out.write("Starting Vigil (embedded TimescaleDB and Mosquitto, all stages)...\n")
    with running_stages(settings) as running:
        server, http_thread = _serve_http(running)
        phone: XdripUploader | None = None
        try:
            phone = _demo_body(
                running, patients=patients, days=days, speed=speed, seed=seed, out=out
            )
            out.write("History loaded. Vigil keeps running: press Ctrl-C to stop.\n")
            out.flush()
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass  # Ctrl-C: stop every stage in order, below
        finally:
            out.write("Stopping...\n")
            out.flush()
            _stop_gateway()
            if phone is not None:
                phone.stop()
            server.should_exit = True  # stop HTTP (and its database listener) before the servers
            http_thread.join(15)
    out.write("Vigil stopped.\n")


def _serve_http(running: Running) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(
        running.app,
        host=running.settings.api_host,
        port=running.settings.api_port,
        log_level="warning",
        **uvicorn_options(running.settings),
    )
    server = uvicorn.Server(config)
    # Served from a thread: uvicorn installs no signal handlers there; Ctrl-C reaches the
    # main thread, which unwinds every stage.
    thread = threading.Thread(target=server.run, name="vigil-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the HTTP server did not start")
        time.sleep(0.05)
    return server, thread


def _xdrip_patient(running: Running, tenant_id: UUID, days: int) -> tuple[UUID, XdripUploader]:
    """One more patient whose CGM arrives as from a phone running xDrip+: through the
    Nightscout API with the device's own secret (docs/nightscout.md)."""
    patient, issued = enrol_phone_patient(
        running.servers.database_url, tenant_id=tenant_id, name="xDrip+ CGM (Nightscout)", days=days
    )
    site = nightscout.site_answer(running.url, issued)
    return patient, XdripUploader(site["url"], site["api_secret"], backlog_days=days, every_s=60)


def _demo_body(
    running: Running, *, patients: int, days: int, speed: float, seed: int, out: TextIO
) -> XdripUploader:
    servers = running.servers
    sim = generate(
        "stress", patients, days, seed, start=live_start(datetime.now(UTC), days=days, speed=speed)
    )
    provisioner = AdminProvisioner(servers.database_url, servers.broker_root)
    try:
        enrolment = enrol(provisioner, sim, run_id="demo")
    finally:
        provisioner.close()
    patient_ids = [enrolment.patients[p["patient"]] for p in sim.patients]
    _start_gateway(running, enrolment.tenant_id, patient_ids[0], out)
    xdrip_patient, phone = _xdrip_patient(running, enrolment.tenant_id, days)
    patient_ids.append(xdrip_patient)
    logins = _users(servers.database_url, enrolment.tenant_id, patient_ids)
    url = running.url
    out.write(
        f"\nVigil is running.\n"
        f"  Dashboard:     {url}/\n"
        f"  Admin console: {url}/admin\n"
        + "".join(f"  {what + ':':<15}{email} / {DEMO_PASSWORD}\n" for what, email in logins)
        + (f"  API document:  {url}/api/v1/openapi.json\n" if running.settings.api_openapi else "")
        + f"  CGM via xDrip+: {phone.url} (Nightscout API, the device's own secret)\n"
        + "\n"
        f"Publishing {days} days of history for {patients} simulated patients "
        f"({len(sim.messages)} device messages, {len(sim.truth)} labelled events)...\n"
    )
    out.flush()
    phone.start()
    offsets = wall_offsets(sim, speed)
    progress = _Progress(offsets[-1] if offsets else 0.0, out)
    report = publish(
        sim,
        enrolment.devices,
        host=servers.mqtt.host,
        port=servers.device_port,
        speed=speed,
        sleep=progress.sleep,
    )
    out.write(
        f"  published {report.messages} messages ({report.malformed} deliberately malformed) "
        f"in {report.seconds:.0f} s\n"
    )
    return phone


_gateways: list[GatewayThread] = []


def _start_gateway(running: Running, tenant_id: UUID, patient: UUID, out: TextIO) -> None:
    """The first patient's Bluetooth cuff: provisioned like any device, its two weeks of stored
    measurements delivered by ``vigil gateway``'s loop from a bumble-simulated cuff."""
    days = 14
    servers = running.servers
    provisioner = AdminProvisioner(servers.database_url, servers.broker_root)
    try:
        creds = provisioner.provision_device(tenant_id=tenant_id, device_id=None, kind="bp_cuff")
        provisioner.assign_device(
            device_id=creds.device_id,
            patient_id=patient,
            valid_from=datetime.now(UTC) - timedelta(days=days + 1),
        )
        provisioner.reload_broker()
    finally:
        provisioner.close()
    gateway = GatewayThread(
        demo_config(
            host=servers.mqtt.host,
            port=servers.device_port,
            device_id=creds.device_id,
            password=creds.password,
            state_dir=running.settings.state_dir,
            days=days,
        )
    )
    gateway.start()
    _gateways.append(gateway)
    out.write(f"  Bluetooth cuff (through vigil gateway, simulated): device {creds.device_id}\n")


def _stop_gateway() -> None:
    while _gateways:
        _gateways.pop().stop()
