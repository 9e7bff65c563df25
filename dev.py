#!/usr/bin/env python3
"""Set everything up, then run the main job or the tests. Needs only python3.

    python3 dev.py run     # create .venv, install pinned packages, run the nightly pipeline on demo data
    python3 dev.py test    # create .venv, install pinned packages, run every test

Anything after the verb is passed on (`python3 dev.py test -k identity`).
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


def ensure_environment() -> None:
    """Create the venv and install exactly the tested versions, once per change of pins."""
    wanted = _requirements_digest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("cdp: creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("cdp: installing pinned packages (the first time takes about 4 minutes) ...", flush=True)
    subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-c",
            str(ROOT / "constraints.txt"),
            "-e",
            f"{ROOT}[test]",
        ],
        check=True,
    )
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test"}:
        print(__doc__)
        return 2
    verb, rest = argv[0], argv[1:]
    ensure_environment()
    os.chdir(ROOT)
    command = [str(BIN / "cdp"), "run", *rest] if verb == "run" else [str(BIN / "python"), "-m", "pytest", *rest]
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
