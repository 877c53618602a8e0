"""Cluster benchmark: the whole deployment on one machine, under load, while things break.

Starts, as separate processes on loopback: PostgreSQL (a throwaway server of
its own when ``initdb`` is installed, else a database of its own on the
server of ``ZAPP_TEST_POSTGRES_URL``), a Redis server of its own, the sandbox
as Sales (20+ accounts install the App), two gunicorn masters started as the
Procfile starts them behind HAProxy (health checks on ``/readyz``), and two
``zapp worker`` processes. Then, for a bounded time, all at once: Sales makes
leads and interactions in every account and delivers their webhooks, agents
open dialogs, send templates and hand contacts off (every action
double-clicked), managers open reports and download their CSV, and accounts
install, refresh their keys, disable, enable and uninstall; every request goes
through HAProxy. Meanwhile the faults: workers and a web host killed with
``kill -9``, PostgreSQL restarted, Redis stopped, a Sales 429 storm and a
spell of Sales 5xx. At the end, checked from outside: every event Sales
delivered is stored once and processed, every new contact got exactly one
automatic reply, imports match Sales' data, no key went over Sales' rate limit,
errors per fault stay within their bound, and the queues drain.

Prints a table and one line per promise
(``<figure>: <value> (target <target>) PASS|SHORT``); exits 1 when a promise
breaks. The capacity figures come from the CPU time the processes spent.

    python benchmarks/cluster.py --size tiny    # about a minute: what CI runs
    python benchmarks/cluster.py --size small   # a few minutes, the real sweep
    python benchmarks/cluster.py --size full    # longer load, more accounts

Sizes other than tiny wait for the periodic sweep as it runs in production
(it finds events left unqueued for a minute); tiny runs the sweep itself, with
its clock ahead, so CI need not wait minutes for it.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
import requests
from cryptography.fernet import Fernet
from harness import ROOT, free_port, print_table, print_targets

from zapp.sales.breaker import COOL_DOWN_SECONDS

PYTHON = sys.executable
APP_ID, SECRET, SIGNING_KEY = "cluster-app", secrets.token_urlsafe(24), secrets.token_urlsafe(24)
REPLY_TEMPLATE, AGENT_TEMPLATE = "welcome_lead", "follow_up"
REPLY_ON = {"automaticReplyEnabled": True, "automaticReplyTemplate": REPLY_TEMPLATE}
WEB_CONCURRENCY, WORKER_THREADS = 2, 2
REPORTS = ("speed-to-lead", "lead-sources", "agent-activity")
OURS = ("jobs queued", "events unprocessed", "replies waiting")  # what must drain (Sales' retries are Sales')
HUEY_KEYS = ("huey.redis.zapp", "huey.schedule.zapp")
DRAIN_LOOK_SECONDS = 5.0  # a look at the backlog (and, tiny, a sweep) may begin just before the bound
CANARY_SECONDS = 120.0  # a fault not recovered by then counts as never recovered
STRANDED_AFTER = 30.0  # seconds a reply may stay claimed-but-unsent before it counts as stranded


@dataclass(frozen=True)
class Size:
    accounts: int  # installed before the load, checked in full at the end
    spare: int  # installed too, for refresh / disable / enable / delete during the load
    prospects: int  # per account
    seconds: float  # of load, at least; it lasts until every fault has recovered
    agents: int
    managers: int
    activity_every: float  # seconds between rounds of Sales activity (every live account)
    leads: int  # per account per round
    interactions: int
    churn_every: float
    outage: float  # seconds Redis is stopped
    spell: float  # seconds of a 429 storm, and of the 5xx spell
    gap: float  # seconds between the two worker kills, and before a killed web host returns
    calibrate: float  # seconds of each one-kind phase measuring CPU cost
    drain: float  # seconds the queues have to drain once the load stops
    sweep_ahead: bool  # run the sweep from here, clock ahead (tiny) instead of waiting for it


SIZES = {
    "tiny": Size(20, 3, 25, 20, 2, 1, 2.0, 1, 1, 4.0, 4, 2, 1, 3, 120, True),
    "small": Size(20, 4, 120, 120, 3, 1, 1.0, 1, 2, 6.0, 20, 5, 5, 15, 480, False),
    "full": Size(30, 6, 300, 300, 4, 2, 0.5, 1, 2, 5.0, 20, 8, 5, 30, 480, False),
}


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--rate-limit", type=int, default=300, help="Sales' calls per key per minute")
    parser.add_argument("--keep", action="store_true", help="keep the folder with every process's log")
    return parser.parse_args(argv)


# -- processes -------------------------------------------------------------------------------------


class Processes:
    """Every process the cluster started, by name, each in a session of its own (killable as a group)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("a")
        process = subprocess.Popen(
            command, env={**os.environ, **(env or {})}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self.running[name] = process
        return process

    def kill(self, name: str) -> None:
        """``kill -9`` the process and everything it started (a gunicorn master and its workers)."""
        process = self.running.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self, name: str) -> None:
        process = self.running.pop(name)
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def cpu_seconds(self, names: list[str]) -> float:
        """User + system CPU of these processes and their children (Linux ``/proc``)."""
        roots = {self.running[name].pid for name in names if name in self.running}
        return sum(_cpu(pid) for pid in _descendants(roots))


def _descendants(roots: set[int]) -> set[int]:
    parents: dict[int, int] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.split("/")[2])] = int(fields[1])
    found, frontier = set(roots), set(roots)
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def progress(message: str) -> None:
    """A line on stderr as the run goes: the table on stdout stays the result."""
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def wait_for(condition: Callable[[], object], seconds: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (requests.RequestException, psycopg.Error, redis.RedisError):
            value = None
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what}")


def _answers(url: str) -> bool:
    return requests.get(url, timeout=2).status_code == 200


