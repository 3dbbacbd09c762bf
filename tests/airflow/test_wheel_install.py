"""docs/airflow.md's Dockerfile, run as it is: the repository's wheels into a clean venv, no
editable install, then ``airflow dags test`` against that venv (no image registry is reachable
here, so not ``docker build``: the clean venv stands in for the base image).

Then the run a Kubernetes pod makes: nothing written outside a temporary home, decision records
on stdout or sent to an HTTP collector (every record kept, chained), and a collector that is down
stops every SQL task.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.conftest import REPO

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DOCS = REPO / "docs" / "airflow.md"
CONTEXT_FILES = Path(__file__).resolve().parent / "wheel_dags"
INSTALL_TIMEOUT_S = 1800
RUN_TIMEOUT_S = 600
BASE_IMAGE = ("apache-airflow==3.3.2", "apache-airflow-providers-sqlite")


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the docs' Dockerfile, continuation lines joined."""
    (block,) = re.findall(r"```dockerfile\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    joined = re.sub(r"\\\n\s*", " ", block)
    steps = [line.split(None, 1) for line in joined.splitlines() if line.strip()]
    return [(step[0], step[1]) for step in steps]


@dataclass
class Image:
    """The clean venv the Dockerfile's lines built, and the environment its ENV lines set."""

    root: Path
    venv: Path
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    def airflow(
        self, home: Path, *args: str, extra: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": f"{self.venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.root),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONDONTWRITEBYTECODE": "1",
            "RUST_BACKTRACE": "0",
            **self.env,
            **(extra or {}),
        }
        return subprocess.run(
            [str(self.venv / "bin" / "airflow"), *args],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )


def base_image(venv: Path, constraints: Path) -> None:
    """What ``FROM apache/airflow:3.3.2`` brings: Airflow and the providers the DAG uses (the image
    has sqlite's; this venv installs it), pinned as Airflow's own image build pins them."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=INSTALL_TIMEOUT_S)
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--constraint", str(constraints), *BASE_IMAGE],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def build_image(root: Path) -> Image:
    """``make dist``, then each Dockerfile line: FROM → a clean venv, COPY/WORKDIR → folders
    under ``root``, RUN → the shell with the venv first on PATH, ENV → the image's environment."""
    subprocess.run(["make", "dist"], cwd=REPO, check=True, capture_output=True, timeout=INSTALL_TIMEOUT_S)
    context = root / "context"
    shutil.copytree(REPO / "dist", context / "dist")
    shutil.copy(CONTEXT_FILES / "kaitiaki.yaml", context / "kaitiaki.yaml")
    venv = root / "venv"
    image = Image(root=root, venv=venv, workdir=root)
    workdir_name = "/"
    for instruction, args in dockerfile():
        if instruction == "FROM":
            base_image(venv, context / "dist" / "constraints.txt")
        elif instruction == "WORKDIR":
            workdir_name, image.workdir = args, root / "image" / args.lstrip("/")
            image.workdir.mkdir(parents=True)
        elif instruction == "COPY":
            source, target = args.split()
            copy = shutil.copytree if (context / source).is_dir() else shutil.copy
            copy(context / source, image.workdir / target)
        elif instruction == "RUN":
            done = subprocess.run(
                args,
                shell=True,
                cwd=image.workdir,
                env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(root), "VIRTUAL_ENV": str(venv)},
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_S,
                check=False,
            )
            assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        elif instruction == "ENV":
            key, value = args.split("=", 1)
            image.env[key] = value.replace(workdir_name, str(image.workdir))
        else:
            raise AssertionError(f"the test does not know the Dockerfile instruction {instruction}")
    return image


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    return build_image(tmp_path_factory.mktemp("wheel-install"))


