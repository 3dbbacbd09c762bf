"""The default schema an unqualified table name resolves in, as earlier statements set it.

``USE health; SELECT nhi FROM patients`` reads ``health.patients``; without following the
``USE``, kaitiaki would look ``patients`` up wherever the catalog has one. A statement that sets
the default schema to one known name (``USE SCHEMA s``, MySQL / Spark ``USE s``, ``SET
search_path = s``) qualifies later unqualified tables with it. One whose schema cannot be known
(``USE DATABASE d`` — its default schema is the engine's —, DuckDB / T-SQL ``USE d``, a search
path of several schemas) makes every later unqualified table unresolved: never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from kaitiaki.analysis.ddl import Redefinitions
from kaitiaki.analysis.names import dialect_of

# Dialects where a database is a schema, so ``USE d`` names the schema.
_DATABASE_IS_SCHEMA = frozenset(
    {
        "mysql",
        "singlestore",
        "doris",
        "starrocks",
        "spark",
        "spark2",
        "databricks",
        "hive",
        "clickhouse",
        "athena",
    }
)
_PATH_SETTINGS = frozenset({"search_path", "schema"})
_NO_NAMESPACE = frozenset({"role", "warehouse", "secondary roles"})


@dataclass
class Session:
    """What the file's statements so far did to name resolution."""

    db: exp.Identifier | None = None
    catalog: exp.Identifier | None = None
    uncertain: str | None = None  # why unqualified tables can no longer be resolved
    redefinitions: Redefinitions = field(default_factory=Redefinitions)  # renames, swaps (shared)
    lexing: str | None = None  # why later statements may be read differently by the engine

    def follow(self, statement: exp.Expr, dialect: str) -> None:
        """Update from a USE / SET search_path statement; other statements change nothing."""
        if isinstance(statement, exp.Use):
            self._use(statement, dialect)
        elif isinstance(statement, exp.Set):
            for item in statement.expressions:
                self._set(item, dialect)

    def _use(self, use: exp.Use, dialect: str) -> None:
        kind = str(use.args.get("kind") or "").lower()
        target = use.this
        if kind in _NO_NAMESPACE or not isinstance(target, (exp.Table, exp.Identifier)):
            return
        name = _canonical(target.this if isinstance(target, exp.Table) else target, dialect)
        written = use.sql(dialect=dialect_of(dialect))
        if isinstance(target, exp.Table) and isinstance(target.args.get("db"), exp.Identifier):
            self._resolve(name, _canonical(target.args["db"], dialect))
        elif kind == "schema" or (not kind and dialect in _DATABASE_IS_SCHEMA):
            self._resolve(name, self.catalog if self.uncertain is None else None)
        else:
            self._unknown(f"after {written}, which schema an unqualified table is in cannot be known")

    def _set(self, item: exp.Expr, dialect: str) -> None:
        lexing = lexing_change(item)
        if lexing is not None:
            self.lexing = lexing
        assignment = item.this if isinstance(item, exp.SetItem) else None
        if not isinstance(assignment, exp.EQ) or assignment.this.name.lower() not in (
            "search_path",
            "schema",
        ):
            return
        value = assignment.expression
        names = [part.strip() for part in value.name.split(",")] if isinstance(value, exp.Expr) else []
        if len(names) == 1 and names[0]:
            quoted = isinstance(value, exp.Literal) and value.is_string
            self._resolve(_canonical(exp.to_identifier(names[0], quoted=quoted), dialect), None)
        else:
            self._unknown("after SET search_path to several schemas, which one has a table cannot be known")

    def _resolve(self, db: exp.Identifier, catalog: exp.Identifier | None) -> None:
        self.db, self.catalog, self.uncertain = db, catalog, None

    def _unknown(self, reason: str) -> None:
        self.db, self.catalog, self.uncertain = None, None, reason