def _refuses(port: int) -> bool:
    """Whether nothing listens on the port any more (every process holding its socket is gone)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


# -- PostgreSQL and Redis ----------------------------------------------------------------------------


class OwnPostgres:
    """A throwaway PostgreSQL server in the run's folder: it can really be restarted."""

    restart_name = "PostgreSQL restart"

    def __init__(self, processes: Processes, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.port = free_port()
        self.data = processes.folder / "pgdata"
        self.log = processes.folder / "postgres.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
            self._as_user = ["runuser", "-u", "postgres", "--"]
            os.chmod(processes.folder, 0o755)  # noqa: S103 - the server's user must reach its data folder
        self.data.mkdir()
        self.log.touch()
        if self._as_user:
            shutil.chown(self.data, "postgres")
            shutil.chown(self.log, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        options = (f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c max_connections=300")  # fmt: skip
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute("CREATE DATABASE zapp")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/zapp"

    def _run(self, tool: str, *args: str) -> None:
        """Output to the log file: a server started from here keeps its stdout, so it must not be a pipe."""
        with self.log.open("a") as log:
            subprocess.run([*self._as_user, str(self.bin / tool), *args], check=True, stdout=log,
                           stderr=subprocess.STDOUT, timeout=120)  # fmt: skip

    def fault(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


class SharedPostgres:
    """A database of its own on the machine's server: the fault ends its connections, not the server."""

    restart_name = "PostgreSQL connections ended"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"zapp_cluster_{secrets.token_hex(4)}"
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')
        self.url = admin_url.rsplit("/", 1)[0] + "/" + self.name

    def fault(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (self.name,)
            )

    def stop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def start_postgres(processes: Processes) -> OwnPostgres | SharedPostgres:
    found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))), None)
    runuser_ok = os.geteuid() != 0 or (shutil.which("runuser") and _user_exists("postgres"))
    if found and runuser_ok:
        return OwnPostgres(processes, Path(os.path.realpath(found)).parent)
    return SharedPostgres(
        os.environ.get("ZAPP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )


def _user_exists(name: str) -> bool:
    try:
        import pwd

        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class RedisServer:
    """A Redis server of its own on a free port, without persistence: a stop loses what it held."""

    def __init__(self, processes: Processes) -> None:
        binary = debian_binary("redis-server", "redis-server")
        self.processes = processes
        self.port = free_port()
        self.command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--dir", str(processes.folder)]  # fmt: skip
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        self.processes.start("redis", self.command)
        wait_for(lambda: redis.Redis.from_url(self.url).ping(), 10, "redis")

    def stop(self) -> None:
        self.processes.stop("redis")


# -- HAProxy -------------------------------------------------------------------------------------------


def debian_binary(name: str, package: str) -> str:
    """A Debian package's program, installed when missing and running as root (as ``./dev`` installs
    Chromium)."""
    places = (f"/usr/sbin/{name}", f"/usr/bin/{name}")
    binary = shutil.which(name) or next((place for place in places if os.path.exists(place)), None)
    if binary:
        return binary
    if os.geteuid() == 0 and shutil.which("apt-get"):
        quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
        subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)  # type: ignore[call-overload]
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, **quiet)  # type: ignore[call-overload]
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(f"{name} is not installed (Debian: apt-get install {package})")


def haproxy_config(port: int, web_ports: list[int]) -> str:
    """Round robin over the hosts; at most one request per sync worker each (HAProxy queues the rest,
    and re-dispatches them when a host dies). A refused connection marks a host down at once; the
    ``/readyz`` check waits up to 10 s, since it queues behind the requests the sync workers serve
    (a short check timeout takes a busy but healthy host out, and then the last one)."""
    servers = "\n".join(
        f"    server web{n} 127.0.0.1:{web_port} check maxconn {WEB_CONCURRENCY}"
        for n, web_port in enumerate(web_ports, 1)
    )
    return f"""global
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout queue 30s
    timeout check 10s
    retries 3
    option redispatch
    option http-server-close
    http-reuse never

frontend zapp
    bind 127.0.0.1:{port}
    default_backend web

backend web
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 1s fall 3 rise 2 observe layer4 error-limit 1 on-error mark-down
{servers}
"""


# -- the cluster ---------------------------------------------------------------------------------------


