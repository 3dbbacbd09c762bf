"""The kaitiaki plugin of kaitiaki-dbt: adds ``kaitiaki dbt check|run|build``.

Loaded through the ``kaitiaki`` entry point by every ``kaitiaki`` command, so it imports click
and the command definitions only; dbt itself is imported when a dbt command runs.
"""

from __future__ import annotations

import click

from kaitiaki.hookspecs import hookimpl


@hookimpl
def kaitiaki_register_commands(cli: click.Group) -> None:
    """Add the ``dbt`` command group."""
    from kaitiaki_dbt.commands import dbt_group

    cli.add_command(dbt_group)
