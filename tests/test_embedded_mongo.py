"""The embedded MongoDB used when MONGODB_URI is unset: started once, shared, reused, stopped."""

from __future__ import annotations

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