# Client encodings in which every byte below 0x80 is ASCII: a backslash or quote is never part of
# a multibyte character (SJIS, BIG5, GBK, GB18030, UHC and JOHAB are not; Postgres refuses them
# as server encodings for that reason).
_SAFE_ENCODINGS = frozenset(
    {
        "utf8",
        "utf-8",
        "utf8mb3",
        "utf8mb4",
        "unicode",
        "sql_ascii",
        "ascii",
        "latin1",
        "latin2",
        "latin9",
        "iso_8859_1",
        "iso-8859-1",
        "iso88591",
        "win1252",
        "windows-1252",
        "cp1252",
        "euc_jp",
        "eucjp",
        "euc_kr",
        "euckr",
        "binary",
        "default",
    }
)
_ENCODING_SETTINGS = frozenset(
    {"client_encoding", "names", "character_set_client", "character_set_connection", "charset"}
)
_LEXING_SQL_MODES = ("ANSI_QUOTES", "NO_BACKSLASH_ESCAPES", "ANSI")


def lexing_change(item: exp.Expr) -> str | None:
    """Why a SET item changes how the engine reads later SQL text, or None.

    MySQL ``sql_mode`` ANSI_QUOTES makes ``"x"`` a name, NO_BACKSLASH_ESCAPES makes ``\\`` a plain
    character; Postgres ``standard_conforming_strings = off`` makes it an escape; a client
    encoding such as SJIS can swallow a backslash into a multibyte character. kaitiaki reads the
    text with the dialect's default rules, so what follows such a statement is not analysable.
    """
    if not isinstance(item, exp.SetItem):
        return None
    kind = str(item.args.get("kind") or "").upper()
    if kind in ("NAMES", "CHARACTER SET", "CHARSET"):
        return _encoding_change(item.this)
    assignment = item.this
    if not isinstance(assignment, exp.EQ):
        return None
    name = assignment.this.name.lower().removeprefix("session.").removeprefix("global.")
    value = assignment.expression
    text = value.name if isinstance(value, (exp.Literal, exp.Var, exp.Identifier, exp.Column)) else None
    if name == "sql_mode":
        modes = {mode.strip().upper() for mode in (text or "").split(",")}
        if text is None or modes & set(_LEXING_SQL_MODES):
            return f"SET sql_mode = {text or '…'} changes how MySQL reads quotes and backslashes"
    elif name == "standard_conforming_strings":
        on = isinstance(value, exp.Boolean) and value.this is True
        if not on and (text or "").lower() not in ("on", "true", "1", "yes"):
            return "SET standard_conforming_strings off makes a backslash escape a quote in later strings"
    elif name in _ENCODING_SETTINGS:
        return _encoding_change(value)
    return None


def _encoding_change(value: exp.Expr | None) -> str | None:
    text = value.name if isinstance(value, (exp.Literal, exp.Var, exp.Identifier, exp.Column)) else None
    if text is not None and text.lower() in _SAFE_ENCODINGS:
        return None
    return (
        f"the client encoding is set to {text or 'a value known only at run time'}, in which a multibyte "
        "character can hide a backslash or quote"
    )


def _canonical(node: exp.Expr, dialect: str) -> exp.Identifier:
    """The name as the dialect resolves it (unquoted names fold, quoted ones keep their case)."""
    identifier = node.copy() if isinstance(node, exp.Identifier) else exp.to_identifier(node.name)
    normalised = dialect_of(dialect).normalize_identifier(identifier)
    return normalised if isinstance(normalised, exp.Identifier) else identifier


def qualify_defaults(query: exp.Expr, session: Session) -> None:
    """Give unqualified stored tables the schema (and catalog) the session set."""
    if session.db is None:
        return
    for table in unqualified_tables(query):
        table.set("db", session.db.copy())
        if session.catalog is not None and not table.args.get("catalog"):
            table.set("catalog", session.catalog.copy())


def unqualified_tables(query: exp.Expr) -> list[exp.Table]:
    """Stored tables named without a schema (not CTE names, not table functions)."""
    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    return [
        table
        for table in query.find_all(exp.Table)
        if not table.db and isinstance(table.this, exp.Identifier) and table.name.lower() not in ctes
    ]
