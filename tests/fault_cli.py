"""The real `patrol` CLI in a subprocess, with a quick stand-in detector (no model load), for the fault
tests: the store, the pipeline, signals, locks and exit codes are the real ones.

Run as ``python tests/fault_cli.py process ...``. Environment: PATROL_TEST_DELAY_S (seconds per frame),
PATROL_TEST_RECORD (a file that gets one line per frame detected).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from patrol.cli import main  # noqa: E402
from patrol.cli import process as _process  # noqa: E402


class NoBoxes:
    def detect_path(self, path: str, image: object) -> list:
        record = os.environ.get("PATROL_TEST_RECORD")
        if record:
            with open(record, "a", encoding="utf-8") as fh:
                fh.write(f"{Path(path).parent.name}/{Path(path).name}\n")
        time.sleep(float(os.environ.get("PATROL_TEST_DELAY_S", "0")))
        return []

    def detect(self, image: object) -> list:
        return []


_process.make_detector = lambda kind, settings, paths: (lambda: NoBoxes())

if __name__ == "__main__":
    main()
