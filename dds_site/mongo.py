"""The MongoDB connection: which server, and the embedded one when none is configured.

``MONGODB_URI`` selects a real MongoDB. Without it, ``manage.py`` and the WSGI entry
point start (or reuse) an embedded SecantusDB server whose data lives under ``var/mongo/``
and whose address is recorded in ``var/mongo.json``, so every command and the dev server
share one database. A restart takes the recorded port again when it is free, so running
processes reconnect to it. Tests start their own in-memory server (see ``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pymongo.errors import BulkWriteError, ConnectionFailure, DocumentTooLarge, OperationFailure, PyMongoError

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DDS_VAR_DIR", BASE_DIR / "var"))
STATE_FILE = VAR_DIR / "mongo.json"
LOCK_FILE = VAR_DIR / "mongo.lock"
STORAGE_DIR = VAR_DIR / "mongo"
LOG_FILE = VAR_DIR / "mongo.log"
START_TIMEOUT_S = 60.0
KILL_WAIT_S = 10.0


class EmbeddedServerError(RuntimeError):
    """The embedded MongoDB server could not be started or reached."""


@dataclass
class EmbeddedServer:
    """A running SecantusDB process we started."""

    port: int
    pid: int
    process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def stop(self, timeout: float = 20.0) -> None:
        _terminate(self.pid, self.process, timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _ping(uri: str) -> bool:
    import pymongo

    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=1000)
    try:
        client.admin.command("ping")
        return True
    except pymongo.errors.PyMongoError:
        return False
    finally:
        client.close()


def start_server(storage_path: str, port: int | None = None, *, detach: bool = False) -> EmbeddedServer:
    """Start a SecantusDB process through our patched launcher and wait until it answers."""
    port = port or free_port()
    command = [
        sys.executable,
        "-m",
        "dds_site.secantus_launcher",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        storage_path,
    ]
    log = open(LOG_FILE, "ab") if detach else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        command,
        cwd=BASE_DIR,
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=detach,
    )
    server = EmbeddedServer(port=port, pid=process.pid, process=process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedServerError(f"embedded MongoDB exited with code {process.returncode}; see {LOG_FILE}")
        if is_listening(port) and _ping(server.uri):
            return server
        time.sleep(0.1)
    server.stop()
    raise EmbeddedServerError(f"embedded MongoDB did not answer on port {port} within {START_TIMEOUT_S:.0f}s")


def _terminate(pid: int, process: subprocess.Popen | None, timeout: float) -> None:
    """Stop ``pid`` (SIGTERM, then SIGKILL after ``timeout``) and return once it is gone and its port free."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_for_exit(pid, process, timeout):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not _wait_for_exit(pid, process, KILL_WAIT_S):
        raise EmbeddedServerError(f"embedded MongoDB (pid {pid}) did not exit after SIGKILL")


def _wait_for_exit(pid: int, process: subprocess.Popen | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None:
            if process.poll() is not None:
                return True
        elif _reaped(pid) or not pid_alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _reaped(pid: int) -> bool:
    """True if ``pid`` is a child of this process that has exited (and is now reaped, not a zombie)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:  # not our child: whoever started it reaps it
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _state_lock():
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_state() -> EmbeddedServer | None:
    try:
        data = json.loads(STATE_FILE.read_text())
        return EmbeddedServer(port=int(data["port"]), pid=int(data["pid"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def _recorded_port() -> int | None:
    """The port last recorded, also after the server stopped (``stop`` keeps it)."""
    try:
        return int(json.loads(STATE_FILE.read_text())["port"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def port_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now (with SO_REUSEADDR, as SecantusDB binds)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _start_persistent() -> EmbeddedServer:
    # Running processes keep the URI they were started with, so a restart takes the old port back
    # when it is free: they reconnect by themselves instead of failing until they are restarted.
    port = _recorded_port()
    if port and port_free(port):
        try:
            return start_server(str(STORAGE_DIR), port, detach=True)
        except EmbeddedServerError:
            if port_free(port):
                raise
            # Someone else took the port meanwhile: fall back to a new one.
    return start_server(str(STORAGE_DIR), detach=True)


def recorded_server() -> EmbeddedServer | None:
    """The embedded server recorded under ``var/`` if it is alive and answering."""
    server = _read_state()
    if server and pid_alive(server.pid) and is_listening(server.port) and _ping(server.uri):
        return server
    return None


def ensure_embedded_server() -> EmbeddedServer:
    """Reuse the recorded embedded server, or start a persistent one under ``var/mongo/``."""
    with _state_lock():
        server = recorded_server()
        if server:
            return server
        STORAGE_DIR.mkdir(parents=True, exist_ok=True)
        server = _start_persistent()
        STATE_FILE.write_text(json.dumps({"port": server.port, "pid": server.pid}))
        return server


def stop_embedded_server() -> bool:
    """Stop the recorded embedded server; False if none was running. The port stays recorded."""
    with _state_lock():
        server = recorded_server()
        port = _recorded_port()
        if port:
            STATE_FILE.write_text(json.dumps({"port": port}))
        if not server:
            return False
        server.stop()
        return True


def configure_environment() -> None:
    """Point ``MONGODB_URI`` at the embedded server unless a real MongoDB is configured."""
    if not os.environ.get("MONGODB_URI"):
        os.environ["MONGODB_URI"] = ensure_embedded_server().uri


def get_database():
    """The PyMongo database behind Django's default connection."""
    from django.db import connections

    return connections["default"].database


def get_collection(name: str):
    from django.db import connections

    return connections["default"].get_collection(name)


def ping(timeout_s: float) -> bool:
    """Whether the database behind Django's connection answers a ping within ``timeout_s`` seconds."""
    import pymongo

    try:
        with pymongo.timeout(timeout_s):
            get_database().command("ping")
    except pymongo.errors.PyMongoError:
        return False
    return True


def current_session():
    """The PyMongo session of the open ``django_mongodb_backend.transaction.atomic`` block, if any."""
    from django.db import connections

    return connections["default"].session


class Failure(enum.Enum):
    """Database failures that are not bugs, as the error envelope tells them apart."""

    UNAVAILABLE = "unavailable"
    DOCUMENT_TOO_LARGE = "document_too_large"


# MongoDB's codes for "the document would exceed 16 MB" (BSONObjectTooLarge, and the older update/upsert ones).
_DOCUMENT_TOO_LARGE_CODES = {10334, 17419, 17420}


def _too_large(exc: PyMongoError) -> bool:
    if isinstance(exc, BulkWriteError):
        errors = (exc.details or {}).get("writeErrors", [])
        return any(error.get("code") in _DOCUMENT_TOO_LARGE_CODES for error in errors)
    return isinstance(exc, OperationFailure) and exc.code in _DOCUMENT_TOO_LARGE_CODES


def classify_failure(exc: BaseException) -> Failure | None:
    """What a driver error means for the client: the server is unreachable, the document too large, or neither.

    Looks through the chain of causes, since Django's ORM re-raises driver errors as ``DatabaseError``.
    """
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, DocumentTooLarge):  # raised by the driver before sending
            return Failure.DOCUMENT_TOO_LARGE
        if isinstance(current, PyMongoError):
            if isinstance(current, ConnectionFailure) or current.timeout:
                return Failure.UNAVAILABLE
            return Failure.DOCUMENT_TOO_LARGE if _too_large(current) else None
        current = current.__cause__ or current.__context__
        seen += 1
    return None
