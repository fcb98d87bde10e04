"""`make demo` works: the check script runs it with a time limit, sees the dashboard answer,
an alert appear and every printed login sign in, stops it with Ctrl-C and finds nothing left
running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_demo.py"


def test_make_demo_shows_the_dashboard_and_an_alert_then_stops_cleanly() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--timeout", "240"],
        capture_output=True,
        text=True,
        check=False,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    checks = "'dashboard': True, 'alert': True, 'stopped cleanly': True, 'logins': True"
    assert checks in proc.stdout
