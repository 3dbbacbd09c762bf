"""The kaitiaki plugin of kaitiaki-airflow: adds ``kaitiaki airflow audit``.

Loaded through the ``kaitiaki`` entry point by every ``kaitiaki`` command, so it imports click
only; Airflow is imported when an airflow command runs.
"""

from __future__ import annotations

import click

from kaitiaki.hookspecs import hookimpl


@hookimpl
def kaitiaki_register_commands(cli: click.Group) -> None:
    """Add the ``airflow`` command group."""
    from kaitiaki_airflow.audit import airflow_group

    cli.add_command(airflow_group)
