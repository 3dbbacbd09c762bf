"""What a statement is, what it writes, and the query the rest of the analysis reads.

Every statement that moves column data is reduced to one query (a SELECT or a set operation)
whose outputs are the values written: ``INSERT … SELECT`` and ``CREATE TABLE AS`` keep their
query; ``UPDATE … SET a = e FROM s`` becomes ``SELECT e AS a FROM target, s WHERE …``; ``MERGE``
becomes a join of target and source whose outputs are every SET and INSERT value; ``DELETE …
USING`` becomes a query with no outputs. Scope, qualification and lineage then work on one shape.
Statements kaitiaki cannot see into (dynamic SQL, COPY, procedural blocks) are *unsupported*:
never silently allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlglot import exp

from kaitiaki.analysis.census import Census, survey

MERGE_JOIN = "merge"
JOIN_KIND_META = "kaitiaki_join_kind"
NO_OUTPUT = "_kaitiaki_no_output"
POSITIONAL = "_kaitiaki_position_"  # an output that lands in the target's n-th column

# Statements that move no column data: recorded, nothing to analyse.
_HARMLESS: dict[type[exp.Expr], str] = {
    exp.Drop: "drop",
    exp.TruncateTable: "truncate",
    exp.Use: "use",
    exp.Transaction: "begin",
    exp.Commit: "commit",
    exp.Rollback: "rollback",
    exp.Revoke: "revoke",
    exp.Comment: "comment",
    exp.Analyze: "analyze",
    exp.Describe: "describe",
    exp.Show: "show",
    exp.Pragma: "pragma",
    exp.Refresh: "refresh",
    exp.Uncache: "uncache",
    exp.Attach: "attach",
    exp.Detach: "detach",
    exp.Install: "install",
    exp.ListStage: "list",
}


@dataclass
class Prepared:
    """One statement, reduced to what the analysis needs."""

    kind: str
    target: exp.Table | None = None
    query: exp.Query | None = None
    target_columns: list[exp.Identifier] | None = None  # explicit, positional (INSERT (a, b) …)
    by_name: bool = False  # outputs land in target columns of the same name
    writes: bool = False  # target columns get a `write` use (the table exists and is modified)
    outputs: bool = True  # the query's outputs are written or returned
    unsupported: str | None = None
    new_columns: list[exp.Identifier] = field(default_factory=list)  # CREATE TABLE t (a int, …)
    side: list[Prepared] = field(default_factory=list)  # RETURNING / OUTPUT, ON CONFLICT DO UPDATE
    census: Census | None = None  # of ``query`` as prepared; None until surveyed

    def surveyed(self) -> Census:
        """The census of ``query``, taken once."""
        assert self.query is not None
        if self.census is None:
            self.census = survey(self.query)
        return self.census


def prepare(statement: exp.Expr) -> Prepared:
    """Classify ``statement`` and build its analysable query (the AST is reused, not copied).

    DML also reads in its RETURNING / OUTPUT list and its ON CONFLICT DO UPDATE: those become
    ``side`` queries of their own, built from a copy before the statement is reduced.
    """
    side = _side_queries(statement) + _routine_body(statement)
    prepared = _main(statement)
    prepared.side = side
    if prepared.query is not None:
        dml = _dml_ctes(prepared.surveyed().ctes)
        if dml:
            prepared.side.extend(dml)
            prepared.census = None  # the CTE bodies changed
    return prepared


_DML = (exp.Insert, exp.Update, exp.Delete, exp.Merge)


def _dml_ctes(ctes: list[exp.CTE]) -> list[Prepared]:
    """``WITH d AS (DELETE … RETURNING x)``: the CTE becomes the SELECT of what it returns, and
    the statement inside is analysed as a side query of its own (what it reads and writes)."""
    found: list[Prepared] = []
    for cte in ctes:
        body = cte.this
        if not isinstance(body, _DML):
            continue
        returning = body.args.get("returning")
        values = [e.copy() for e in returning.expressions] if isinstance(returning, exp.Returning) else []
        shown = _returning(body.copy(), values) if values else None
        found.append(_main(body.copy()))
        if shown is not None and shown.query is not None:
            cte.set("this", shown.query)
        else:
            cte.set("this", exp.select(exp.alias_(exp.null(), NO_OUTPUT)))
    return found


def _main(statement: exp.Expr) -> Prepared:
    if isinstance(statement, exp.Subquery) and isinstance(statement.unnest(), exp.Query):
        statement = statement.unnest()
    if isinstance(statement, exp.Select):
        return _select(statement)
    if isinstance(statement, exp.SetOperation):
        return Prepared("select", query=statement)
    if isinstance(statement, exp.Insert):
        return _insert(statement)
    if isinstance(statement, exp.Create):
        return _create(statement)
    if isinstance(statement, exp.Update):
        return _update(statement)
    if isinstance(statement, exp.Delete):
        return _delete(statement)
    if isinstance(statement, exp.Merge):
        return _merge(statement)
    return _other(statement)


def _routine_body(statement: exp.Expr) -> list[Prepared]:
    """``CREATE PROCEDURE p AS BEGIN INSERT … ; UPDATE … END``: the routine stays unsupported (its
    body runs when it is called), but each statement of a body sqlglot parsed keeps its facts."""
    if (
        not isinstance(statement, exp.Create)
        or str(statement.args.get("kind") or "").lower() not in _ROUTINES
    ):
        return []
    body = statement.expression
    statements = body.expressions if isinstance(body, exp.Block) else [body]
    return [_main(s.copy()) for s in statements if isinstance(s, (*_DML, exp.Query))]


def _side_queries(statement: exp.Expr) -> list[Prepared]:
    if not isinstance(statement, (exp.Insert, exp.Update, exp.Delete, exp.Merge)):
        return []
    found: list[Prepared] = []
    returning = statement.args.get("returning")
    if isinstance(returning, exp.Returning) and returning.expressions:
        found.append(_returning(statement.copy(), [e.copy() for e in returning.expressions]))
    conflict = statement.args.get("conflict")
    if isinstance(statement, exp.Insert) and isinstance(conflict, exp.OnConflict) and conflict.expressions:
        found.append(_upsert(statement.copy()))
    return found


def _returning(statement: exp.Expr, values: list[exp.Expr]) -> Prepared:
    """``… RETURNING e`` / T-SQL ``OUTPUT e``: a SELECT of ``e`` over the rows the statement touched.

    Its outputs go to the caller like a query's. ``inserted`` / ``deleted`` (T-SQL) and the
    inserted row of an INSERT are read as the target table.
    """
    statement.set("returning", None)
    if isinstance(statement, exp.Insert):
        target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
        base = exp.Select(from_=exp.From(this=target)) if isinstance(target, exp.Table) else None
        if base is not None:
            _move_ctes(statement, base)
    else:
        reduced = _main(statement)
        base = reduced.query if isinstance(reduced.query, exp.Select) and not reduced.unsupported else None
        target = reduced.target
    if base is None or not isinstance(target, exp.Table):
        return Prepared("returning", unsupported="RETURNING / OUTPUT of a statement kaitiaki cannot read")
    base.set("expressions", values)
    _pseudo_rows(base, target, ("inserted", "deleted", "new", "old"))
    return Prepared("returning", query=base)


def _upsert(insert: exp.Insert) -> Prepared:
    """``ON CONFLICT … DO UPDATE SET a = e`` / ``ON DUPLICATE KEY UPDATE``: an UPDATE of the target.

    ``excluded`` (the row that was to be inserted) is the INSERT's own query, its columns named
    by the INSERT's column list when there is one.
    """
    conflict = insert.args["conflict"]
    target, columns = insert.this, None
    if isinstance(target, exp.Schema):
        columns = [_identifier(e).copy() for e in target.expressions]
        target = target.this
    if not isinstance(target, exp.Table):
        return Prepared("upsert", unsupported="ON CONFLICT of something that is not a table")
    projections = _set_projections(conflict.expressions)
    if projections is None:
        return Prepared("upsert", target=target, unsupported="ON CONFLICT … UPDATE kaitiaki cannot read")
    query = _synthesised(projections, target, [], conflict.args.get("where"), keep_target_first=True)
    rows = insert.expression
    if _qualifiers(query) & {"excluded"} and isinstance(rows, (exp.Query, exp.Values, exp.Subquery)):
        inner = rows.unnest() if isinstance(rows, exp.Subquery) else rows
        alias = exp.TableAlias(this=exp.to_identifier("excluded"), columns=columns)
        query.append("joins", exp.Join(this=exp.Subquery(this=inner, alias=alias)))
    _move_ctes(insert, query)
    return Prepared("upsert", target=target, query=query, by_name=True, writes=True)


def _qualifiers(query: exp.Expr) -> set[str]:
    return {c.table.lower() for c in query.find_all(exp.Column) if c.table}


def _pseudo_rows(query: exp.Select, target: exp.Table, names: tuple[str, ...]) -> None:
    """Qualifiers naming the touched rows (``inserted.x``) become the target under that alias."""
    relations = [query.args["from_"].this, *(j.this for j in query.args.get("joins") or [])]
    taken = {relation.alias_or_name.lower() for relation in relations}
    for name in sorted(_qualifiers(query) & set(names) - taken):
        row = target.copy()
        row.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
        query.append("joins", exp.Join(this=row))


def _select(select: exp.Select) -> Prepared:
    into = select.args.get("into")
    if isinstance(into, exp.Into) and isinstance(into.this, exp.Table):
        select.set("into", None)
        return Prepared("select_into", target=into.this, query=select, by_name=True)
    return Prepared("select", query=select)


def _insert(insert: exp.Insert) -> Prepared:
    target = insert.this
    columns: list[exp.Identifier] | None = None
    if isinstance(target, exp.Schema):
        columns = [_identifier(e) for e in target.expressions]
        target = target.this
    if isinstance(target, exp.Directory):
        query = _query_of(insert.expression)
        return Prepared(
            "insert_directory",
            query=query,
            outputs=query is not None,
            unsupported="INSERT OVERWRITE DIRECTORY writes files kaitiaki cannot see",
        )
    if not isinstance(target, exp.Table):
        return Prepared("insert", unsupported="INSERT into something that is not a table")
    query = _query_of(insert.expression)
    if query is not None:
        _move_ctes(insert, query)
    return Prepared(
        "insert",
        target=target,
        query=query,
        target_columns=columns,
        by_name=bool(insert.args.get("by_name")),
        writes=True,
    )


def _query_of(expression: exp.Expr | None) -> exp.Query | None:
    """The query whose rows are written: a SELECT, or VALUES rows that read columns."""
    if isinstance(expression, exp.Subquery):
        expression = expression.unnest()
    if isinstance(expression, exp.Query):
        return expression
    if isinstance(expression, exp.Values) and expression.find(exp.Column, exp.Query):
        rows: list[exp.Query] = [
            exp.Select(expressions=list(row.expressions))
            for row in expression.expressions
            if isinstance(row, exp.Tuple)
        ]
        if not rows:
            return None
        query = rows[0]
        for row in rows[1:]:
            query = exp.Union(this=query, expression=row, distinct=False)
        return query
    return None


def _move_ctes(statement: exp.Expr, query: exp.Query) -> None:
    """``WITH c AS (…) INSERT … SELECT … FROM c``: the CTEs belong to the query."""
    with_ = statement.args.get("with_")
    if isinstance(with_, exp.With) and not query.args.get("with_"):
        statement.set("with_", None)
        query.set("with_", with_)


_ROUTINES = frozenset({"function", "procedure", "macro", "table function", "trigger", "task"})


def _create(create: exp.Create) -> Prepared:
    kind = str(create.args.get("kind") or "").lower()
    if kind in _ROUTINES:
        return Prepared(
            f"create_{kind.replace(' ', '_')}",
            unsupported=f"CREATE {kind.upper()}: its body is code run later, which kaitiaki does not analyse",
        )
    target = create.this
    columns: list[exp.Identifier] | None = None
    new_columns: list[exp.Identifier] = []
    if isinstance(target, exp.Schema):
        identifiers = [e for e in target.expressions if isinstance(e, exp.Identifier)]
        definitions = [e.this for e in target.expressions if isinstance(e, exp.ColumnDef)]
        columns = identifiers or None
        new_columns = [d for d in definitions if isinstance(d, exp.Identifier)]
        target = target.this
    if not isinstance(target, exp.Table):
        return Prepared(f"create_{kind or 'object'}")
    query = _query_of(create.expression)
    clone = create.args.get("clone")
    if query is None and isinstance(clone, exp.Clone) and isinstance(clone.this, exp.Table):
        query = exp.select(exp.Star()).from_(clone.this)
    if query is not None:
        _move_ctes(create, query)
        name = "create_view" if kind == "view" else "create_table_as"
        return Prepared(name, target=target, query=query, target_columns=columns, by_name=columns is None)
    return Prepared(f"create_{kind or 'object'}", target=target, new_columns=new_columns)


def _update(update: exp.Update) -> Prepared:
    target = update.this
    if not isinstance(target, exp.Table):
        return Prepared("update", unsupported="UPDATE of something that is not a table")
    projections = _set_projections(update.expressions)
    if projections is None:
        return Prepared("update", target=target, unsupported="UPDATE … SET with a form kaitiaki cannot read")
    sources = _relations(update.args.get("from_"), update.args.get("joins"))
    query = _synthesised(projections, target, sources, update.args.get("where"))
    _move_ctes(update, query)
    real = _aliased(target, [j.this for j in sources])
    return Prepared("update", target=real, query=query, by_name=True, writes=True)


def _aliased(target: exp.Table, relations: list[exp.Expr]) -> exp.Table:
    """T-SQL's ``UPDATE x … FROM t x``: the table an alias-only target names."""
    if target.db or target.args.get("alias"):
        return target
    for relation in relations:
        if isinstance(relation, exp.Table) and relation.alias == target.name:
            return relation
    return target