class Cluster:
    """Every process of the deployment, started and restarted as an operator would."""

    def __init__(self, folder: Path, size: Size, rate_limit: int) -> None:
        self.folder = folder
        self.size = size
        self.processes = Processes(folder)
        self.lb_port = free_port()
        self.public_url = f"http://127.0.0.1:{self.lb_port}"
        self.web_ports = [free_port(), free_port()]
        self.sandbox_port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.rate_limit = rate_limit
        self.postgres: OwnPostgres | SharedPostgres | None = None
        self.redis: RedisServer | None = None

    def start(self) -> None:
        self.postgres = start_postgres(self.processes)
        self.redis = RedisServer(self.processes)
        self.env = {
            "ZAPP_MODE": "production", "ZAPP_APP_ID": APP_ID, "ZAPP_APP_SECRET": SECRET,
            "ZAPP_SIGNING_KEY": SIGNING_KEY, "ZAPP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ZAPP_DATABASE_URL": self.postgres.url.replace("postgresql://", "postgresql+psycopg://", 1),
            "ZAPP_REDIS_URL": self.redis.url, "ZAPP_SALES_API_URL": f"{self.sandbox_url}/api/v1",
            "ZAPP_PUBLIC_URL": self.public_url, "ZAPP_LOG_LEVEL": "WARNING",
        }  # fmt: skip
        subprocess.run([PYTHON, "-m", "zapp.cli", "db", "upgrade"], env={**os.environ, **self.env}, cwd=ROOT,
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        for number in (1, 2):
            self.start_web(number)
        (self.folder / "haproxy.cfg").write_text(haproxy_config(self.lb_port, self.web_ports))
        self.processes.start(
            "haproxy", [debian_binary("haproxy", "haproxy"), "-db", "-f", str(self.folder / "haproxy.cfg")]
        )
        wait_for(lambda: _answers(self.public_url + "/readyz"), 30, "HAProxy")
        for number in (1, 2):
            self.start_worker(number)
        self.processes.start("sandbox", [
            PYTHON, "-m", "zapp.cli", "sandbox", "--port", str(self.sandbox_port),
            "--app-url", self.public_url,
            "--prospects", str(self.size.prospects), "--days", "60", "--rate-limit", str(self.rate_limit),
        ], env=self.env)  # fmt: skip
        wait_for(lambda: _answers(self.sandbox_url + "/_sandbox/stats"), 60, "the sandbox")

    def start_web(self, number: int) -> None:
        """A web host exactly as the Procfile starts one, on its own port."""
        env = {**self.env, "HOST": "127.0.0.1", "PORT": str(self.web_ports[number - 1]),
               "WEB_CONCURRENCY": str(WEB_CONCURRENCY)}  # fmt: skip
        self.processes.start(f"web{number}", [
            PYTHON, "-m", "gunicorn", "--config", "python:zapp.gunicorn_config", "zapp:create_app()",
        ], env)  # fmt: skip
        wait_for(
            lambda: _answers(f"http://127.0.0.1:{self.web_ports[number - 1]}/healthz"), 30, f"web{number}"
        )

    def start_worker(self, number: int) -> None:
        command = [PYTHON, "-m", "zapp.cli", "worker", "--threads", str(WORKER_THREADS)]
        self.processes.start(f"worker{number}", command, self.env)

    def stop(self) -> None:
        self.processes.stop_all()
        if self.postgres is not None:
            self.postgres.stop()

    def control(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.sandbox_url}/_sandbox{path}", timeout=60, **kwargs)

    def db(self) -> psycopg.Connection:
        assert self.postgres is not None
        return psycopg.connect(self.postgres.url, autocommit=True, connect_timeout=5)

    def query(self, sql: str, *params) -> list[tuple]:
        with self.db() as connection:
            return connection.execute(sql, params).fetchall()

    def sign(self, target: str) -> str:
        signature = hmac.new(SIGNING_KEY.encode(), (self.public_url + target).encode(), hashlib.sha256)
        return f"{self.public_url}{target}&signature={signature.hexdigest()}"


# -- accounts ------------------------------------------------------------------------------------------


@dataclass
class Account:
    key: str
    account_id: str
    group: str
    prospects: list[str] = field(default_factory=list)
    state: str = "enabled"  # enabled, disabled, deleted
    core: bool = True


def install_account(cluster: Cluster, core: bool) -> Account | None:
    """A new Sales account installs the App; the automatic reply is turned on at once."""
    made = cluster.control("POST", "/install", json={})
    if made.status_code != 201:
        return None
    body = made.json()
    account = Account(body["apiKey"], body["accountId"], body["groupId"], core=core)
    settings = cluster.control("PUT", f"/installs/{account.key}/settings", json=REPLY_ON)
    return account if settings.status_code == 200 else None


def prepare_accounts(cluster: Cluster) -> list[Account]:
    size = cluster.size
    with ThreadPoolExecutor(4) as pool:
        made = list(
            pool.map(lambda n: install_account(cluster, n < size.accounts), range(size.accounts + size.spare))
        )
    if not all(made):
        raise RuntimeError("an account failed to install:\n" + cluster.processes.log("sandbox"))
    accounts = [account for account in made if account]
    inventory = {item["accountId"]: item for item in cluster.control("GET", "/inventory").json()}
    for account in accounts:
        account.prospects = inventory[account.account_id]["prospects"]
    wait_for(lambda: _all_imported(cluster, len(accounts)), 300, "provisioning and history imports", 0.5)
    return accounts


def _all_imported(cluster: Cluster, count: int) -> bool:
    [(done,)] = cluster.query(
        "SELECT count(*) FROM sync_states s JOIN instances i ON i.id = s.instance_id "
        "WHERE i.state = 'enabled' AND s.status = 'done'"
    )
    return done == 2 * count


# -- the load -----------------------------------------------------------------------------------------


@dataclass
class Result:
    at: float  # when the request was sent
    kind: str
    ok: bool
    detail: str = ""
    end: float = 0.0  # when its answer (or failure) came


class Recorder:
    def __init__(self) -> None:
        self.results: list[Result] = []
        self.lock = threading.Lock()
        self.keys_sent: dict[str, set[str]] = defaultdict(set)  # prospect -> Idempotency-Keys sent
        self.keys_done: dict[str, set[str]] = defaultdict(set)  # prospect -> keys answered "sent"
        self.double_acted = 0
        self.activity: Counter = Counter()  # what Sales made: accounts, created, updated, interactions

    def add(self, kind: str, ok: bool, detail: str = "", at: float | None = None) -> None:
        now = time.time()
        with self.lock:
            self.results.append(Result(at or now, kind, ok, detail, now))

    def call(
        self, kind: str, send: Callable[[], requests.Response], expect=(200,)
    ) -> requests.Response | None:
        started = time.time()
        try:
            response = send()
        except requests.RequestException as error:
            self.add(kind, False, type(error).__name__, started)
            return None
        ok = response.status_code in expect
        self.add(kind, ok, "" if ok else _detail(response), started)
        return response if ok else None


def _detail(response: requests.Response) -> str:
    """The status and the start of the answer's text, tags and line breaks removed."""
    text = " ".join(re.sub(r"<[^>]+>", " ", response.text).split())
    return f"{response.status_code} {text[:100]}"


_PAGE_DATA = re.compile(r'<script type="application/json" id="zapp-page"[^>]*>(.*?)</script>', re.S)


def page_data(response: requests.Response) -> dict | None:
    match = _PAGE_DATA.search(response.text)
    return json.loads(match.group(1)) if match else None


class Load:
    """The load threads; each loops until ``stop`` is set."""

    def __init__(self, cluster: Cluster, accounts: list[Account], recorder: Recorder) -> None:
        self.cluster = cluster
        self.accounts = accounts
        self.recorder = recorder
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def start(
        self, agents: int, managers: int, churn: bool = True, activity: bool = True, openers: int = 0
    ) -> None:
        size = self.cluster.size
        loops: list[Callable[[], None]] = [self._opener] * openers
        if activity:
            loops.append(lambda: self._every(size.activity_every, self._activity))
        loops += [self._agent] * agents + [self._manager] * managers
        if churn:
            loops.append(lambda: self._every(size.churn_every, self._churn))
        self.stop.clear()
        self.threads = [threading.Thread(target=loop, daemon=True) for loop in loops]
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def _every(self, seconds: float, action: Callable[[], None]) -> None:
        while not self.stop.wait(seconds):
            action()

    def live(self, core_only: bool = False) -> list[Account]:
        with self.lock:
            return [a for a in self.accounts if a.state == "enabled" and (a.core or not core_only)]

    # Sales' side: leads and interactions in every live account; Sales delivers their webhooks.
    def _activity(self) -> None:
        """One round, unless Sales still holds more deliveries than a round makes: Sales delivers in
        order from one queue, so generating faster than the App acknowledges only grows that queue."""
        size = self.cluster.size
        body = {"leads": size.leads, "interactions": size.interactions}
        try:
            pending = self.cluster.control("GET", "/deliveries/pending").json()["pending"]
        except requests.RequestException:
            pending = 0
        if pending > (size.leads + size.interactions) * len(self.accounts):
            return
        made = self.recorder.call(
            "sales activity", lambda: self.cluster.control("POST", "/activity", json=body)
        )
        if made is not None:
            with self.recorder.lock:
                self.recorder.activity.update(made.json())

    # Agents: open a dialog, read its data, send a template; hand the contact off (both double clicks).
    def _agent(self) -> None:
        with requests.Session() as session:
            while not self.stop.is_set():
                account = random.choice(self.live(core_only=True))
                prospect = random.choice(account.prospects)
                self._messages(session, account, prospect)
                self._handoff(session, account, prospect)

    def _opener(self) -> None:
        """Only opens dialogs (the CPU cost of a page open, measured alone)."""
        with requests.Session() as session:
            while not self.stop.is_set():
                account = random.choice(self.live(core_only=True))
                self._open(
                    session,
                    "dialog",
                    "/dialogs/timeline",
                    account,
                    f"prospect={random.choice(account.prospects)}&",
                )

    def _open(self, session, kind: str, path: str, account: Account, extra: str = "") -> dict | None:
        target = f"{path}?{extra}user={secrets.token_hex(12)}&group={account.group}&lang=pt"
        response = self.recorder.call(
            f"{kind} open", lambda: session.get(self.cluster.sign(target), timeout=30)
        )
        return page_data(response) if response is not None else None

    def _messages(self, session, account: Account, prospect: str) -> None:
        page = self._open(session, "dialog", "/dialogs/messages", account, f"prospect={prospect}&")
        if page is None:
            return
        headers = {"X-Zapp-Context": page["context"]}
        data_url = self.cluster.public_url + page["urls"]["data"]
        if (
            self.recorder.call("dialog data", lambda: session.get(data_url, headers=headers, timeout=30))
            is None
        ):
            return
        body = {"prospect": prospect, "channel": "whatsapp", "key": AGENT_TEMPLATE,
                "parameters": {"prospect.firstName": "Ana"}}  # fmt: skip
        key = self._double_click("message send", page["urls"]["template"], headers, body)
        with self.recorder.lock:
            self.recorder.keys_sent[prospect].add(key[0])
            if key[1]:
                self.recorder.keys_done[prospect].add(key[0])

    def _handoff(self, session, account: Account, prospect: str) -> None:
        page = self._open(session, "dialog", "/dialogs/handoff", account, f"prospect={prospect}&")
        if page is None:
            return
        headers = {"X-Zapp-Context": page["context"]}
        data_url = self.cluster.public_url + page["urls"]["data"]
        data = self.recorder.call("dialog data", lambda: session.get(data_url, headers=headers, timeout=30))
        if data is None:
            return
        labels = data.json().get("labels") or []
        if labels:
            body = {"prospect": prospect, "label": random.choice(labels)["value"]}
            self._double_click("handoff", page["urls"]["label"], headers, body)

    def _double_click(self, kind: str, path: str, headers: dict, body: dict) -> tuple[str, bool]:
        """The same action twice at once with one Idempotency-Key: Sales must act once."""
        key = uuid.uuid4().hex
        url = self.cluster.public_url + path
        both = {**headers, "Idempotency-Key": key}
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: _post(url, both, body), range(2)))
        fresh = [a for a in answers if a is not None and a.status_code == 200
                 and a.headers.get("Idempotent-Replayed") != "true"]  # fmt: skip
        for answer in answers:
            ok = answer is not None and answer.status_code in (200, 409)
            detail = "" if ok else (_detail(answer) if answer is not None else "no answer")
            self.recorder.add(kind, ok, detail)
        if len(fresh) > 1:
            with self.recorder.lock:
                self.recorder.double_acted += 1
        return key, any(a is not None and a.status_code == 200 for a in answers)

    # Managers: a report page, then its CSV through the page's token.
    def _manager(self) -> None:
        with requests.Session() as session:
            while not self.stop.is_set():
                account = random.choice(self.live(core_only=True))
                report = random.choice(REPORTS)
                page = self._open(session, "report", f"/reports/{report}", account, "range=last30&")
                if page is None:
                    continue
                headers = {"X-Zapp-Context": page["context"]}
                csv_url = self.cluster.public_url + page["urls"]["csv"]
                self.recorder.call(
                    "report csv", lambda url=csv_url, h=headers: session.get(url, headers=h, timeout=60)
                )

    # Accounts: new installs; spare accounts refresh their keys, disable, enable, uninstall.
    def _churn(self) -> None:
        with self.lock:
            spare = [a for a in self.accounts if not a.core and a.state != "deleted"]
        step = random.choice(("install", "refresh", "toggle", "toggle", "delete"))
        if step == "install" or not spare:
            started = time.time()
            account = install_account(self.cluster, core=False)
            self.recorder.add("install", account is not None, "" if account else "refused", started)
            if account is not None:
                with self.lock:
                    self.accounts.append(account)
            return
        account = random.choice(spare)
        if step == "refresh":
            answer = self.recorder.call("refresh key", lambda: self.cluster.control(
                "POST", f"/installs/{account.key}/refresh-key"))  # fmt: skip
            if answer is not None:
                account.key = answer.json()["apiKey"]
        elif step == "toggle":
            enable = account.state == "disabled"
            answer = self.recorder.call("enable" if enable else "disable", lambda: self.cluster.control(
                "PUT", f"/installs/{account.key}/enabled", json={"enabled": enable}))  # fmt: skip
            if answer is not None:
                account.state = "enabled" if enable else "disabled"
        elif len(spare) > 1 and self.recorder.call(
            "delete", lambda: self.cluster.control("DELETE", f"/installs/{account.key}")
        ):
            account.state = "deleted"

    def enable_all(self) -> None:
        """Leave no account disabled: its events are kept pending, by design, until it is enabled."""
        for account in self.accounts:
            if account.state == "disabled":
                answer = self.recorder.call("enable", lambda a=account: self.cluster.control(
                    "PUT", f"/installs/{a.key}/enabled", json={"enabled": True}))  # fmt: skip
                if answer is not None:
                    account.state = "enabled"


