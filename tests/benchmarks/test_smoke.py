"""Each benchmark runs at a tiny size, so CI knows it still works; figures come from full runs by hand."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT

TARGET_LINE = re.compile(r"^[^:]+: \S.* \(target [^)]+\) (PASS|SHORT)$")


def _run(script: str, *args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if TARGET_LINE.match(line)]


def test_backfill_benchmark_smoke():
    lines = _run("backfill.py", "--prospects", "3000", "--rate-limit", "3", "--window-seconds", "1")
    figures = {line.split(":")[0]: line for line in lines}
    assert set(figures) == {
        "calls / minimum",
        "every prospect once",
        "429 answers",
        "wall / rate-limit floor",
    }
    # counts are deterministic and must hold at any size; timing figures are for full runs only
    for name in ("calls / minimum", "every prospect once", "429 answers"):
        assert figures[name].endswith("PASS"), figures[name]
