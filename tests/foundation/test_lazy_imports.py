"""A worker carries only what its requests use: openpyxl (about 6 MB of a worker's ~150 MB
budget, docs/benchmarks.md) is imported when a spreadsheet is written or read, not when the
app starts. A fresh interpreter, because this test session has imported it long ago."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import sys
from service.app import create_app
create_app()
print(sorted(m for m in sys.modules if m.split(".")[0] == "openpyxl"))
"""


def test_the_app_starts_without_openpyxl() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
