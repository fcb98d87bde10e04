#!/usr/bin/env python3
"""Run `make demo` with a time limit, check that the dashboard answers and an alert appears,
then stop it with Ctrl-C (SIGINT) and check that it stops cleanly.

Usage: scripts/check_demo.py [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - localhost
            return response.status, response.read()
    except OSError:
        return 0, b""


def login(base: str, email: str = "nurse@demo.vigil.example") -> str | None:
    body = json.dumps({"email": email, "password": "vigil-demo"}).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/auth/token", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - localhost
            return str(json.load(response)["access_token"])
    except OSError:
        return None


LOGIN_LINE = re.compile(r"^  ([A-Za-z ]+):\s+(\S+@\S+) / vigil-demo$", re.MULTILINE)


def printed_logins_work(base: str, output: str) -> bool | None:
    """Every login the demo printed signs in, and there is an admin, a clinician and a
    patient among them; None until the demo has printed them."""
    found = LOGIN_LINE.findall(output)
    if not found:
        return None
    kinds = {what for what, _ in found}
    if not {"Admin console", "Clinician", "Patient feed"} <= kinds:
        print(f"check_demo: logins printed: {found}")
        return False
    for what, email in found:
        if login(base, email) is None:
            print(f"check_demo: the printed {what} login {email} does not sign in")
            return False
    print(f"check_demo: {len(found)} printed logins sign in ({', '.join(sorted(kinds))})")
    return True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=240.0)
    args = parser.parse_args()
    port = free_port()
    state = tempfile.mkdtemp(prefix="vigil-demo-check-")
    os.chmod(state, 0o755)
    env = {
        **os.environ,
        "VIGIL_API_PORT": str(port),
        "VIGIL_DEMO_STATE_DIR": str(Path(state) / "demo"),
    }
    base = f"http://127.0.0.1:{port}"
    log_path = Path(state) / "demo.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "demo", "DEMO_ARGS=--speed 5760"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + args.timeout
    checks = {"dashboard": False, "alert": False}
    logins: bool | None = None
    try:
        token = None
        while time.monotonic() < deadline and proc.poll() is None:
            if not checks["dashboard"]:
                status, _ = get(f"{base}/")
                checks["dashboard"] = status == 200
            if token is None:
                token = login(base)
            if token is not None and not checks["alert"]:
                status, body = get(f"{base}/api/v1/alerts?limit=5", token)
                if status == 200 and json.loads(body):
                    alert = json.loads(body)[0]
                    print(f"check_demo: first alert: {alert['cause']} ({alert['severity']})")
                    checks["alert"] = True
            if logins is None:
                logins = printed_logins_work(base, log_path.read_text())
            if all(checks.values()) and logins is not None:
                break
            time.sleep(1)
    finally:
        # Ctrl-C in a terminal signals the whole foreground group (make and vigil).
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    output = log_path.read_text()
    checks["stopped cleanly"] = "Vigil stopped." in output and "Traceback" not in output
    checks["logins"] = bool(logins)
    print(f"check_demo: {checks}")
    if not all(checks.values()):
        print(output[-4000:])
    ok = all(checks.values())
    leftovers = subprocess.run(
        ["pgrep", "-f", state], capture_output=True, text=True, check=False
    ).stdout.split()
    if leftovers:
        print(f"check_demo: processes left running: {leftovers}")
        ok = False
    subprocess.run(["rm", "-rf", state], check=False)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