def _set_projections(assignments: list[exp.Expr]) -> list[exp.Expr] | None:
    """``SET a = e, (b, c) = (f, g)`` as values named by the columns they land in; None when one
    assignment has a form kaitiaki cannot read (UPDATE, ON CONFLICT … UPDATE, MERGE … UPDATE)."""
    projections: list[exp.Expr] = []
    for assignment in assignments:
        pairs = _assignment_pairs(assignment)
        if pairs is None:
            return None
        projections.extend(_named(value, name) for name, value in pairs)
    return projections


def _assignment_pairs(assignment: exp.Expr) -> list[tuple[exp.Identifier, exp.Expr]] | None:
    if not isinstance(assignment, exp.EQ):
        return None
    left, right = assignment.this, assignment.expression
    if isinstance(left, exp.Column):
        return [(_identifier(left), right)]
    if (
        isinstance(left, exp.Tuple)
        and isinstance(right, exp.Tuple)
        and len(left.expressions) == len(right.expressions)
    ):
        return [
            (_identifier(name), value)
            for name, value in zip(left.expressions, right.expressions, strict=True)
        ]
    return None


def _delete(delete: exp.Delete) -> Prepared:
    tables = [t for t in delete.args.get("tables") or [] if isinstance(t, exp.Table)]
    main = delete.this
    if not isinstance(main, exp.Table):
        return Prepared("delete", unsupported="DELETE from something that is not a table")
    sources = _joins_of(main) + [exp.Join(this=t) for t in delete.args.get("using") or []]
    target = _aliased(tables[0], [main, *(j.this for j in sources)]) if tables else main
    literal = exp.alias_(exp.Literal.number(1), NO_OUTPUT)
    query = exp.Select(expressions=[literal], from_=exp.From(this=main))
    if sources:
        query.set("joins", sources)
    if isinstance(delete.args.get("where"), exp.Where):
        query.set("where", delete.args["where"])
    _move_ctes(delete, query)
    return Prepared("delete", target=target, query=query, outputs=False)


