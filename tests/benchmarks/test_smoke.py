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


def test_pages_benchmark_smoke():
    lines = _run("pages.py", "--requests", "100", "--rounds", "1", "--concurrency", "4")
    figures = {line.split(":")[0]: line for line in lines}
    assert set(figures) == {
        "every dialog opened",
        "failed or wrong answers",
        "dialog / hello-world throughput",
    }
    for name in ("every dialog opened", "failed or wrong answers"):
        assert figures[name].endswith("PASS"), figures[name]


def test_webhooks_benchmark_smoke():
    lines = _run("webhooks.py", "--size", "tiny")
    figures = {line.split(":")[0]: line for line in lines}
    assert set(figures) == {
        "ack throughput / hello world",
        "p99 acknowledgement latency",
        "every ack 2xx",
        "every event stored once",
    }
    # every delivery acknowledged and every event stored once hold at any size; speed is for full runs
    for name in ("every ack 2xx", "every event stored once"):
        assert figures[name].endswith("PASS"), figures[name]


def test_reports_benchmark_smoke():
    lines = _run("reports.py", "--size", "tiny")
    figures = {line.split(":")[0]: line for line in lines}
    backends = ("sqlite", "postgresql")
    reports = ("speed-to-lead", "lead-sources", "agent-activity")
    acknowledgements = (
        "ack throughput / hello world",
        "p99 acknowledgement latency",
        "every ack 2xx",
        "every event stored once",
    )
    assert set(figures) == {
        f"{backend} {report} {figure}"
        for backend in backends
        for report in reports
        for figure in ("rows counted", "/ scan")
    } | {f"{backend} webhook {figure}" for backend in backends for figure in acknowledgements}
    # rows counted, acks and stored events are deterministic; the time ratios are for full runs only
    for name, line in figures.items():
        if name.endswith(("rows counted", "every ack 2xx", "every event stored once")):
            assert line.endswith("PASS"), line