def _post(url: str, headers: dict, body: dict) -> requests.Response | None:
    try:
        return requests.post(url, headers=headers, json=body, timeout=30)
    except requests.RequestException:
        return None


# -- the faults --------------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    started: float = 0.0
    repaired: float = 0.0
    recovered: float | None = None
    bound: int = 0
    what: str = ""
    until: float = 0.0  # errors up to then are this fault's too (an effect outlasting the canary)
    back: float = 0.0  # when what failed answered again (errors of requests started later are the bound's)


class Faults:
    """Injects the faults one after another while the load runs, each followed by a canary."""

    def __init__(self, cluster: Cluster, canary: Account) -> None:
        self.cluster = cluster
        self.canary = canary
        self.done: list[Fault] = []
        self.sales_before: dict = {}

    def run(self, pause: Callable[[float], None]) -> None:
        size = self.cluster.size
        steps = [self._workers, self._web, self._postgres, self._redis, self._storm, self._spell]
        for step in steps:
            pause(size.gap)
            fault = step()
            progress(f"{fault.name}: repaired; the canary goes")
            fault.recovered = self._canary(fault.repaired)
            progress(f"{fault.name}: recovered in {fault.recovered} s")
            self.done.append(fault)

    def _begin(self, name: str) -> Fault:
        return Fault(name, started=time.time())

    def _workers(self) -> Fault:
        fault = self._begin("worker kills")
        self.cluster.processes.kill("worker1")
        time.sleep(self.cluster.size.gap)
        self.cluster.processes.kill("worker2")
        time.sleep(self.cluster.size.gap)
        self.cluster.start_worker(1)
        self.cluster.start_worker(2)
        fault.repaired = fault.back = time.time()
        fault.what = "kill -9 worker 1, then worker 2; both restarted (no client talks to a worker)"
        return fault

    def _web(self) -> Fault:
        """A SIGKILLed process dies only when the kernel next runs it: on a busy machine the host's
        port accepts connections (and HAProxy hands it requests, which then fail with 502, since HAProxy
        retries only refused connections) until its last process is gone. Those failures are the
        kill's own; the bound is about requests started once the port refused, which HAProxy retries."""
        fault = self._begin("web host kill")
        self.cluster.processes.kill("web1")
        wait_for(lambda: _refuses(self.cluster.web_ports[0]), 30, "the killed web host to be gone", 0.01)
        fault.back = time.time()
        time.sleep(self.cluster.size.gap)
        self.cluster.start_web(1)
        fault.repaired = time.time()
        fault.bound = WEB_CONCURRENCY
        fault.what = (
            f"kill -9 of a gunicorn master and its workers, restarted; its port refused "
            f"{fault.back - fault.started:.2f} s after the signal (until then it was serving or being sent "
            "requests); counted: requests started later; bound: one per its workers"
        )
        return fault

    def _postgres(self) -> Fault:
        assert self.cluster.postgres is not None
        fault = self._begin("database restart")
        self.cluster.postgres.fault()
        fault.repaired = fault.back = time.time()
        fault.bound = 2 * WEB_CONCURRENCY
        fault.what = f"{self.cluster.postgres.restart_name}; bound: one per web process once it is back"
        return fault

    def _redis(self) -> Fault:
        assert self.cluster.redis is not None
        fault = self._begin("Redis stop")
        self.cluster.redis.stop()
        time.sleep(self.cluster.size.outage)
        self.cluster.redis.start()
        fault.repaired = fault.back = time.time()
        fault.bound = 2 * WEB_CONCURRENCY
        fault.what = (f"Redis stopped {self.cluster.size.outage:g} s (no persistence: its queue is lost), "
                      "started; bound: one per web process once it is back")  # fmt: skip
        return fault

    def _storm(self) -> Fault:
        fault = self._begin("Sales 429 storm")
        self.cluster.control("POST", "/faults", json={"stormSeconds": self.cluster.size.spell})
        time.sleep(self.cluster.size.spell)
        fault.repaired = fault.back = time.time()
        fault.what = f"every Sales call answered 429 for {self.cluster.size.spell:g} s"
        return fault

    def _spell(self) -> Fault:
        fault = self._begin("Sales 5xx spell")
        before = self.cluster.control("GET", "/limits").json()["errorsInjected"]
        self.cluster.control("POST", "/faults", json={"errorRate": 0.3})
        time.sleep(self.cluster.size.spell)
        self.cluster.control("POST", "/faults", json={"errorRate": 0})
        fault.repaired = time.time()
        # Each process's circuit breaker may have opened on the spell: it refuses Sales calls for its
        # cool-down after Sales is well again. Those refusals are this fault's; none may come later.
        fault.back = fault.until = fault.repaired + COOL_DOWN_SECONDS + 1
        injected = self.cluster.control("GET", "/limits").json()["errorsInjected"] - before
        spell, cool = self.cluster.size.spell, COOL_DOWN_SECONDS
        fault.what = (f"30% of Sales calls answered 503 for {spell:g} s ({injected} 503s); "
                      f"the breakers' {cool:g} s cool-down counts in; bound: none after")  # fmt: skip
        return fault

    def _canary(self, since: float) -> float | None:
        """A new lead in the canary account, followed until the store has it: the whole path works."""
        lead = {
            "firstName": "Canary",
            "utmSource": "canary",
            "emails": [f"canary-{uuid.uuid4().hex}@load.example"],
        }
        try:
            made = self.cluster.control("POST", "/leads", json={"apiKey": self.canary.key, "lead": lead})
            prospect = made.json()["prospect"]["id"]
            wait_for(lambda: self.cluster.query(
                "SELECT 1 FROM store_prospects WHERE prospect_id = %s", prospect),
                CANARY_SECONDS, "the canary", 0.2)  # fmt: skip
        except (RuntimeError, requests.RequestException, KeyError):
            return None
        return time.time() - since