def _merge(merge: exp.Merge) -> Prepared:
    target, source = merge.this, merge.args.get("using")
    if not isinstance(target, exp.Table) or not isinstance(source, (exp.Table, exp.Subquery)):
        return Prepared("merge", unsupported="MERGE with a target or source kaitiaki cannot read")
    projections: list[exp.Expr] = []
    conditions: list[exp.Expr] = []
    whens = merge.args.get("whens")
    for when in whens.expressions if isinstance(whens, exp.Whens) else []:
        if isinstance(when.args.get("condition"), exp.Expr):
            conditions.append(when.args["condition"])
        action = _merge_action(when.args.get("then"), source)
        if action is None:
            return Prepared("merge", target=target, unsupported="MERGE action kaitiaki cannot read")
        projections.extend(action)
    join = exp.Join(this=source, on=merge.args.get("on"), kind="INNER")
    join.meta[JOIN_KIND_META] = MERGE_JOIN
    where = exp.Where(this=exp.or_(*conditions)) if conditions else None
    query = _synthesised(projections, target, [join], where, keep_target_first=True)
    _move_ctes(merge, query)
    return Prepared("merge", target=target, query=query, by_name=True, writes=True)


def _merge_action(then: exp.Expr | None, source: exp.Expr) -> list[exp.Expr] | None:
    """The values one WHEN clause writes, aliased to the target columns they land in."""
    if isinstance(then, exp.Var):  # DELETE / DO NOTHING
        return []
    if isinstance(then, exp.Update):
        if any(isinstance(e, exp.Star) for e in then.expressions):
            return [_source_star(source)]
        return _set_projections(then.expressions)
    if isinstance(then, exp.Insert):
        if isinstance(then.this, exp.Star):
            return [_source_star(source)]
        names, values = then.this, then.expression
        if (
            isinstance(values, exp.Tuple)
            and isinstance(names, exp.Tuple)
            and len(names.expressions) == len(values.expressions)
        ):
            return [
                _named(value, _identifier(name))
                for name, value in zip(names.expressions, values.expressions, strict=True)
            ]
        if isinstance(values, exp.Tuple) and names is None:
            # INSERT VALUES without a column list: the target's columns by position (lineage)
            return [
                _named(value, exp.to_identifier(f"{POSITIONAL}{position}", quoted=True))
                for position, value in enumerate(values.expressions)
            ]
    return None


