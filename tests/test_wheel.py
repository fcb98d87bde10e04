"""The wheel is what gets installed: build it, install it into a fresh virtual environment, and
import and run it from there (not from the source tree).

The fresh venv gets the wheel alone; its dependencies come from this test run's environment
through a ``.pth`` line (a path line adds that folder without running its ``.pth`` files, so the
editable install of the source tree is not seen). That keeps the test offline and ~30 s.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "vigil"
PIP = (sys.executable, "-m", "pip")

CHECK = """
import sys, vigil, vigil.api, vigil.cli
from pathlib import Path
from vigil.api.web import i18n, pages
from vigil.storage.db import _migrations

installed = Path(vigil.__file__).parent
assert str(installed).startswith(sys.prefix), installed
for name in ("base.html", "inbox.html", "triage.html"):
    pages.templates.get_template(name)
assert (pages.STATIC / "triage.js").is_file()
for lang in i18n.LANGS:
    assert i18n.messages_for(lang, ("inbox",)), lang
print(len(_migrations()))
"""


def _data_files() -> set[str]:
    """Every file in the source package that is not Python: each must be in the wheel."""
    return {
        "vigil/" + p.relative_to(SOURCE).as_posix()
        for p in SOURCE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }


def test_the_wheel_installs_imports_and_runs(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(
        ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [*PIP, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(tree)],
        check=True,
    )
    (wheel,) = dist.glob("vigil-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert _data_files() <= names, sorted(_data_files() - names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [*PIP, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "dev-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")

    checked = subprocess.run(
        [str(python), "-c", CHECK], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    migrations = sorted((SOURCE / "storage" / "migrations").glob("*.sql"))
    assert int(checked.stdout.split()[-1]) == len(migrations)

    helped = subprocess.run(
        [str(venv / "bin" / "vigil"), "--help"], capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0, helped.stderr
    for command in ("serve", "eval", "bench", "demo"):
        assert command in helped.stdout