# -- draining and checking -------------------------------------------------------------------------


def backlog(cluster: Cluster) -> dict[str, int]:
    """What is still to do: queued jobs, unprocessed events, replies waiting, deliveries Sales holds."""
    assert cluster.redis is not None
    client = redis.Redis.from_url(cluster.redis.url)
    queued = client.llen(HUEY_KEYS[0]) + client.zcard(HUEY_KEYS[1])
    [(events, replies, stranded)] = cluster.query(
        "SELECT (SELECT count(*) FROM webhook_events e JOIN instances i ON i.id = e.instance_id "
        "        WHERE e.processed_at IS NULL AND i.state = 'enabled'),"
        " (SELECT count(*) FROM auto_replies WHERE state = 'retry'"
        "        OR (state = 'pending' AND created_at > now() - make_interval(secs => %s))),"
        " (SELECT count(*) FROM auto_replies WHERE state = 'pending'"
        "        AND created_at <= now() - make_interval(secs => %s))",
        STRANDED_AFTER, STRANDED_AFTER,
    )  # fmt: skip
    deliveries = cluster.control("GET", "/deliveries/pending").json()["pending"]
    return {"jobs queued": queued, "events unprocessed": events, "replies waiting": replies,
            "deliveries pending": deliveries, "replies stranded": stranded}  # fmt: skip