def _named(value: exp.Expr, name: exp.Identifier) -> exp.Alias:
    """``value AS name`` as an Alias node even for a subquery (sqlglot would alias the subquery)."""
    return exp.Alias(this=value, alias=name)


def _source_star(source: exp.Expr) -> exp.Expr:
    alias = source.alias_or_name
    return exp.Column(this=exp.Star(), table=exp.to_identifier(alias)) if alias else exp.Star()


def _identifier(node: exp.Expr) -> exp.Identifier:
    if isinstance(node, exp.Column):
        return node.this if isinstance(node.this, exp.Identifier) else exp.to_identifier(node.name)
    if isinstance(node, exp.Identifier):
        return node
    return exp.to_identifier(node.sql(), quoted=True)


def _relations(from_: exp.Expr | None, joins: list[exp.Join] | None) -> list[exp.Join]:
    """UPDATE … FROM a JOIN b: every relation as a join of the synthesised query."""
    out: list[exp.Join] = []
    if isinstance(from_, exp.From):
        first = from_.this
        out.append(exp.Join(this=first))
        out.extend(_joins_of(first))
        for extra in from_.expressions or []:
            out.append(exp.Join(this=extra))
    out.extend(joins or [])
    return out


def _joins_of(relation: exp.Expr) -> list[exp.Join]:
    joins = list(relation.args.get("joins") or [])
    if joins:
        relation.set("joins", None)
    return joins


