"""Tasks run by a real executor: Airflow's supervisor forks each task process (Linux).

``airflow dags test --use-executor`` with the LocalExecutor and an API server on a loopback port:
the executor's workers are forked from the command's process and fork each task process in turn,
as a deployment's workers do. kaitiaki loads its code before the first fork
(``warm_before_fork``), and the guard still decides each task in its own forked process: the
denied twin fails without running, the allowed one runs, each with its decision record.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.airflow.conftest import BIN, RUN_TIMEOUT_S, airflow_env

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

WHEEL_DAGS = Path(__file__).resolve().parent / "wheel_dags"
STARTUP_S = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> Path:
    home = tmp_path_factory.mktemp("executor-home")
    shutil.copytree(WHEEL_DAGS, home / "dags")
    shutil.copy(migrated_db, home / "airflow.db")
    warehouse = sqlite3.connect(home / "warehouse.db")
    warehouse.execute("create table clients (client_number int, full_name text, region text)")
    warehouse.executemany(
        "insert into clients values (?, ?, ?)", [(n, f"name {n}", f"region {n % 2}") for n in range(40)]
    )
    warehouse.commit()
    warehouse.close()
    return home


@pytest.fixture(scope="module")
def env(home: Path) -> Iterator[dict[str, str]]:
    """The scenario's environment, with an API server for the task processes to talk to."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = airflow_env(
        home,
        home / "dags",
        {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
            "AIRFLOW__API__BASE_URL": url,
            "AIRFLOW__KAITIAKI__DECISION_LOG": str(home / "decisions.jsonl"),
            "AIRFLOW_CONN_KT_SQLITE": json.dumps({"conn_type": "sqlite", "host": str(home / "warehouse.db")}),
        },
    )
    server = subprocess.Popen(
        [str(BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(f"{url}/execution/health", server)
        yield env
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


def wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        assert server.poll() is None, "the API server stopped"
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the API server did not answer {url} within {STARTUP_S} s")


def test_forked_task_processes_are_guarded_each_with_its_record(home: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", "--use-executor", "kt_wheel"],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    output = done.stdout + done.stderr
    assert "kaitiaki: loaded its code before this process forks" in output, output[-5000:]
    assert "kaitiaki blocked airflow:kt_wheel.denied" in output, output[-5000:]
    warehouse = sqlite3.connect(home / "warehouse.db")
    try:
        tables = {row[0] for row in warehouse.execute("select name from sqlite_master where type = 'table'")}
    finally:
        warehouse.close()
    assert tables == {"clients", "region_counts"}, (
        "the allowed task ran in its forked process, the denied did not"
    )
    records = [
        json.loads(line) for line in (home / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    decided = {r["labels"]["task_id"]: (r["result"]["allow"], r["labels"]["entry_point"]) for r in records}
    assert decided == {"allowed": (True, "airflow"), "denied": (False, "airflow")}