def drain(cluster: Cluster) -> tuple[float, dict[str, int]]:
    """Wait until nothing is left to do (or the size's bound passes); the seconds it took."""
    started = time.time()
    left: dict[str, int] = {}
    while time.time() - started < cluster.size.drain:
        if cluster.size.sweep_ahead:
            sweep_ahead(cluster)
        try:
            left = backlog(cluster)
        except (psycopg.Error, redis.RedisError, requests.RequestException):
            time.sleep(1)
            continue
        if not any(count for name, count in left.items() if name in OURS):
            return time.time() - started, left
        time.sleep(2)
    return time.time() - started, left


_SWEEP = """
import sys
from datetime import timedelta
from zapp import create_app
from zapp.jobs import SWEEP_AFTER
from zapp.models import utcnow
from zapp.webhooks.processing import REQUEUE_AFTER

zapp = create_app().extensions["zapp"]
ahead = utcnow() + REQUEUE_AFTER + SWEEP_AFTER + timedelta(hours=1)
for event_id in zapp.events.stale(ahead, SWEEP_AFTER):
    zapp.jobs.enqueue_safely(zapp.jobs.process_event, event_id)
for instance_id, prospect_id in zapp.events.replies_due(ahead):
    zapp.jobs.enqueue_safely(zapp.jobs.retry_reply, instance_id, prospect_id)
"""


def sweep_ahead(cluster: Cluster) -> None:
    """The periodic sweep, run now with its clock an hour ahead: what a minute or more of waiting
    would find (lost enqueues, replies past their backoff), found at once."""
    subprocess.run([PYTHON, "-c", _SWEEP], env={**os.environ, **cluster.env}, cwd=ROOT, capture_output=True,
                   timeout=60, check=False)  # fmt: skip


@dataclass
class Checks:
    delivered: int = 0
    stored_once: int = 0
    stored_twice: int = 0
    processed: int = 0
    expected_replies: int = 0
    replied_once: int = 0
    replied_twice: int = 0
    reply_unknown: int = 0
    reply_stranded: int = 0
    reply_missing: int = 0
    import_accounts: int = 0
    import_matching: int = 0
    agent_over: int = 0
    agent_sends: int = 0
    limits: dict = field(default_factory=dict)


def check(cluster: Cluster, accounts: list[Account], recorder: Recorder, since: float) -> Checks:
    checks = Checks()
    _check_events(cluster, checks)
    _check_replies(cluster, checks, since)
    _check_imports(cluster, accounts, checks)
    sent = cluster.control("GET", "/replies", params={"template": AGENT_TEMPLATE}).json()
    checks.agent_sends = sum(sent.values())
    checks.agent_over = sum(
        1 for prospect, count in sent.items() if count > len(recorder.keys_sent.get(prospect, ()))
    ) + sum(1 for prospect, keys in recorder.keys_done.items() if sent.get(prospect, 0) < len(keys))
    checks.limits = cluster.control("GET", "/limits").json()
    return checks


def _check_events(cluster: Cluster, checks: Checks) -> None:
    deliveries = cluster.control("GET", "/deliveries").json()
    delivered = {(d["operationId"], d["topic"], d["type"]) for d in deliveries if d["ok"]}
    rows = cluster.query(
        "SELECT e.payload->>'operationId', e.topic, e.kind, e.processed_at IS NOT NULL, i.state "
        "FROM webhook_events e JOIN instances i ON i.id = e.instance_id"
    )
    stored = Counter((operation, topic, kind) for operation, topic, kind, _p, _s in rows)
    processed = {(o, t, k) for o, t, k, done, state in rows if done or state != "enabled"}
    checks.delivered = len(delivered)
    checks.stored_once = sum(1 for event in delivered if stored[event] == 1)
    checks.stored_twice = sum(1 for event in delivered if stored[event] > 1)
    checks.processed = sum(1 for event in delivered if event in processed)


def _check_replies(cluster: Cluster, checks: Checks, since: float) -> None:
    """Every new prospect of an instance installed before the load (its automatic reply turned on
    from the start) and enabled at the end."""
    rows = cluster.query(
        "SELECT DISTINCT e.payload->'prospect'->0->>'id', r.state, "
        "       r.created_at < now() - make_interval(secs => %s) "
        "FROM webhook_events e JOIN instances i ON i.id = e.instance_id "
        "LEFT JOIN auto_replies r ON r.instance_id = e.instance_id "
        "     AND r.prospect_id = e.payload->'prospect'->0->>'id' "
        "WHERE e.topic = 'prospects' AND e.kind = 'created' AND i.state = 'enabled' "
        "  AND i.created_at < to_timestamp(%s)",
        STRANDED_AFTER, since,
    )  # fmt: skip
    replies = cluster.control("GET", "/replies", params={"template": REPLY_TEMPLATE}).json()
    checks.replied_twice = sum(1 for count in replies.values() if count > 1)
    checks.expected_replies = len(rows)
    for prospect, state, old in rows:
        count = replies.get(prospect, 0)
        if count == 1:
            checks.replied_once += 1
        elif count == 0 and state == "unknown":
            checks.reply_unknown += 1  # Sales may have sent it: never sent twice, by design
        elif count == 0 and state == "pending" and old:
            checks.reply_stranded += 1  # its worker was killed between the claim and the send
        elif count == 0:
            checks.reply_missing += 1


