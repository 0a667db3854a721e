"""The embedded MongoDB used when MONGODB_URI is unset: started once, shared, reused, stopped."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manage(var_dir: Path, *args: str) -> str:
    env = {key: value for key, value in os.environ.items() if key != "MONGODB_URI"}
    env["DDS_VAR_DIR"] = str(var_dir)
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_manage_py_starts_shares_and_stops_the_embedded_server(tmp_path):
    try:
        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(lambda _: _manage(tmp_path, "mongo", "start"), range(2))
        assert first == second  # concurrent commands share one server
        assert (tmp_path / "mongo").is_dir()
        assert "running" in _manage(tmp_path, "mongo", "status")
        # Any other command reuses the recorded server and sees the data it keeps.
        _manage(tmp_path, "migrate", "--verbosity", "0")
        assert "[X] 0001_initial" in _manage(tmp_path, "showmigrations", "accounts")
        assert first.split(",")[0] in _manage(tmp_path, "mongo", "status")
    finally:
        assert "stopped" in _manage(tmp_path, "mongo", "stop")
    assert "not running" in _manage(tmp_path, "mongo", "status")


@pytest.fixture
def var_dir(tmp_path, monkeypatch):
    """The embedded server's state and storage under a temporary directory, for in-process commands."""
    from dds_site import mongo

    for name, value in {
        "VAR_DIR": tmp_path,
        "STATE_FILE": tmp_path / "mongo.json",
        "LOCK_FILE": tmp_path / "mongo.lock",
        "STORAGE_DIR": tmp_path / "mongo",
        "LOG_FILE": tmp_path / "mongo.log",
    }.items():
        monkeypatch.setattr(mongo, name, value)
    yield tmp_path
    mongo.stop_embedded_server()


def _mongo_command(action: str) -> str:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("mongo", action, stdout=out)
    return out.getvalue()


@pytest.mark.slow
def test_mongo_stop_then_start_takes_the_recorded_port_again(var_dir):
    import socket

    import pymongo

    from dds_site import mongo

    first = mongo.ensure_embedded_server()
    # A process started before the restart keeps this URI; it must work again afterwards.
    with pymongo.MongoClient(first.uri, serverSelectionTimeoutMS=10000) as client:
        client.dds.things.insert_one({"_id": 1})
        assert "stopped" in _mongo_command("stop")
        assert "not running" in _mongo_command("status")
        assert f":{first.port}/" in _mongo_command("start")
        assert mongo.recorded_server().pid != first.pid
        assert client.dds.things.count_documents({}) == 1
    # If another program holds the port meanwhile, the server starts on a new one.
    restarted_pid = mongo.recorded_server().pid
    assert "stopped" in _mongo_command("stop")
    assert not mongo.pid_alive(restarted_pid)  # stop returns once the process is gone
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Under parallel tests another process may already hold the freed port: the same situation.
        with contextlib.suppress(OSError):
            squatter.bind(("127.0.0.1", first.port))
            squatter.listen()
        assert f":{first.port}/" not in _mongo_command("start")
        assert mongo.recorded_server().port != first.port
