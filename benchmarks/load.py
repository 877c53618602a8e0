"""Load generation for the HTTP benchmarks: ``wrk``, Debian's C load generator, cycling distinct requests.

A Python client tops out near a thousand requests per second on this kind of
machine, below what a bare Flask hello-world serves, so every ratio measured
with it says more about the client than about the server. ``wrk`` drives the
server from one C thread; a small Lua script cycles through a file of
distinct requests (signed URLs, or JSON bodies posted to one path), so zapp
never answers the same request twice in a row. Its own ceiling is measured
against HAProxy answering every request from memory with the same script,
so a reader sees how far below it the servers stay.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

LUA = r"""
local items, method, path, counter = {}, "GET", "/", 0
function setup(thread)
  thread:set("offset", __threads)
  __threads = (__threads or 0) + 1
end
function init(args)
  for line in io.lines(args[1]) do items[#items + 1] = line end
  method, path = args[2], args[3]
  counter = (offset or 0) * 7919
end
function request()
  counter = counter + 1
  local item = items[(counter - 1) % #items + 1]
  if method == "POST" then
    return wrk.format("POST", path, {["Content-Type"] = "application/json"}, item)
  end
  return wrk.format("GET", item)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "ZAPP-WRK requests=%d duration_us=%d p50_us=%d p99_us=%d status=%d connect=%d read=%d write=%d"
    .. " timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
"""
RESULT = re.compile(r"ZAPP-WRK (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run measured (latencies in milliseconds)."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    bad_status: int  # answers outside 2xx/3xx
    socket_errors: int

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> int:
        return self.bad_status + self.socket_errors

    def latency_text(self) -> str:
        return f"{self.p50_ms:.1f} / {self.p99_ms:.1f} ms"


def wrk_binary() -> str:
    """``wrk``, installed from Debian when it is missing and we may (root with apt-get)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian's package), then run again")
    return found


class Wrk:
    """Runs wrk with the cycling script; one instance per benchmark (it holds the script's file)."""

    def __init__(self, folder: Path, *, connections: int = 8, threads: int = 1) -> None:
        self.binary = wrk_binary()
        self.script = folder / "cycle.lua"
        self.script.write_text(LUA)
        self.folder = folder
        self.connections = connections
        self.threads = threads

    def write_items(self, name: str, items: list[str]) -> Path:
        """One request per line: a path with its query (GET) or a JSON body without newlines (POST)."""
        path = self.folder / name
        path.write_text("\n".join(items) + "\n")
        return path

    def run(
        self, base_url: str, items: Path, *, seconds: float, method: str = "GET", path: str = "/"
    ) -> WrkRun:
        command = [
            self.binary, f"-t{self.threads}", f"-c{self.connections}", f"-d{seconds:g}s", "--timeout", "10s",
            "-s", str(self.script), base_url, "--", str(items), method, path,
        ]  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
        found = RESULT.search(output.stdout)
        if found is None:
            raise RuntimeError(f"wrk printed no result:\n{output.stdout}\n{output.stderr}")
        values = {key: int(value) for key, value in (pair.split("=") for pair in found.group(1).split())}
        return WrkRun(
            requests=values["requests"],
            seconds=values["duration_us"] / 1e6,
            p50_ms=values["p50_us"] / 1000,
            p99_ms=values["p99_us"] / 1000,
            bad_status=values["status"],
            socket_errors=values["connect"] + values["read"] + values["write"] + values["timeout"],
        )


HAPROXY_CONFIG = """
global
    maxconn 2000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend ceiling
    bind 127.0.0.1:{port}
    http-request return status 200 content-type text/plain string "Hello, World!"
"""


@contextlib.contextmanager
def ceiling_server(port: int) -> Iterator[str | None]:
    """HAProxy answering every request from memory: what wrk itself can send and read per second.

    Yields its URL, or None when HAProxy is not installed (the ceiling is then not measured).
    """
    binary = shutil.which("haproxy")
    if binary is None:
        yield None
        return
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as config:
        config.write(HAPROXY_CONFIG.format(port=port))
    process = subprocess.Popen([binary, "-f", config.name, "-db"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(url + "/", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("haproxy did not come up") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        os.unlink(config.name)


@dataclass
class Rounds:
    """The wrk runs of one server under one configuration; the best round is the figure."""

    runs: list[WrkRun] = field(default_factory=list)

    @property
    def best(self) -> WrkRun:
        return max(self.runs, key=lambda run: run.throughput)

    @property
    def failures(self) -> int:
        return sum(run.failures for run in self.runs)