def _check_imports(cluster: Cluster, accounts: list[Account], checks: Checks) -> None:
    inventory = {item["accountId"]: item for item in cluster.control("GET", "/inventory").json()}
    for account in accounts:
        if not account.core or account.state != "enabled":
            continue
        checks.import_accounts += 1
        stored_prospects = {p for (p,) in cluster.query(
            "SELECT p.prospect_id FROM store_prospects p JOIN instances i ON i.id = p.instance_id "
            "WHERE i.sales_account_id = %s AND i.state = 'enabled'", account.account_id)}  # fmt: skip
        stored_interactions = {x for (x,) in cluster.query(
            "SELECT s.interaction_id FROM store_interactions s JOIN instances i ON i.id = s.instance_id "
            "WHERE i.sales_account_id = %s AND i.state = 'enabled'", account.account_id)}  # fmt: skip
        sales = inventory.get(account.account_id, {})
        if stored_prospects == set(sales.get("prospects", ())) and stored_interactions == set(
            sales.get("interactions", ())
        ):
            checks.import_matching += 1


# -- capacity --------------------------------------------------------------------------------------


@dataclass
class Cost:
    """CPU seconds per unit of one kind of work, from a phase doing only that work."""

    web: float = 0.0
    worker: float = 0.0
    count: int = 0
    wall: float = 0.0
    latency: float = 0.0  # mean seconds a request of this kind took, seen from the client


def measure(
    cluster: Cluster, load: Load, recorder: Recorder, kind: str, count_kinds: tuple[str, ...]
) -> Cost:
    """Run one kind of load alone for the size's calibration time; CPU per request of that kind."""
    web, workers = ["web1", "web2"], ["worker1", "worker2"]
    before = len(recorder.results)
    web_cpu, worker_cpu = cluster.processes.cpu_seconds(web), cluster.processes.cpu_seconds(workers)
    started = time.time()
    if kind == "webhooks":
        delivered_before = _deliveries(cluster)
        load.start(0, 0, churn=False, activity=True)
    else:
        load.start(0, 0, churn=False, activity=False, openers=4)
    time.sleep(cluster.size.calibrate)
    load.finish()
    if kind == "webhooks":
        wait_for(lambda: backlog(cluster)["events unprocessed"] == 0, 120, "calibration events")
        count = _deliveries(cluster) - delivered_before
    else:
        done = [r for r in recorder.results[before:] if r.kind in count_kinds and r.ok]
        count = len(done)
        latency = sum(r.end - r.at for r in done) / count if count else 0.0
    web_cpu = cluster.processes.cpu_seconds(web) - web_cpu
    worker_cpu = cluster.processes.cpu_seconds(workers) - worker_cpu
    cost = Cost(web_cpu, worker_cpu, count, time.time() - started, latency if kind == "pages" else 0.0)
    return cost


def _deliveries(cluster: Cluster) -> int:
    return sum(1 for d in cluster.control("GET", "/deliveries").json() if d["ok"])


