"""Start settlecheck as it runs in production, on loopback, for benchmarks and fault scenarios.

`Stack` creates a fresh PostgreSQL database, migrates it with `settlecheck db upgrade`, seeds the
demo data (`settlecheck demo-data`, keys read from the file it writes in a scratch directory),
and starts `settlecheck serve --workers N` in its own process group, so a scenario can SIGKILL
the whole service (supervisor and workers) and start it again on the same database.

Also: stopping and starting the local Redis and PostgreSQL for fault scenarios. Every helper that
stops one of them is a context manager that starts it again, whatever happens in between.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ADMIN_PG = os.environ.get("SETTLECHECK_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REDIS_BASE = os.environ.get("SETTLECHECK_BENCH_REDIS", "redis://127.0.0.1:6379")
ID_HASH_KEY = "bench-only-hash-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def recreate_database(name: str) -> str:
    import psycopg

    with psycopg.connect(f"{ADMIN_PG}/postgres", autocommit=True, connect_timeout=5) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    return f"{ADMIN_PG.replace('postgresql://', 'postgresql+psycopg://')}/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with contextlib.suppress(psycopg.Error):
        with psycopg.connect(f"{ADMIN_PG}/postgres", autocommit=True, connect_timeout=5) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(db: int) -> None:
    import redis

    redis.Redis.from_url(f"{REDIS_BASE}/{db}", socket_timeout=2).flushdb()


@dataclass
class Stack:
    """A migrated, seeded database and the service serving it."""

    database: str = "settlecheck_bench"
    redis_db: int | None = 9
    workers: int = 2
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    registry: bool = False  # also start `settlecheck registry standin` and point the service at it
    registry_port: int = field(default_factory=free_port)
    _proc: subprocess.Popen[bytes] | None = None
    _registry_proc: subprocess.Popen[bytes] | None = None
    _workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sck-stack-")))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"{ADMIN_PG.replace('postgresql://', 'postgresql+psycopg://')}/{self.database}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SETTLECHECK_")}
        env.update(
            SETTLECHECK_ENVIRONMENT="production",
            SETTLECHECK_DATABASE_URL=self.database_url,
            SETTLECHECK_ID_HASH_KEY=ID_HASH_KEY,
            SETTLECHECK_LOG_LEVEL="WARNING",
            SETTLECHECK_AUTO_MIGRATE="false",
            SETTLECHECK_DEMO_DATA="false",
            SETTLECHECK_RATE_LIMIT_PER_MINUTE="0",
        )
        if self.redis_db is not None:
            env["SETTLECHECK_REDIS_URL"] = f"{REDIS_BASE}/{self.redis_db}"
        if self.registry:
            env["SETTLECHECK_REGISTRY_URL"] = f"http://127.0.0.1:{self.registry_port}"
        env.update(self.extra_env)
        return env

    def prepare(self) -> Stack:
        """Fresh database, migrations, demo data and keys (hospital, auditor, admin)."""
        recreate_database(self.database)
        if self.redis_db is not None:
            flush_redis(self.redis_db)
        run = {"env": self.env(), "cwd": self._workdir, "check": True, "capture_output": True}
        subprocess.run([str(BIN / "settlecheck"), "db", "upgrade", "head"], **run)  # type: ignore[call-overload]
        # Demo data is refused in production (ADR 0016); this scratch stack seeds it as a test.
        seed = {**run, "env": {**self.env(), "SETTLECHECK_ENVIRONMENT": "test"}}
        subprocess.run([str(BIN / "settlecheck"), "demo-data"], **seed)  # type: ignore[call-overload]
        from service.demo import demo_keys_file  # the file the seeding wrote for this database

        saved = json.loads((self._workdir / demo_keys_file(self.database_url)).read_text())
        for label, token in saved["keys"].items():
            self.keys[label.split(" ", 1)[0]] = token
        return self

    def headers(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}

    def start_registry(self) -> None:
        """The stand-in registry (the demo roster) on its own loopback port."""
        log = open(self._workdir / "registry.log", "ab")  # noqa: SIM115
        self._registry_proc = subprocess.Popen(
            [str(BIN / "settlecheck"), "registry", "standin", "--port", str(self.registry_port)],
            env=self.env(),
            cwd=self._workdir,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{self.registry_port}/healthz", timeout=1)
                return
            time.sleep(0.1)
        raise TimeoutError("the stand-in registry did not start")

    def stop_registry(self) -> None:
        if self._registry_proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._registry_proc.pid, signal.SIGTERM)
            self._registry_proc.wait(10)
            self._registry_proc = None

    def start(self, *, timeout: float = 30.0) -> Stack:
        if self.registry and self._registry_proc is None:
            self.start_registry()
        log = open(self.log_path or self._workdir / "server.log", "ab")  # noqa: SIM115
        self._proc = subprocess.Popen(
            [
                *(str(BIN / "settlecheck"), "serve", "--host", "127.0.0.1"),
                *("--port", str(self.port), "--workers", str(self.workers)),
            ],
            env=self.env(),
            cwd=self._workdir,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(
                    f"the service exited ({self._proc.returncode}); {self.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"the service did not get ready in {timeout} s; {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        path = self.log_path or self._workdir / "server.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def log_text(self) -> str:
        path = self.log_path or self._workdir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def worker_pids(self) -> list[int]:
        """The uvicorn workers (spawned processes), for resident memory per worker."""
        import psutil

        if self._proc is None:
            return []
        children = psutil.Process(self._proc.pid).children(recursive=True)
        workers = []
        for child in children:
            with contextlib.suppress(psutil.Error):
                if self.workers == 1 or "spawn_main" in " ".join(child.cmdline()):
                    workers.append(child.pid)
        return workers or [self._proc.pid]

    def kill(self) -> None:
        """SIGKILL the whole service: supervisor and workers, no chance to clean up."""
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait(10)
        self._proc = None

    def stop(self) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGTERM)
        try:
            self._proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()
        self._proc = None

    def drop(self) -> None:
        self.stop()
        self.stop_registry()
        drop_database(self.database)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()


# --- the local servers, stopped and always started again ------------------------------------

PG_CTL = ["pg_ctlcluster", "--skip-systemctl-redirect"]


def _pg_version() -> str:
    return sorted(os.listdir("/etc/postgresql"))[-1]


def postgres(action: str) -> None:
    subprocess.run([*PG_CTL, _pg_version(), "main", action], check=True, capture_output=True)


def postgres_ready(timeout: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(f"{ADMIN_PG}/postgres", connect_timeout=2).close()
            return
        except psycopg.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


REDIS_START = [
    *("redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379"),
    *("--save", "", "--appendonly", "no", "--dir", "/var/lib/redis"),
    *("--logfile", "/var/log/redis/ci.log"),
]


def redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_BASE, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def start_redis(timeout: float = 15.0) -> None:
    if redis_up():
        return
    subprocess.run(REDIS_START, check=True, capture_output=True)
    deadline = time.monotonic() + timeout
    while not redis_up():
        if time.monotonic() > deadline:
            raise TimeoutError("redis did not come back")
        time.sleep(0.1)


@contextlib.contextmanager
def redis_stopped() -> Iterator[None]:
    """Stop the local Redis (SHUTDOWN NOSAVE); start it again on the way out, always."""
    import redis

    try:
        with contextlib.suppress(redis.RedisError):
            redis.Redis.from_url(REDIS_BASE, socket_timeout=2).shutdown(nosave=True)
        deadline = time.monotonic() + 10
        while redis_up() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield
    finally:
        start_redis()


@contextlib.contextmanager
def postgres_restarting() -> Iterator[None]:
    """Yield while PostgreSQL restarts; leave only when it answers again, always."""
    try:
        yield
    finally:
        for _ in range(3):
            try:
                postgres_ready(5)
                break
            except Exception:
                subprocess.run([*PG_CTL, _pg_version(), "main", "start"], capture_output=True)
        postgres_ready(30)
