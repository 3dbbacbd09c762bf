"""The kaitiaki hook specifications: the whole plugin contract.

kaitiaki's own classifiers, engines and reporters implement these hooks exactly as a third-party
plugin would (registered in ``plugins.DEFAULT_PLUGINS``); third-party plugins register through the
``kaitiaki`` entry-point group. Every hook takes keyword arguments only, as pluggy requires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from kaitiaki.model import Classification, Decision, Job, TaskSql

hookspec = pluggy.HookspecMarker("kaitiaki")
hookimpl = pluggy.HookimplMarker("kaitiaki")


@hookspec
def kaitiaki_classify_column(
    table: str, column: str, data_type: str | None, context: Mapping[str, Any]
) -> list[Classification]:
    """Classify one column by its name and type.

    Called for every column a job touches; the catalog and dbt meta outrank these answers,
    and a disagreement stays visible as a ``conflict:`` warning.
    ``context`` carries plain data such as ``{"dialect": ..., "job_id": ...}``. Return the
    categories found (empty when the plugin has no opinion); all plugins' answers are merged.
    """


@hookspec
def kaitiaki_detect_values(table: str, column: str, values: Iterable[str]) -> list[Classification]:
    """Classify a column from a sample of its values (``kaitiaki scan``).

    ``Classification.detail`` should say what share matched, e.g. ``"0.98 of 500"``. Values
    must never be logged, returned or stored: only the share that matched.
    """


@hookspec
def kaitiaki_policy_engines() -> dict[str, Callable[..., Any]]:
    """Name → factory of policy engines (docs/governance.md).

    A factory is called with the engine settings from kaitiaki.yaml (``engine:``) as keyword
    arguments and returns an object with ``load(policies, data)``, ``evaluate(input) ->
    Decision`` and ``revision``.
    """


@hookspec
def kaitiaki_scan_connectors() -> dict[str, Callable[..., Any]]:
    """URL scheme → connector factory for ``kaitiaki scan DSN``.

    A connector lists tables and their columns and returns a sample of a column's values as
    strings. DuckDB is built in; other databases plug in here.
    """


@hookspec
def kaitiaki_enrich_input(job: Job, input: dict[str, Any]) -> None:
    """Add organisation data to the policy input before evaluation (mutate ``input``).

    Called once per job, after the core has built the input and before the engine sees it.
    """


@hookspec
def kaitiaki_decision_made(job: Job, input: Mapping[str, Any], decision: Decision) -> None:
    """Observe a decision (logging, metrics, notifications); must not change it.

    Called once per decision, whatever the mode, including fail-closed decisions.
    """


@hookspec
def kaitiaki_reporters() -> dict[str, Callable[..., Any]]:
    """Format name → reporter for ``--format`` (``text``, ``json``, ``sarif``, ...).

    A reporter is called as ``reporter(verdicts, color=bool)`` and returns the text to print on
    stdout; a plugin registered later may override a built-in format.
    """


@hookspec
def kaitiaki_register_commands(cli: click.Group) -> None:
    """Add command groups to the ``kaitiaki`` CLI (adapters add ``kaitiaki dbt``).

    The core never imports an adapter's platform: adapters bring their own commands this way.
    """


@hookspec(firstresult=True)
def kaitiaki_task_sql(task: Any) -> TaskSql | None:
    """Where an Airflow task keeps its SQL, its connection(s) and, if fixed, its dialect.

    Called with the operator object (a mapped task too) when a DAG file is parsed and again on
    the rendered task just before it runs; return None for an operator the plugin does not know.
    The first answer wins, and plugins registered later are asked first, so a platform team's
    plugin for an in-house operator overrides the built-in readers (the Airflow adapter brings
    one per provider family; the generic ``sql`` field reader is asked last). Identify operators
    by their class's module and name: importing a provider here would cost every parse.
    """