def airflow_home(image: Image, name: str) -> Path:
    """A home with the DAG and a migrated database, and the sqlite warehouse the DAG reads."""
    home = image.root / name
    (home / "dags").mkdir(parents=True)
    shutil.copy(CONTEXT_FILES / "kt_wheel.py", home / "dags" / "kt_wheel.py")
    warehouse = sqlite3.connect(home / "warehouse.db")
    warehouse.execute("create table clients (client_number text, full_name text, region text)")
    rows = [(f"C{i:03}", f"Person {i}", ("Auckland", "Otago")[i % 2]) for i in range(24)]
    warehouse.executemany("insert into clients values (?, ?, ?)", rows)
    warehouse.commit()
    warehouse.close()
    migrated = image.airflow(home, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    return home


def connection(home: Path) -> dict[str, str]:
    return {"AIRFLOW_CONN_KT_SQLITE": json.dumps({"conn_type": "sqlite", "host": str(home / "warehouse.db")})}


def records_in(text: str) -> list[dict[str, Any]]:
    """Decision records among the lines of a process's output."""
    found = []
    for line in text.splitlines():
        start = line.find('{"decision_id"')
        if start != -1:
            found.append(json.loads(line[start:]))
    return found


def tables(home: Path) -> set[str]:
    """What the allowed task leaves behind: it ran only if ``region_counts`` exists."""
    warehouse = sqlite3.connect(home / "warehouse.db")
    try:
        return {row[0] for row in warehouse.execute("select name from sqlite_master where type = 'table'")}
    finally:
        warehouse.close()


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_the_wheels_install_without_editable_installs(image: Image) -> None:
    editable = subprocess.run(
        [str(image.venv / "bin" / "pip"), "list", "--editable", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(editable.stdout) == []
    located = subprocess.run(
        [
            str(image.venv / "bin" / "python"),
            "-c",
            "import kaitiaki, kaitiaki_airflow; print(kaitiaki.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=image.root,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert located.stdout.startswith(str(image.venv)), "kaitiaki must come from the venv, not the repository"
    check = subprocess.run(
        [str(image.venv / "bin" / "pip"), "check"], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout


def test_airflow_lists_the_kaitiaki_section(image: Image) -> None:
    home = image.root / "config-home"
    (home / "dags").mkdir(parents=True)
    listed = image.airflow(home, "config", "list", "--section", "kaitiaki", "--show-values")
    assert "[kaitiaki]" in listed.stdout and "decision_log = stdout" in listed.stdout, (
        listed.stdout + listed.stderr
    )


def test_dags_test_blocks_the_denied_task_and_writes_records_to_stdout(image: Image) -> None:
    home = airflow_home(image, "stdout-home")
    before = files_under(home / "dags") | {f"image/{p}" for p in files_under(image.workdir)}
    done = image.airflow(home, "dags", "test", "kt_wheel", extra=connection(home))
    output = done.stdout + done.stderr
    assert "kaitiaki blocked airflow:kt_wheel.denied" in output, output[-5000:]
    records = {r["labels"]["task_id"]: r for r in records_in(done.stdout)}
    assert {task: r["result"]["allow"] for task, r in records.items()} == {"allowed": True, "denied": False}
    assert "PM-01" in {v["rule"] for v in records["denied"]["result"]["violations"]}
    assert tables(home) == {"clients", "region_counts"}, "the allowed task ran, the denied one did not"
    after = files_under(home / "dags") | {f"image/{p}" for p in files_under(image.workdir)}
    assert after == before, "the run wrote into the DAGs folder or the image"
    assert verify_stream(image, done.stdout.encode()) == (0, "2 record(s) in 1 chain(s)")
    edited = done.stdout.replace('"allow":false', '"allow":true', 1).encode()
    assert verify_stream(image, edited)[0] == 1, "an edited record in the task's output went unnoticed"


def verify_stream(image: Image, data: bytes) -> tuple[int, str]:
    """``kaitiaki log verify --stream -`` of the image's own install on ``data``: exit and summary."""
    done = subprocess.run(
        [str(image.venv / "bin" / "kaitiaki"), "log", "verify", "--stream", "-"],
        input=data,
        capture_output=True,
        timeout=300,
        check=False,
    )
    text = done.stdout.decode()
    found = text[text.find(": ") + 2 :].split(" (one per")[0] if done.returncode == 0 else text
    return done.returncode, found


class Collector(HTTPServer):
    events: list[dict[str, Any]]
    bodies: list[bytes]


class CollectorHandler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(body)
        self.server.events += json.loads(gzip.decompress(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector(("127.0.0.1", 0), CollectorHandler)
    server.events, server.bodies = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_collector_keeps_every_record_chained(image: Image, collector: Collector) -> None:
    home = airflow_home(image, "http-home")
    url = f"http://127.0.0.1:{collector.server_address[1]}/logs"
    done = image.airflow(
        home, "dags", "test", "kt_wheel", extra={**connection(home), "AIRFLOW__KAITIAKI__DECISION_LOG": url}
    )
    assert "kaitiaki blocked airflow:kt_wheel.denied" in done.stdout + done.stderr
    events = collector.events
    assert sorted((e["labels"]["task_id"], e["result"]["allow"]) for e in events) == [
        ("allowed", True),
        ("denied", False),
    ]
    assert events[1]["prev_hash"] == events[0]["hash"], "one process, one sink: one chain"
    assert verify_stream(image, b"".join(collector.bodies)) == (0, "2 record(s) in 1 chain(s)")
    assert verify_stream(image, b"".join(collector.bodies[1:]))[0] == 1, "a lost batch went unnoticed"
    assert tables(home) == {"clients", "region_counts"}
    assert not (home / "logs" / "kaitiaki").exists()


def test_a_collector_that_is_down_stops_every_sql_task(image: Image) -> None:
    home = airflow_home(image, "down-home")
    closed = HTTPServer(("127.0.0.1", 0), CollectorHandler)
    url = f"http://127.0.0.1:{closed.server_address[1]}/logs"
    closed.server_close()
    done = image.airflow(
        home, "dags", "test", "kt_wheel", extra={**connection(home), "AIRFLOW__KAITIAKI__DECISION_LOG": url}
    )
    output = done.stdout + done.stderr
    assert "kaitiaki could not check airflow:kt_wheel.allowed" in output, output[-5000:]
    assert "did not take the record" in output
    assert tables(home) == {"clients"}, "an allowed task ran without its record"
