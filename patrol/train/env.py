"""Make ultralytics run fully offline and at full speed on a small CPU. No heavy import here.

Call ``configure_offline()`` before ultralytics is imported: it reads these variables at import time.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from patrol.errors import ModelError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_DIR = REPO_ROOT / ".yolo"  # gitignored


def _font_source() -> Path | None:
    try:
        import matplotlib
    except ImportError:
        return None
    p = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return p if p.is_file() else None


def configure_offline(config_dir: Path | None = None, threads: int | None = None) -> Path:
    """Set the environment so ultralytics never reaches the network; return its config dir.

    YOLO_OFFLINE=1, YOLO_AUTOINSTALL=false, a project-local YOLO_CONFIG_DIR with a font in it (plots
    otherwise download Arial.ttf), and OMP_NUM_THREADS (ultralytics forces 1 when it is unset).
    Must run before ``import ultralytics``.
    """
    cfg = Path(config_dir or os.environ.get("YOLO_CONFIG_DIR") or DEFAULT_CONFIG_DIR).resolve()
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ["YOLO_CONFIG_DIR"] = str(cfg)
    os.environ.setdefault("YOLO_VERBOSE", "true")
    n = threads or os.cpu_count() or 1
    os.environ["OMP_NUM_THREADS"] = str(n)
    # On a shared small CPU, spinning OpenMP workers burn the time slices other threads need.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    fonts = cfg / "Ultralytics"
    fonts.mkdir(parents=True, exist_ok=True)
    src = _font_source()
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        dst = fonts / name
        if not dst.exists() and src is not None:
            shutil.copyfile(src, dst)
    return cfg


def require_local_weights(path: str | Path) -> Path:
    """A weights path that exists on disk. A bare name like ``yolov8n.pt`` would make ultralytics try a
    download, so it is refused with a ModelError naming the file."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(
            f"{p}: weights file not found (give a path to a local .pt; bare names like yolov8n.pt would be downloaded)"
        )
    return p.resolve()
