"""The terminal output every command prints through (rich).

Outside a terminal (a log file, CI, a pipe) rich assumes 80 columns and wraps the summary
tables; there they get room for a whole row instead, unless COLUMNS says otherwise.
"""

from __future__ import annotations

import os
from typing import IO

from rich.console import Console

WIDTH_OUTSIDE_A_TERMINAL = 200


def make_console(*, stderr: bool = False, file: IO[str] | None = None) -> Console:
    console = Console(stderr=stderr, file=file)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = WIDTH_OUTSIDE_A_TERMINAL
    return console
