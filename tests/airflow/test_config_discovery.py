"""Which kaitiaki.yaml a task is checked under: airflow.cfg, then $KAITIAKI_CONFIG, then the DAG's folder."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG
from kaitiaki_airflow.gates import config_path_for, gate_for, parse_gate_for

from kaitiaki.errors import ConfigError

pytestmark = pytest.mark.airflow


@pytest.fixture
def no_configured_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__KAITIAKI__CONFIG", raising=False)
    monkeypatch.delenv("KAITIAKI_CONFIG", raising=False)


def task_in(dag_file: Path) -> SQLExecuteQueryOperator:
    dag_file.parent.mkdir(parents=True, exist_ok=True)
    with DAG("d", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        task = SQLExecuteQueryOperator(task_id="t", conn_id="c", sql="select 1")
    dag.fileloc = str(dag_file)
    return task


def write_config(path: Path, text: str = "mode: audit\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.usefixtures("no_configured_path")
def test_the_nearest_kaitiaki_yaml_above_the_dag_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "dags" / "kaitiaki.yaml")
    assert config_path_for(task_in(tmp_path / "dags" / "team" / "pipeline.py")) == config.resolve()


@pytest.mark.usefixtures("no_configured_path")
def test_kaitiaki_config_beats_the_dag_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path / "dags" / "kaitiaki.yaml")
    chosen = write_config(tmp_path / "platform" / "kaitiaki.yaml")
    monkeypatch.setenv("KAITIAKI_CONFIG", str(chosen))
    assert config_path_for(task_in(tmp_path / "dags" / "pipeline.py")) == chosen.resolve()


@pytest.mark.usefixtures("no_configured_path")
def test_airflow_cfg_beats_everything_and_may_be_relative_to_airflow_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    chosen = write_config(home / "governance" / "kaitiaki.yaml")
    monkeypatch.setenv("KAITIAKI_CONFIG", str(write_config(tmp_path / "other.yaml")))
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.setenv("AIRFLOW__KAITIAKI__CONFIG", "governance/kaitiaki.yaml")
    assert config_path_for(task_in(tmp_path / "dags" / "pipeline.py")) == chosen.resolve()


@pytest.mark.usefixtures("no_configured_path")
def test_a_configured_path_that_does_not_exist_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__KAITIAKI__CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="config file not found"):
        config_path_for(task_in(tmp_path / "dags" / "pipeline.py"))


def test_an_invalid_config_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "kaitiaki.yaml", "agency: msd\nmode: enforced\n")
    with pytest.raises(ConfigError) as raised:
        gate_for(config)
    assert str(raised.value).startswith(f"{config}:2: mode is 'enforced'")


def test_one_gate_per_config_per_process_and_parse_time_checks_are_not_logged(tmp_path: Path) -> None:
    config = write_config(tmp_path / "kaitiaki.yaml", "mode: warn\ndecision_log: decisions.jsonl\n")
    runtime = gate_for(config)
    assert gate_for(config) is runtime
    assert runtime.settings.decision_log == (tmp_path / "decisions.jsonl").resolve()
    assert parse_gate_for(config).settings.decision_log is None
    assert parse_gate_for(config).settings.mode == "warn"


def test_a_decision_log_in_the_dags_folder_is_written_under_airflow_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dags = tmp_path / "dags"
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(dags))
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    in_dags = write_config(dags / "team" / "kaitiaki.yaml", "decision_log: .kaitiaki/decisions.jsonl\n")
    outside = write_config(tmp_path / "governance" / "kaitiaki.yaml", "decision_log: decisions.jsonl\n")
    assert (
        gate_for(in_dags).settings.decision_log == tmp_path / "home" / "logs" / "kaitiaki" / "decisions.jsonl"
    )
    assert gate_for(outside).settings.decision_log == (tmp_path / "governance" / "decisions.jsonl").resolve()


def test_the_airflow_option_names_the_sink_whatever_kaitiaki_yaml_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__KAITIAKI__DECISION_LOG", "stdout")
    config = write_config(tmp_path / "kaitiaki.yaml", "decision_log: decisions.jsonl\n")
    assert gate_for(config).settings.decision_log == "stdout"
