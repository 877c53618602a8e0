"""Each benchmark runs at a tiny size, so CI knows it still works; figures come from full runs by hand."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

TARGET_LINE = re.compile(r"^[^:]+: \S.* \(target [^)]+\) (PASS|SHORT)$")


CONFIGURATIONS = ("access log on", "no access log")
ACKNOWLEDGEMENTS = {
    f"{figure}, {backend}, {configuration}"
    for figure in ("ack / hello-world throughput", "p99 acknowledgement latency", "every ack 2xx",
                   "every event stored once")
    for backend in ("sqlite", "postgresql")
    for configuration in CONFIGURATIONS
} | {"wrk ceiling / fastest hello-world"}  # fmt: skip
PAGES = {
    f"{figure}, {configuration}"
    for figure in ("dialog / hello-world throughput", "dialog p99 latency")
    for configuration in CONFIGURATIONS
} | {"failed or wrong answers", "wrk ceiling / fastest hello-world"}
# A page's answer is bounded by its budget whatever the size: every figure must PASS, even tiny.
SALES_FAULTS = ("slowest page answer", "answers past the budget", "answers other than 200, 503, 504",
                "workers killed", "healthy answers")  # fmt: skip
# The cluster starts its own HAProxy and Redis, installing Debian's when missing and running as root.
CLUSTER_CAN_RUN = all(
    shutil.which(program)
    or os.path.exists(f"/usr/sbin/{program}")
    or (os.geteuid() == 0 and shutil.which("apt-get"))
    for program in ("haproxy", "redis-server")
)
CLUSTER_FAULTS = (
    "worker kills",
    "web host kill",
    "database restart",
    "Redis stop",
    "Sales 429 storm",
    "Sales 5xx spell",
)
CLUSTER_FIGURES = {
    "faults injected and recovered", "every delivered event stored once", "every delivered event processed",
    "new contacts replied to exactly once", "contacts replied to twice",
    "agent sends Sales acted on once per click pair", "imports matching Sales", "429s caused by us",
    "queues drained", "errors with no fault", *(f"errors after {fault}" for fault in CLUSTER_FAULTS),
}  # fmt: skip
REPORT_FIGURES = {
    f"{backend} {report} {figure}"
    for backend in ("sqlite", "postgresql")
    for report in ("speed-to-lead", "lead-sources", "agent-activity")
    for figure in ("rows counted", "all time", "last30")
}


def _run(script: str, *args: str) -> dict[str, str]:
    """The script's target lines by figure name; it must exit 0."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if TARGET_LINE.match(line)]
    return {line.split(":")[0]: line for line in lines}


# Counts hold at any size, so they must PASS even tiny; speed figures are for full runs by hand.
@pytest.mark.parametrize(
    ("script", "args", "figures", "deterministic"),
    [
        (
            "backfill.py",
            ("--prospects", "3000", "--rate-limit", "3", "--window-seconds", "1"),
            {"calls / minimum", "every prospect once", "429 answers", "wall / rate-limit floor"},
            ("calls / minimum", "every prospect once", "429 answers"),
        ),
        (
            "pages.py",
            ("--seconds", "1", "--rounds", "1", "--urls", "500"),
            PAGES,
            ("failed or wrong answers",),
        ),
        ("webhooks.py", ("--size", "tiny"), ACKNOWLEDGEMENTS, ("2xx", "stored once")),
        ("reports.py", ("--size", "tiny"), REPORT_FIGURES, ("rows counted",)),
        ("sales_faults.py", ("--size", "tiny"), set(SALES_FAULTS), SALES_FAULTS),
        # Every promise of the cluster holds at any size: a broken one exits non-zero.
        pytest.param(
            "cluster.py",
            ("--size", "tiny"),
            CLUSTER_FIGURES,
            tuple(CLUSTER_FIGURES),
            marks=pytest.mark.skipif(
                not CLUSTER_CAN_RUN, reason="needs haproxy and redis-server (or root and apt-get)"
            ),
        ),
    ],
    ids=["backfill", "pages", "webhooks", "reports", "sales_faults", "cluster"],
)
def test_benchmark_smoke(script, args, figures, deterministic):
    printed = _run(script, *args)
    assert set(printed) == figures
    for name, line in printed.items():
        if any(part in name for part in deterministic):
            assert line.endswith("PASS"), line
