"""A FENGHUO_* setting out of its range stops the CLI at once with one line naming it and what is accepted, never
the value given (some settings are keys), and nothing is started or written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FENGHUO = str(Path(sys.executable).with_name("fenghuo"))


def test_a_setting_out_of_range_names_itself_and_starts_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "FENGHUO_DATA_DIR": str(data), "FENGHUO_BATCH_WORKER_NICE": "25",
           "FENGHUO_ALLIANCE_KEY": "not-a-key-secret-value"}
    done = subprocess.run([FENGHUO, "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "fenghuo: FENGHUO_BATCH_WORKER_NICE is not accepted: Input should be less than or equal to 19"]
    assert "Traceback" not in done.stderr + done.stdout and "25" not in done.stderr
    assert not data.exists()  # nothing started: no embedded store, no key written
