"""Fail closed by construction: every node of every statement is either modelled or reported.

The analysis proper (``statements``, ``resolve``, ``flow``) follows the nodes it knows. This
pass walks the *whole* parsed statement first and turns everything else into ``unresolved``
with its kind and line, so that what the analysis does not understand can never be skipped:

- a node class missing from the reviewed list (``nodes.MODELLED``, one sqlglot release) — a
  class a newer sqlglot adds is reported until someone reviews it;
- classes that are never analysable (procedural blocks, dynamic SQL, run-time identifiers);
- nodes modelled only in some places: a PIVOT / UNPIVOT / SUMMARIZE written as a statement
  inside parentheses or a CTE, ``TABLE('…')`` / ``TABLE($v)`` / ``TABLE(?)``, a parameter or
  placeholder standing where a name can be, a function that runs SQL held in a string or dumps
  a whole table, a system view that holds sampled column values;
- ALTER actions that redefine what later names mean when the job does not model them.

It also applies the two rewrites that make declared renames visible to the rest of the analysis
(``IDENTIFIER('literal')`` → the name, ClickHouse ``WITH expr AS name`` → the expression).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlglot import exp

from kaitiaki.analysis.budget import rebalance_at
from kaitiaki.analysis.nodes import MODELLED
from kaitiaki.analysis.transforms import function_name, is_row_generator
from kaitiaki.model import Unresolved

RUNTIME_NAME = "runtime_name"
UNKNOWN_TABLE = "unknown_table"
DYNAMIC_SQL = "dynamic_sql"
UNMODELLED = "unmodelled_node"
STATEMENT_AS_QUERY = "statement_as_query"
CATALOG_VALUES = "catalog_values"
PROCEDURAL = "procedural_code"

# Classes that are never analysable wherever they appear: kind and what the engineer is told.
REPORTED: dict[type[exp.Expr], tuple[str, str]] = {
    exp.Execute: (DYNAMIC_SQL, "EXECUTE runs SQL built at run time, which kaitiaki cannot see"),
    exp.ExecuteSql: (DYNAMIC_SQL, "EXECUTE IMMEDIATE / sp_executesql runs SQL held in a string"),
    exp.Command: (DYNAMIC_SQL, "a command kaitiaki cannot parse is part of this statement"),
    exp.Block: (PROCEDURAL, "a procedural block (BEGIN … END) is code kaitiaki does not analyse"),
    exp.IfBlock: (PROCEDURAL, "an IF block is procedural code kaitiaki does not analyse"),
    exp.WhileBlock: (PROCEDURAL, "a WHILE loop is procedural code kaitiaki does not analyse"),
    exp.LoopBlock: (PROCEDURAL, "a LOOP is procedural code kaitiaki does not analyse"),
    exp.RepeatBlock: (PROCEDURAL, "a REPEAT loop is procedural code kaitiaki does not analyse"),
    exp.ForIn: (PROCEDURAL, "a FOR … IN loop is procedural code kaitiaki does not analyse"),
    exp.Declare: (PROCEDURAL, "DECLARE belongs to procedural code kaitiaki does not analyse"),
    exp.DeclareItem: (PROCEDURAL, "DECLARE belongs to procedural code kaitiaki does not analyse"),
    exp.Return: (PROCEDURAL, "RETURN belongs to procedural code kaitiaki does not analyse"),
    exp.Leave: (PROCEDURAL, "LEAVE belongs to procedural code kaitiaki does not analyse"),
    exp.Iterate: (PROCEDURAL, "ITERATE belongs to procedural code kaitiaki does not analyse"),
    exp.EndStatement: (PROCEDURAL, "END belongs to procedural code kaitiaki does not analyse"),
    exp.StoredProcedure: (PROCEDURAL, "a stored procedure's body is code run later"),
    exp.UserDefinedFunction: (PROCEDURAL, "a user-defined function's body is code run later"),
    exp.MacroOverload: (PROCEDURAL, "a macro's body is code run later"),
    exp.MacroOverloads: (PROCEDURAL, "a macro's body is code run later"),
    exp.Summarize: (STATEMENT_AS_QUERY, "SUMMARIZE returns values of every column of what it reads"),
    exp.SemanticView: (UNMODELLED, "a semantic view's columns are defined outside this SQL"),
    exp.QueryTransform: (UNMODELLED, "TRANSFORM … USING runs an external script over the rows"),
    exp.MatchRecognize: (UNMODELLED, "MATCH_RECOGNIZE measures are not modelled"),
    exp.DynamicIdentifier: (RUNTIME_NAME, "IDENTIFIER(…) names a column or table only at run time"),
    exp.TableFromRows: (RUNTIME_NAME, "TABLE(…) of a string or variable names its table only at run time"),
    exp.ConnectTo: (UNMODELLED, "CONNECT TO switches the connection the rest of the job runs on"),
    exp.Copy: (UNMODELLED, "COPY moves data in ways kaitiaki cannot see"),
    exp.LoadData: (UNMODELLED, "LOAD DATA reads files kaitiaki cannot see"),
    exp.Export: (UNMODELLED, "EXPORT writes data kaitiaki cannot see"),
    exp.Put: (UNMODELLED, "PUT moves files kaitiaki cannot see"),
    exp.Get: (UNMODELLED, "GET moves files kaitiaki cannot see"),
    exp.Kill: (UNMODELLED, "KILL is not part of a data job"),
}

# Function names (the last part of a dotted name, lower case) that run SQL held in a string,
# dump a whole table or schema, or read another database: what they read cannot be seen.
SQL_RUNNING_FUNCTIONS = frozenset(
    {
        "query_to_xml",
        "query_to_xml_and_xmlschema",
        "query_to_xmlschema",
        "cursor_to_xml",
        "cursor_to_xmlschema",
        "table_to_xml",
        "table_to_xml_and_xmlschema",
        "table_to_xmlschema",
        "schema_to_xml",
        "schema_to_xml_and_xmlschema",
        "schema_to_xmlschema",
        "database_to_xml",
        "database_to_xml_and_xmlschema",
        "database_to_xmlschema",
        "getxml",
        "getxmltype",
        "newcontext",
        "dblink",
        "dblink_exec",
        "dblink_open",
        "dblink_send_query",
        "crosstab",
        "crosstab2",
        "crosstab3",
        "crosstab4",
        "connectby",
        "ts_stat",
        "ts_rewrite",
        "query",
        "query_table",
        "sp_executesql",
        "exec",
        "execute",
        "openquery",
        "openrowset",
        "opendatasource",
        "eval",
        "system$stream_get_table_timestamp",
        "xmlquery",
        "run_command_on_workers",
        "run_command_on_shards",
        "run_command_on_placements",
    }
)
# Packages whose every function runs SQL or reads other sessions' data (Oracle ``DBMS_XMLGEN.…``).
SQL_RUNNING_PACKAGES = frozenset({"dbms_xmlgen", "dbms_sql", "dbms_xmlquery", "dbms_xmlstore", "dblink"})

# System views and tables that hold sampled values of the columns they describe (table name, lower case).
CATALOG_VALUE_VIEWS = frozenset(
    {
        "pg_stats",
        "pg_stats_ext",
        "pg_stats_ext_exprs",
        "pg_statistic",
        "pg_statistic_ext_data",
        "pg_stat_statements",
        "column_statistics",  # MySQL 8 histograms (information_schema)
        "column_stats",  # MariaDB histograms (mysql.column_stats)
        "dm_db_stats_histogram",
        "dm_db_stats_properties",
        "stats_histogram",
        "duckdb_columns_statistics",
        "query_log",  # ClickHouse system.query_log: whole queries with their literal values
        "query_history",
    }
)

# A string literal that reads as a query: text an engine may run (``query('select …')``).
_SQL_TEXT = re.compile(
    r"^\s*\(*\s*(select|with|table|values|from|insert|update|delete|merge|call|exec|execute|pivot|"
    r"unpivot|summarize|describe|show)\b\s*\S",
    re.IGNORECASE,
)
_TEXT_SUBSTITUTION_DIALECTS = frozenset({"spark", "spark2", "databricks", "hive"})
# Value positions: a bind parameter here is a value, never a name.
_VALUE_PARENTS: tuple[type[exp.Expr], ...] = (
    exp.Predicate,
    exp.Limit,
    exp.Offset,
    exp.Fetch,
    exp.Values,
    exp.Interval,
    exp.TableSample,
    exp.Kwarg,
    exp.PropertyEQ,
)
_TRANSPARENT: tuple[type[exp.Expr], ...] = (exp.Paren, exp.Cast, exp.Neg, exp.Tuple)
# ALTER actions that change no data and no name (add a column, constraints, options, comments).
_HARMLESS_ALTER_ACTIONS: tuple[type[exp.Expr], ...] = (
    exp.ColumnDef,
    exp.AddConstraint,
    exp.Constraint,
    exp.AlterSet,
    exp.AlterDistStyle,
    exp.AlterSortKey,
    exp.DropPartition,
    exp.AddPartition,
    exp.Drop,
    exp.DropPrimaryKey,
    exp.Comment,
    exp.Properties,
    exp.Property,
    exp.AlterIndex,
    exp.RenameIndex,
    exp.AlterModifySqlSecurity,
    exp.RenameColumn,  # renames and swaps: modelled by ``ddl.Redefinitions``
    exp.AlterRename,
    exp.SwapTable,
    exp.AlterColumn,  # … TYPE … USING e: analysed as an UPDATE by ``statements``
)


@dataclass
class Admission:
    """What the walk found in one statement: problems, each reported once per kind and detail."""

    unresolved: list[Unresolved] = field(default_factory=list)
    nodes: int = 0  # syntax nodes walked (the work budget)
    alias_lists: bool = False  # a stored table's alias renames its columns: FROM t AS p(a, b)
    stars: bool = False  # a star somewhere (the star budget is estimated only then)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def report(self, kind: str, detail: str, line: int) -> None:
        if (kind, detail) not in self._seen:
            self._seen.add((kind, detail))
            self.unresolved.append(Unresolved(kind, detail, line))


def admit(statement: exp.Expr, dialect: str, line: int) -> Admission:
    """Rewrite declared renames in place, rebalance long operator chains, then report every node
    the analysis does not model."""
    rewrite_declared_names(statement)
    admission = Admission()
    for node in _walk(statement):
        admission.nodes += 1
        cls = type(node)
        if cls is exp.Star:
            admission.stars = True
        elif cls is exp.TableAlias and node.args.get("columns") and isinstance(node.parent, exp.Table):
            admission.alias_lists = True
        elif rebalance_at(node):  # a long operator chain: log depth before qualify (budget.py)
            continue
        # the statement's own kind is judged by ``statements.prepare``; its rules still apply
        problem = node_problem(node, dialect) if node is not statement else _ruled(node, dialect)
        if problem is not None:
            admission.report(problem[0], problem[1], line_of(node, line))
    return admission


def _walk(root: exp.Expr) -> Iterator[exp.Expr]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        for value in node.args.values():
            if type(value) is list:
                stack.extend(item for item in value if isinstance(item, exp.Expr))
            elif isinstance(value, exp.Expr):
                stack.append(value)


def node_problem(node: exp.Expr, dialect: str) -> tuple[str, str] | None:
    """Why ``node`` cannot be analysed where it stands, or None when the analysis models it."""
    cls = type(node)
    reported = REPORTED.get(cls)
    if reported is not None:
        return _reported(node, reported)
    if cls.__name__ not in MODELLED:
        return (
            UNMODELLED,
            f"the SQL construct {cls.__name__} is not one kaitiaki has been taught to analyse",
        )
    return _ruled(node, dialect)


def _ruled(node: exp.Expr, dialect: str) -> tuple[str, str] | None:
    rule = _RULES.get(type(node))
    return rule(node, dialect) if rule is not None else None


def _reported(node: exp.Expr, reported: tuple[str, str]) -> tuple[str, str] | None:
    if isinstance(node, exp.TableFromRows) and isinstance(node.this, exp.Func):
        return _table_function(node.this)
    return reported


def _table_function(function: exp.Func) -> tuple[str, str] | None:
    """TABLE(generator(…)), TABLE(flatten(…)) yield rows from their arguments, which the flow
    follows; any other TABLE(f(…)) (RESULT_SCAN, a user-defined table function) reads data
    kaitiaki cannot see."""
    if is_row_generator(function):
        return None
    return (
        UNKNOWN_TABLE,
        f"table function {function_name(function)}(…) reads data whose columns kaitiaki cannot see",
    )


def _pivot(node: exp.Expr, dialect: str) -> tuple[str, str] | None:
    """PIVOT / UNPIVOT attached to a table or subquery is modelled; as a statement it is not."""
    if node.arg_key == "pivots":
        return None
    word = "UNPIVOT" if node.args.get("unpivot") else "PIVOT"
    return (
        STATEMENT_AS_QUERY,
        f"a {word} statement used as a query (in parentheses or a CTE) is not analysed; "
        f"write it as SELECT … FROM t {word} (…)",
    )


def _subquery(node: exp.Expr, dialect: str) -> tuple[str, str] | None:
    body = node.this
    if isinstance(body, (exp.Query, exp.Subquery)) or body is None:
        return None
    if isinstance(body, (exp.Pivot, exp.Summarize)):
        return None  # reported on the node itself
    return (
        STATEMENT_AS_QUERY,
        f"a {type(body).__name__.upper()} statement in parentheses is not a query kaitiaki can analyse",
    )


def _cte(node: exp.Expr, dialect: str) -> tuple[str, str] | None:
    body = node.this
    if isinstance(body, (exp.Query, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Pivot, exp.Summarize)):
        return None  # queries, DML with RETURNING (statements.py), the rest reported on the node itself
    if node.args.get("scalar"):
        return None  # ClickHouse WITH expr AS name: substituted by rewrite_declared_names
    return (
        STATEMENT_AS_QUERY,
        f"the body of CTE {node.alias_or_name} is a {type(body).__name__.upper()} statement, not a "
        "query kaitiaki can analyse",
    )


def _placeholder(node: exp.Expr, dialect: str) -> tuple[str, str] | None:
    """``?`` / ``:name`` are values where a value stands; elsewhere a client may put a name there."""
    kind = node.args.get("kind")
    if isinstance(node, exp.Placeholder) and kind is not None and str(kind).lower() == "identifier":
        return (RUNTIME_NAME, f"{{{node.name}:Identifier}} names a column or table only at run time")
    if isinstance(node, exp.Parameter) and dialect in _TEXT_SUBSTITUTION_DIALECTS and node.name:
        return (RUNTIME_NAME, f"${{{node.name}}} is replaced by text at run time (variable substitution)")
    if isinstance(node, exp.Parameter):
        return None  # @var, $var, $1: a variable's value (Snowflake $n is positional: analyze.py)
    if _in_value_position(node):
        return None
    shown = f":{node.name}" if node.name else "?"
    return (
        RUNTIME_NAME,
        f"{shown} stands where a column name can be; a client that substitutes text (psql, templating) "
        "could put any column there",
    )


def _substituted_literal(node: exp.Expr, dialect: str) -> tuple[str, str] | None:
    """Spark and Hive replace ``${name}`` in the statement's text before parsing it, inside string
    literals too: ``'${c}'`` can close the string and add any SQL (Dataproc's script_variables)."""
    substituted = dialect in _TEXT_SUBSTITUTION_DIALECTS and isinstance(node, exp.Literal) and node.is_string
    if substituted and "${" in str(node.this):
        return (RUNTIME_NAME, "a string holding ${…} is replaced by text at run time (variable substitution)")
    return None


def _in_value_position(node: exp.Expr) -> bool:
    current = node
    while isinstance(current.parent, _TRANSPARENT):
        current = current.parent
    parent = current.parent
    return isinstance(parent, _VALUE_PARENTS)  # includes ``SET a = ?`` (an EQ) in UPDATE / ON CONFLICT


def _function(node: exp.Expr, dialect: str) -> tuple[str, str] | None:
    """Functions that run SQL in a string, dump tables, or are given query text."""
    name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
    package = _package(node)
    if name in SQL_RUNNING_FUNCTIONS or (package is not None and package in SQL_RUNNING_PACKAGES):
        shown = f"{package}.{name}" if package else name
        return (
            DYNAMIC_SQL,
            f"{shown}(…) runs SQL held in a string or returns a whole table, which kaitiaki cannot see",
        )
    for argument in node.expressions if isinstance(node, exp.Anonymous) else ():
        if isinstance(argument, exp.Literal) and argument.is_string and _SQL_TEXT.match(argument.this):
            return (
                DYNAMIC_SQL,
                f"{name}(…) is given SQL text as a string; what that SQL reads cannot be checked",
            )
    return None


def _package(node: exp.Expr) -> str | None:
    parent = node.parent
    if isinstance(parent, exp.Dot) and node.arg_key == "expression":
        owner = parent.this
        if isinstance(owner, (exp.Identifier, exp.Column, exp.Var)):
            return owner.name.lower()
    return None


def _table(node: exp.Expr, dialect: str) -> tuple[str, str] | None:
    """System views that hold sampled values of every column they describe."""
    if not isinstance(node, exp.Table) or not isinstance(node.this, exp.Identifier):
        return None
    if node.name.lower() in CATALOG_VALUE_VIEWS:
        return (
            CATALOG_VALUES,
            f"{node.name} holds sampled values (most common values, histograms, query text) of the "
            "columns it describes, identifying ones included",
        )
    return None


def _alter(node: exp.Expr, dialect: str) -> tuple[str, str] | None:
    """ALTER actions that change what a name means, where ``ddl`` has not modelled them."""
    if not isinstance(node, exp.Alter):
        return None
    for action in node.args.get("actions") or []:
        if isinstance(action, _HARMLESS_ALTER_ACTIONS):
            continue
        if isinstance(action, exp.Query) and str(node.args.get("kind") or "").upper() == "VIEW":
            continue  # ALTER VIEW … AS SELECT: analysed like CREATE VIEW by ``statements``
        return (
            UNMODELLED,
            f"ALTER with {_action_name(action)} changes what later names mean; kaitiaki does not model it",
        )
    return None


def _action_name(action: exp.Expr) -> str:
    return "AS SELECT" if isinstance(action, exp.Query) else type(action).__name__


def _attach(node: exp.Expr, dialect: str) -> tuple[str, str] | None:
    """ATTACH of a database the job may write: a file, bucket or server the job names (s3://…,
    postgres:host=…) becomes a place tables are created and rows inserted, whatever the job's
    declared destination says. READ_ONLY (true) attaches are read like any other tables."""
    for option in node.expressions:
        if isinstance(option, exp.AttachOption) and option.this.name.lower() == "read_only":
            value = option.expression
            if value is None or (isinstance(value, exp.Boolean) and value.this):
                return None
    return (
        UNMODELLED,
        "ATTACH without READ_ONLY opens a database the job can write into, outside the destination "
        "it declares; attach it READ_ONLY, or write through the platform's own connection",
    )


_RULES: dict[type[exp.Expr], Callable[[exp.Expr, str], tuple[str, str] | None]] = {
    exp.Attach: _attach,
    exp.Pivot: _pivot,
    exp.Subquery: _subquery,
    exp.CTE: _cte,
    exp.Placeholder: _placeholder,
    exp.Parameter: _placeholder,
    exp.Literal: _substituted_literal,
    exp.Anonymous: _function,
    exp.Table: _table,
    exp.Alter: _alter,
}


def line_of(node: exp.Expr, default: int) -> int:
    """The first line a token under ``node`` carries, else the statement's line."""
    for part in _walk(node):
        meta = part._meta  # reading meta without creating an empty dict per node
        if meta:
            line = meta.get("line")
            if isinstance(line, int) and line > 0:
                return line
    return default


def rewrite_declared_names(statement: exp.Expr) -> None:
    """Make names the SQL declares visible as what they stand for.

    ``IDENTIFIER('t.c')`` with a literal is the name itself. ClickHouse ``WITH expr AS name``
    defines an alias usable anywhere in the query: each unqualified ``name`` is the expression.
    """
    for node in list(statement.find_all(exp.DynamicIdentifier)):
        literal = node.this
        if isinstance(literal, exp.Literal) and literal.is_string:
            if isinstance(node.parent, exp.Table) and node.arg_key == "this":
                node.parent.replace(_table_named(literal.this, node.parent))
            else:
                node.replace(exp.to_column(literal.this))
    for with_ in list(statement.find_all(exp.With)):
        scalars = [cte for cte in with_.expressions if cte.args.get("scalar")]
        if scalars:
            _substitute_scalars(with_, scalars)


def _table_named(name: str, table: exp.Table) -> exp.Table:
    named = exp.to_table(name)
    alias = table.args.get("alias")
    if alias is not None:
        named.set("alias", alias)
    return named


def _substitute_scalars(with_: exp.With, scalars: list[exp.CTE]) -> None:
    query = with_.parent
    if query is None:
        return
    values = {cte.alias_or_name: cte.this for cte in scalars}
    for cte in scalars:
        cte.pop()
    if not with_.expressions:
        with_.pop()
    for column in list(query.find_all(exp.Column)):
        value = values.get(column.name)
        if value is None or column.table:
            continue
        replacement = value.copy()
        wrapped = replacement if isinstance(replacement, exp.Subquery) else exp.Paren(this=replacement)
        if isinstance(column.parent, exp.Select) and column.arg_key == "expressions":
            column.replace(exp.Alias(this=wrapped, alias=column.this.copy()))  # keeps its output name
        else:
            column.replace(wrapped)