# -- the run -------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop every process started, then exit
    folder = Path(tempfile.mkdtemp(prefix="zapp-cluster-"))
    cluster = Cluster(folder, SIZES[args.size], args.rate_limit)
    try:
        return run(cluster, args)
    finally:
        cluster.stop()
        if args.keep:
            print(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def run(cluster: Cluster, args: argparse.Namespace) -> int:
    size = cluster.size
    began = time.time()
    progress(f"starting the cluster in {cluster.folder}")
    cluster.start()
    progress("installing the accounts")
    accounts = prepare_accounts(cluster)
    setup = time.time() - began
    progress(f"load and faults begin ({setup:.0f} s of setup)")
    recorder = Recorder()
    load = Load(cluster, accounts, recorder)
    faults = Faults(cluster, accounts[0])
    cpu_before = (
        cluster.processes.cpu_seconds(["web1", "web2"]),
        cluster.processes.cpu_seconds(["worker1", "worker2"]),
    )
    load_started = time.time()
    load.start(size.agents, size.managers)
    faults.run(pause=time.sleep)
    remaining = size.seconds - (time.time() - load_started)
    if remaining > 0:
        time.sleep(remaining)
    load.finish()
    load_seconds = time.time() - load_started
    load.enable_all()
    progress("load stopped; draining")
    drained, left = drain(cluster)
    progress(f"drained in {drained:.0f} s; checking")
    checks = check(cluster, accounts, recorder, load_started)
    progress("measuring CPU cost per kind")
    costs = {
        "webhooks": measure(cluster, load, recorder, "webhooks", ()),
        "pages": measure(cluster, load, recorder, "pages", ("dialog open",)),
    }
    report(cluster, args, recorder, faults.done, checks, costs, {
        "setup": setup, "load": load_seconds, "drain": drained, "left": left, "started": load_started,
        "cpu_before": cpu_before,
    })  # fmt: skip
    return (
        0 if all(ok for *_rest, ok in promises(cluster, recorder, faults.done, checks, drained, left)) else 1
    )


def errors_by_fault(recorder: Recorder, faults: list[Fault], started: float) -> dict[str, list[Result]]:
    """Each failed request, filed under the fault whose window (start to recovery) holds it."""
    filed: dict[str, list[Result]] = defaultdict(list)
    for result in recorder.results:
        if result.ok or result.at < started:
            continue
        # The latest fault that began before the answer came, while its window was open.
        began = [f for f in faults if f.started <= result.end and result.at <= _window_end(f)]
        fault = max(began, key=lambda f: f.started, default=None)
        filed[fault.name if fault else "no fault"].append(result)
    return filed


def _window_end(fault: Fault) -> float:
    """Until the canary got through (the next fault begins later), or a minute if it never did; or
    until the fault's own ``until``."""
    return max(fault.repaired + (fault.recovered if fault.recovered is not None else 60.0), fault.until)


def _counted(fault: Fault, errors: list[Result]) -> int:
    """The errors a bound is about: of requests started once what failed answered again."""
    return sum(1 for e in errors if e.at >= fault.back)


def promises(cluster, recorder, faults, checks: Checks, drained, left) -> list[tuple[str, str, str, bool]]:
    filed = errors_by_fault(recorder, faults, 0)
    expected_faults = 6
    recovered = sum(1 for f in faults if f.recovered is not None)
    limits = checks.limits
    rows = [
        ("faults injected and recovered", f"{recovered}/{expected_faults}",
         f"{expected_faults}/{expected_faults}",
         len(faults) == expected_faults and all(f.recovered is not None for f in faults)),
        ("every delivered event stored once", f"{checks.stored_once}/{checks.delivered}",
         f"{checks.delivered}/{checks.delivered}",
         checks.stored_once == checks.delivered and checks.stored_twice == 0),
        ("every delivered event processed", f"{checks.processed}/{checks.delivered}",
         f"{checks.delivered}/{checks.delivered}", checks.processed == checks.delivered),
        ("new contacts replied to exactly once", f"{checks.replied_once}/{checks.expected_replies}",
         f"{checks.expected_replies}/{checks.expected_replies} less stranded or unknown",
         checks.reply_missing == 0 and checks.replied_twice == 0
         and checks.reply_stranded <= 2 * WORKER_THREADS),
        ("contacts replied to twice", str(checks.replied_twice), "0", checks.replied_twice == 0),
        ("agent sends Sales acted on once per click pair", f"{checks.agent_over} off", "0 off",
         checks.agent_over == 0 and recorder.double_acted == 0),
        ("imports matching Sales", f"{checks.import_matching}/{checks.import_accounts}",
         f"{checks.import_accounts}/{checks.import_accounts}",
         checks.import_matching == checks.import_accounts),
        ("429s caused by us", str(limits.get("overLimit")), "0", limits.get("overLimit") == 0),
        ("queues drained", f"{drained:.0f} s", f"<= {cluster.size.drain:g} s",
         drained <= cluster.size.drain + DRAIN_LOOK_SECONDS
         and not any(count for name, count in left.items() if name in OURS)),
        ("errors with no fault", str(len(filed.get("no fault", []))), "0", not filed.get("no fault")),
    ]  # fmt: skip
    for fault in faults:
        counted = _counted(fault, filed.get(fault.name, []))
        rows.append((f"errors after {fault.name}", str(counted), f"<= {fault.bound}", counted <= fault.bound))
    return rows


def report(cluster, args, recorder: Recorder, faults: list[Fault], checks: Checks, costs: dict[str, Cost],
           times: dict) -> None:  # fmt: skip
    size, limits = cluster.size, checks.limits
    by_kind = Counter(r.kind for r in recorder.results)
    failed = Counter(r.kind for r in recorder.results if not r.ok)
    print(f"cluster: size {args.size}, {size.accounts} + {size.spare} accounts, "
          f"{size.prospects} prospects each, "
          f"Sales limit {cluster.rate_limit}/min per key, {os.cpu_count()} cores, "
          f"database fault: {cluster.postgres.restart_name}")  # fmt: skip
    rows = [
        ("setup / load / drain", f"{times['setup']:.0f} / {times['load']:.0f} / {times['drain']:.0f} s"),
        *(
            (f"requests: {kind}", f"{count:,} ({failed[kind]} failed)")
            for kind, count in sorted(by_kind.items())
        ),
    ]
    filed = errors_by_fault(recorder, faults, times["started"])
    for fault in faults:
        errors = filed.get(fault.name, [])
        recovery = f"{fault.recovered:.1f} s" if fault.recovered is not None else "never"
        rows.append((f"fault: {fault.name}", f"{len(errors)} errors ({_counted(fault, errors)} once back), "
                                             f"recovered in {recovery} after repair"))  # fmt: skip
        rows.append(("", fault.what))
    rows += [
        ("events delivered / stored once / processed", f"{checks.delivered:,} / {checks.stored_once:,} / "
                                                      f"{checks.processed:,}"),
        ("automatic replies: once / twice / unknown / stranded / missing",
         f"{checks.replied_once} / {checks.replied_twice} / {checks.reply_unknown} / "
         f"{checks.reply_stranded} / {checks.reply_missing}"),
        ("Sales activity: leads created / interactions made",
         f"{recorder.activity['created']:,} / {recorder.activity['interactions']:,}"),
        ("agent templates sent (double clicks acting twice)",
         f"{checks.agent_sends} ({recorder.double_acted})"),
        ("429s: by us / in the storm", f"{limits.get('overLimit')} / {limits.get('stormRefused')}"),
        ("Sales calls in a key's busiest window", f"{limits.get('maxInWindow')} of {cluster.rate_limit}"),
        ("left after draining", ", ".join(f"{k} {v}" for k, v in times["left"].items()) or "-"),
    ]  # fmt: skip
    rows += capacity_rows(costs)
    print_table(rows)
    for name, errors in filed.items():
        for error in errors[:8]:
            print(f"  {name}: {error.kind}: {error.detail or 'failed'}")
    print()
    print_targets(promises(cluster, recorder, faults, checks, times["drain"], times["left"]))


# A busy account's peak hour (inferred: no source gives one): new leads and interactions notified,
# and toolbar dialogs or reports opened by its agents and managers.
PEAK_EVENTS_PER_HOUR, PEAK_OPENS_PER_HOUR = 600, 120


def capacity_rows(costs: dict[str, Cost]) -> list[tuple[str, str]]:
    """Per-request CPU cost and what one core sustains at it (90% busy, nothing else on it)."""
    hooks, pages = costs["webhooks"], costs["pages"]
    if not hooks.count or not pages.count:
        return [("capacity", "not measured (no request of a kind completed)")]
    ack, work, page = hooks.web / hooks.count, hooks.worker / hooks.count, pages.web / pages.count
    per_account = (PEAK_EVENTS_PER_HOUR * (ack + work) + PEAK_OPENS_PER_HOUR * page) / 3600
    return [
        ("CPU per webhook: ack (web) / processing (worker)", f"{ack * 1000:.1f} / {work * 1000:.1f} ms"),
        ("CPU per page open (web); its latency", f"{page * 1000:.1f} ms; {pages.latency * 1000:.0f} ms"),
        ("per core: webhooks/s (ack + processing)", f"{0.9 / (ack + work):,.0f}"),
        ("per core: webhook acks/s (web alone)", f"{0.9 / ack:,.0f}"),
        ("per core: page opens/s", f"{0.9 / page:,.0f}"),
        ("per core: busy accounts (600 events + 120 opens an hour)", f"{0.9 / per_account:,.0f}"),
        ("web processes one core keeps busy (latency / CPU)", f"{pages.latency / page:.1f}"),
    ]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