def _synthesised(
    projections: list[exp.Expr],
    target: exp.Table,
    sources: list[exp.Join],
    where: exp.Expr | None,
    keep_target_first: bool = False,
) -> exp.Select:
    """SELECT <values> FROM target, <sources> WHERE …; the target is dropped when a source is it.

    T-SQL writes ``UPDATE x … FROM t x``: the target names a source alias, so it is not added again.
    """
    names = {join.this.alias_or_name for join in sources}
    target_is_source = not target.db and target.name in names and not keep_target_first
    if not projections:
        projections = [exp.alias_(exp.Literal.number(1), NO_OUTPUT)]
    if target_is_source:
        first, rest = sources[0].this, sources[1:]
    else:
        first, rest = target, sources
    query = exp.Select(expressions=projections, from_=exp.From(this=first))
    if rest:
        query.set("joins", rest)
    if isinstance(where, exp.Where):
        query.set("where", where)
    elif isinstance(where, exp.Expr):
        query.set("where", exp.Where(this=where))
    return query


_UNSUPPORTED_NAMES = re.compile(r"[^a-z0-9_]+")


def _alter(alter: exp.Alter) -> Prepared:
    """ALTER VIEW … AS SELECT is a new definition (like CREATE VIEW); ALTER COLUMN … TYPE … USING e
    rewrites the column from ``e`` (like UPDATE). Renames and swaps are ``ddl.Redefinitions``'."""
    target = alter.this if isinstance(alter.this, exp.Table) else None
    actions = alter.args.get("actions") or []
    query = next((a for a in actions if isinstance(a, exp.Query)), None)
    if query is not None and target is not None:
        return Prepared("alter_view", target=target, query=query, by_name=True)
    rewrites = [
        _named(a.args["using"], _identifier(a.this))
        for a in actions
        if isinstance(a, exp.AlterColumn) and isinstance(a.args.get("using"), exp.Expr)
    ]
    if rewrites and target is not None:
        query = exp.Select(expressions=rewrites, from_=exp.From(this=target.copy()))
        return Prepared("alter", target=target, query=query, by_name=True, writes=True)
    return Prepared("alter")


