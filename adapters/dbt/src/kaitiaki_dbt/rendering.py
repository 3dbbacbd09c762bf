"""SQL a node runs while dbt renders it: ``run_query``, ``statement`` or ``adapter.execute`` in
its Jinja (directly or through a macro).

dbt executes such SQL while it compiles the node: during ``kaitiaki dbt check`` itself, and again
as it runs the node. A model whose own SELECT is harmless could copy a table inside
``{% do run_query("create table … as select full_name …") %}``. While a node renders, kaitiaki
lets reads through (dbt's own introspection, ``dbt_utils.get_column_values``) and refuses anything
else: while kaitiaki compiles, the statement is not run and the node is blocked (SYS-01, through
``hooks.hook_nodes``); while dbt runs in enforce mode, the node fails before its SQL runs, which
also covers Jinja that writes only when it sees a run (``flags.WHICH``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import sqlglot
from sqlglot import exp

from kaitiaki_dbt.dialects import adapter_dialect

RENDER_WRITE = "render-write"
_READS: tuple[type[exp.Expr], ...] = (exp.Query, exp.Describe, exp.Show, exp.Pragma)
_CURRENT = threading.local()


def reads_only(sql: str, dialect: str | None) -> bool:
    """Every statement of ``sql`` only reads (SELECT, DESCRIBE, SHOW, PRAGMA); what does not
    parse counts as a write, and so does a SET (a session variable can carry data into the SQL)."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except sqlglot.errors.SqlglotError:
        return False
    return all(isinstance(s, _READS) and not _writes_inside(s) for s in statements)


def _writes_inside(statement: exp.Expr) -> bool:
    """A query that writes anyway: ``SELECT … INTO``, or DML inside a WITH."""
    return statement.find(exp.Into, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create) is not None


def render_error(sql: str) -> str:
    first = " ".join(sql.split())[:160]
    return (
        "the node runs SQL that writes while dbt renders it (run_query, statement or adapter.execute "
        f"in its Jinja or a macro it calls): `{first}`; kaitiaki did not run it and decides only the "
        "node's own SQL, so the node is not run (move the statement into a hook, which is decided)"
    )


@contextlib.contextmanager
def refuse_writes_while_rendering(found: dict[str, str], *, fail: bool) -> Iterator[None]:
    """While dbt compiles a node, refuse statements that write: record the first in ``found``
    (unique id → SQL) and either return an empty result (``fail`` false: kaitiaki's own compile)
    or fail the node (``fail`` true: the run)."""
    from dbt.adapters.base.impl import BaseAdapter
    from dbt.adapters.contracts.connection import AdapterResponse
    from dbt.compilation import Compiler
    from dbt_common.clients.agate_helper import empty_table
    from dbt_common.exceptions import DbtRuntimeError

    original_compile = Compiler.compile_node
    original_execute = BaseAdapter.execute
    lock = threading.Lock()

    def compile_node(self: Any, node: Any, *args: Any, **kwargs: Any) -> Any:
        outer = getattr(_CURRENT, "node", None)
        _CURRENT.node = node.unique_id
        try:
            return original_compile(self, node, *args, **kwargs)
        finally:
            _CURRENT.node = outer

    def execute(self: Any, sql: str, auto_begin: bool = False, fetch: bool = False, limit: Any = None) -> Any:
        uid = getattr(_CURRENT, "node", None)
        if uid is None or reads_only(sql, adapter_dialect(self.type())):
            return original_execute(self, sql, auto_begin, fetch, limit)
        with lock:
            found.setdefault(uid, sql)
        if fail:
            raise DbtRuntimeError(f"kaitiaki: {render_error(sql)}")
        return AdapterResponse(_message="not run: kaitiaki is checking the node"), empty_table()  # type: ignore[no-untyped-call]

    Compiler.compile_node = compile_node  # type: ignore[method-assign]
    BaseAdapter.execute = execute  # type: ignore[method-assign]
    try:
        yield
    finally:
        Compiler.compile_node = original_compile  # type: ignore[method-assign]
        BaseAdapter.execute = original_execute  # type: ignore[method-assign]
