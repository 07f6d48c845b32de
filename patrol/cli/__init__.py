"""Command-line interface. Each command module registers its commands on the shared app.

Commands are thin: parse options, build Settings, call one library function, print.
"""

from __future__ import annotations

import importlib

from patrol.cli.app import app

# One module per domain; each registers its commands on ``app`` when imported.
COMMAND_MODULES: tuple[str, ...] = (
    "patrol.cli.ingest",
    "patrol.cli.process",
    "patrol.cli.cases",
    "patrol.cli.report",
    "patrol.cli.train",
    "patrol.cli.detect",
    "patrol.cli.sim",
    "patrol.cli.verify",
    "patrol.cli.office",
    "patrol.cli.route",
)

for _name in COMMAND_MODULES:
    importlib.import_module(_name)


def main() -> None:
    app()
