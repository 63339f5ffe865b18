"""Public test fixtures: real servers on 127.0.0.1, never mocks.

* :func:`free_port` - a free TCP port on loopback.
* :class:`HubProcess` - ``shipyard server`` in a subprocess (killable with SIGKILL for crash tests).
* :func:`moto_s3` - an S3-compatible HTTP server (moto in server mode) with a fresh bucket.
* :func:`postgres_database` - a fresh, uniquely named PostgreSQL database, dropped afterwards.

Usable from any project's tests (``from shipyard.testing import HubProcess``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

import urllib3

__all__ = [
    "DEFAULT_POSTGRES_ADMIN_URL",
    "HubProcess",
    "ModelServerProcess",
    "free_port",
    "moto_s3",
    "postgres_database",
]

DEFAULT_POSTGRES_ADMIN_URL = os.environ.get(
    "SHIPYARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


_DUMMY_AWS = {  # credentials for the local fake S3 only
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url`` until it answers 200, the process dies, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    http = urllib3.PoolManager(retries=False, timeout=1.0)
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if http.request("GET", url).status == 200:
                return
        except urllib3.exceptions.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


class HubProcess:
    """A real hub (``shipyard server``) in a child process.

    Args:
        home: SHIPYARD_HOME of the hub.
        env: extra environment (``SHIPYARD_METADATA_URI``, ``SHIPYARD_ARTIFACT_URI``, ...).
        port: port to bind (default: a free one).

    Example:
        >>> with HubProcess(tmp_path) as hub:      # doctest: +SKIP
        ...     client = shipyard.Client(hub.url)
    """

    def __init__(self, home: Path, env: Mapping[str, str] | None = None, port: int | None = None) -> None:
        self.home = home
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SHIPYARD_HOME": str(home), **(env or {})}
        self.env.pop("SHIPYARD_TRACKING_URI", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = home / f"hub-{self.port}.log"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "shipyard.cli", "server", "--port", str(self.port)]

    health_path = "/health"

    def start(self) -> Self:
        self.home.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child process
        self.proc = subprocess.Popen(self.command(), env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        try:
            wait_http(f"{self.url}{self.health_path}", proc=self.proc, timeout=90)
        except BaseException:
            self.stop()
            raise
        return self

    def kill9(self) -> None:
        """Crash the hub (SIGKILL): no shutdown hooks, no flushing."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class ModelServerProcess(HubProcess):
    """A real model server (``shipyard serve SOURCES...``) in a child process; ``home`` holds its
    log (and is its SHIPYARD_HOME for models:/ references, unless ``env`` names a hub).

    Example:
        >>> with ModelServerProcess(tmp_path, ["churn=./bundle"]) as server:   # doctest: +SKIP
        ...     urllib3.request("GET", server.url + "/v2/models/churn")
    """

    health_path = "/v2/health/ready"

    def __init__(
        self,
        home: Path,
        sources: list[str],
        args: list[str] | None = None,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        super().__init__(home, env, port)
        self.sources = sources
        self.args = args or []
        if env and "SHIPYARD_TRACKING_URI" in env:
            self.env["SHIPYARD_TRACKING_URI"] = env["SHIPYARD_TRACKING_URI"]
        self.log_path = home / f"serve-{self.port}.log"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "shipyard.cli", "serve", *self.sources, "--port", str(self.port), *self.args]


@contextmanager
def moto_s3(bucket: str = "shipyard-test") -> Iterator[str]:
    """Run moto's S3-compatible HTTP server on 127.0.0.1 in a child process, with ``bucket``
    created; yields its endpoint URL. Dummy credentials are set in this process's environment for
    the duration. (A child process keeps moto's in-memory copies of objects out of the caller's
    memory measurements.)"""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(_DUMMY_AWS)
    try:
        wait_http(f"{endpoint}/moto-api/", proc=server)
        import boto3

        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def postgres_database(admin_url: str = DEFAULT_POSTGRES_ADMIN_URL) -> Iterator[str]:
    """Create a fresh database on the server of ``admin_url``; yield its URL; drop it afterwards."""
    import sqlalchemy as sa

    name = f"shipyard_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