_OPENING_PRIVILEGES = ("SELECT", "ALL", "READ")
# Privileges that let their grantees write, run or connect but read no row. Any other (Snowflake
# OWNERSHIP, SQL Server CONTROL, a BigQuery role such as roles/bigquery.dataViewer, REFERENCES,
# whose foreign keys probe which values exist) may open the table: unsupported, not harmless.
_CLOSED_PRIVILEGES = frozenset(
    {
        "INSERT",
        "UPDATE",
        "DELETE",
        "TRUNCATE",
        "TRIGGER",
        "USAGE",
        "EXECUTE",
        "CREATE",
        "CONNECT",
        "TEMPORARY",
        "TEMP",
    }
)


def _grant(grant: exp.Grant) -> Prepared:
    """``GRANT SELECT ON t TO r`` lets its grantees read ``t``: the columns it opens are read and
    returned, as ``SELECT … FROM t`` would return them (a column list opens only those).
    Privileges known to open no data (INSERT, USAGE, EXECUTE…) are harmless; any other privilege
    kaitiaki does not know is unsupported. SELECT on a schema or database opens tables kaitiaki
    cannot list: unsupported."""
    privileges = [p for p in grant.args.get("privileges") or () if isinstance(p, exp.GrantPrivilege)]
    opening = [p for p in privileges if p.name.upper().startswith(_OPENING_PRIVILEGES)]
    unknown = [
        p.name
        for p in privileges
        if p not in opening and " ".join(p.name.upper().split()) not in _CLOSED_PRIVILEGES
    ]
    if unknown or len(privileges) != len(grant.args.get("privileges") or ()):
        shown = ", ".join(unknown) or "a privilege kaitiaki cannot read"
        return Prepared("grant", unsupported=f"GRANT {shown} may open the table's rows to its grantees")
    if not opening:
        return Prepared("grant")
    kind = str(grant.args.get("kind") or "table").lower()
    table = grant.args.get("securable")
    if kind not in ("table", "view") or not isinstance(table, exp.Table):
        return Prepared("grant", unsupported=f"GRANT SELECT on a {kind} opens tables kaitiaki cannot list")
    columns = [c.copy() for p in opening for c in p.expressions]
    everything = any(not p.expressions for p in opening)
    query = exp.select(*([exp.Star()] if everything or not columns else columns)).from_(table.copy())
    return Prepared("grant", query=query)


def _other(statement: exp.Expr) -> Prepared:
    """Statements other than queries and DML: harmless ones are recorded, the rest unsupported.

    An unsupported statement that wraps a query (``COPY (SELECT …) TO``, ``EXPORT DATA AS
    SELECT``) still has that query analysed, so the facts name the columns it exports.
    """
    if isinstance(statement, exp.Alter):
        return _alter(statement)
    if isinstance(statement, exp.Grant):
        return _grant(statement)
    for cls, kind in _HARMLESS.items():
        if isinstance(statement, cls):
            return Prepared(kind)
    if isinstance(statement, exp.Set) and not statement.find(exp.Query):
        return Prepared("set")
    if isinstance(statement, exp.Cache) and isinstance(statement.this, exp.Table):
        query = _query_of(statement.args.get("expression"))
        return Prepared("cache", target=statement.this if query else None, query=query, by_name=True)
    if isinstance(statement, exp.Command):
        name = _UNSUPPORTED_NAMES.sub("_", str(statement.this or "command").lower()).strip("_") or "command"
        return Prepared(name, unsupported=f"{name.upper()} statements are not SQL kaitiaki can analyse")
    inner = _query_of(statement.args.get("this"))
    files = statement.args.get("files") if isinstance(statement, exp.Copy) else None
    if inner is None and isinstance(files, list) and len(files) == 1:
        inner = _query_of(files[0])  # Snowflake COPY INTO @stage FROM (SELECT …)
    name = _UNSUPPORTED_NAMES.sub("_", type(statement).__name__.lower())
    detail = f"{type(statement).__name__.upper()} moves data in ways kaitiaki cannot see"
    return Prepared(name, query=inner, unsupported=detail, outputs=inner is not None)
