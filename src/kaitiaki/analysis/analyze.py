"""``analyze_sql``: SQL text → SqlFacts (docs/analysis.md). Never raises on bad SQL.

Pipeline per file: byte limit → tokens → depth and statement-count limits → per statement:
parse → reduce to one query (``statements``) → qualify once (``resolve``) → uses, joins,
outputs, lineage, aggregation over the qualified scopes → assemble. A statement that fails in
any unexpected way becomes an error entry naming its line; the other statements still count.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.tokenizer_core import TokenType

from kaitiaki.analysis.aggregation import query_aggregation
from kaitiaki.analysis.allowlist import PROCEDURAL, admit, rewrite_declared_names
from kaitiaki.analysis.budget import (
    MAX_NODES,
    MAX_OPENINGS,
    MAX_TOKENS,
    WORK_BUDGET,
    rebalance_chains,
    star_budget_problem,
)
from kaitiaki.analysis.census import Census
from kaitiaki.analysis.dialects import built_on, known_dialects
from kaitiaki.analysis.facts import StatementFindings, assemble
from kaitiaki.analysis.flow import STAR, Flow
from kaitiaki.analysis.guard import quiet_sqlglot, run_with_depth
from kaitiaki.analysis.joins import scope_joins
from kaitiaki.analysis.lineage import Target, canonical_columns, statement_lineage
from kaitiaki.analysis.names import dialect_of, display_identifier, display_table, identifier_rules
from kaitiaki.analysis.parse import (
    StatementTokens,
    executable_comments,
    limit_errors,
    nested_comment_line,
    nesting_depth,
    parse_error_line,
    parse_statement,
    size_error,
    split_statements,
    template_error,
    tokenize,
)
from kaitiaki.analysis.polarity import query_paths
from kaitiaki.analysis.resolve import (
    Qualified,
    Unresolvable,
    apply_single_source_rule,
    blank_columns,
    mark_query,
    mark_star_outputs,
    qualify_query,
)
from kaitiaki.analysis.schema import Schema, SchemaLookup
from kaitiaki.analysis.session import Session, qualify_defaults, unqualified_tables
from kaitiaki.analysis.statements import Prepared, prepare
from kaitiaki.analysis.transforms import assigned_settings, declared_masks, secret_spans
from kaitiaki.analysis.uses import JOIN, Reference, scope_references
from kaitiaki.config import Identifiers, Limits
from kaitiaki.model import AnalysisError, SecretSpan, SqlFacts, Statement, Unresolved

DEFAULT_LIMITS = Limits()


def analyze_sql(
    sql: str,
    *,
    dialect: str,
    schema: Schema | None = None,
    path: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    identifiers: Identifiers | None = None,
    secrets: tuple[SecretSpan, ...] = (),
    masks: frozenset[str] = frozenset(),
) -> SqlFacts:
    """Facts about the columns ``sql`` touches. Raises ValueError only for an unknown dialect.

    ``identifiers``: the platform's settings that change how names compare (kaitiaki.yaml); the
    schema must have been normalised under the same settings. ``secrets``: where the text holds
    a value an adapter saw come from a declared secret (a hash reading it is keyed). ``masks``:
    the platform's masking functions governance declared (lower-case names).
    """
    if dialect not in known_dialects():
        raise ValueError(f"unknown dialect {dialect!r}; valid dialects: {', '.join(known_dialects())}")
    with quiet_sqlglot(), identifier_rules(identifiers), secret_spans(secrets), declared_masks(masks):
        try:
            return _analyze(sql, dialect, schema, path, limits)
        except RecursionError:
            message = "SQL is nested too deeply to analyse; lower the nesting or limits.max_depth"
        except Exception as exc:  # fail closed: an internal problem is an error entry, not a crash
            message = f"kaitiaki could not analyse this SQL ({type(exc).__name__}); please report it"
    return SqlFacts(path=path, dialect=dialect, errors=(AnalysisError(message, None),))


def _analyze(
    sql: str, dialect: str, schema: Schema | None, path: str | None, limits: Limits, openings: int = 0
) -> SqlFacts:
    if not isinstance(sql, str):
        return SqlFacts(path=path, dialect=dialect, errors=(AnalysisError("SQL must be text", None),))
    too_big = size_error(sql, limits)
    if too_big is not None:
        return SqlFacts(path=path, dialect=dialect, errors=(too_big,))
    engine = dialect_of(dialect)
    try:
        tokens = tokenize(sql, engine)
    except TokenError as exc:
        return SqlFacts(path=path, dialect=dialect, errors=(AnalysisError(str(exc), None),))
    opened = executable_comments(sql, engine)
    if opened is not None:
        return _with_executable_comments(opened, dialect, schema, path, limits, openings + 1)
    template = template_error(tokens)
    if template is not None:
        return SqlFacts(path=path, dialect=dialect, errors=(template,))
    statements = split_statements(tokens)
    depth = nesting_depth(tokens)
    problems = limit_errors(depth, statements, limits)
    if problems:
        return SqlFacts(path=path, dialect=dialect, errors=tuple(problems))
    lookup = SchemaLookup(schema, dialect)
    session = Session()
    # one statement nests exactly as deep as the file (semicolons do not count): not counted again
    single = depth if len(statements) == 1 else None
    findings = [
        _guarded(statement, sql, engine, dialect, lookup, session, single) for statement in statements
    ]
    facts = assemble(path, dialect, findings)
    nested = nested_comment_line(sql, tokens, dialect)
    if nested is None:
        return facts
    note = Unresolved(
        "lexing_disagreement",
        f"a comment contains /*: {dialect} may end the comment at the first */ and run the text after "
        "it, which kaitiaki read as comment",
        nested,
    )
    return replace(facts, unresolved=(note, *facts.unresolved))


def _with_executable_comments(
    sql: str, dialect: str, schema: Schema | None, path: str | None, limits: Limits, openings: int
) -> SqlFacts:
    """Analyse the SQL a MySQL server may run, and say the result depends on its version.

    Each nesting level is opened by one more pass over the text; past ``MAX_OPENINGS`` levels the
    work would grow with the square of the text, so the file is an error instead.
    """
    if openings > MAX_OPENINGS:
        message = (
            f"/*! … */ comments are nested more than {MAX_OPENINGS} deep (a work budget); "
            "MySQL does not nest comments, so this text cannot be read reliably"
        )
        return SqlFacts(path=path, dialect=dialect, errors=(AnalysisError(message, None),))
    with secret_spans(()):  # the opened text is not the text the spans were measured on
        facts = _analyze(sql, dialect, schema, path, limits, openings)
    note = Unresolved(
        "unsupported_statement",
        "/*! … */ comments are run as SQL by MySQL servers of some versions; kaitiaki analysed them "
        "as run, but which version runs this job cannot be known",
        None,
    )
    return replace(facts, unresolved=(note, *facts.unresolved))


def _guarded(
    statement: StatementTokens,
    sql: str,
    engine: Dialect,
    dialect: str,
    lookup: SchemaLookup,
    session: Session,
    depth: int | None,
) -> StatementFindings:
    """One statement; anything unexpected is an error on its line, never an exception."""
    number = statement.index + 1
    try:
        return run_with_depth(
            lambda: _statement(statement, sql, engine, dialect, lookup, session),
            nesting_depth(statement.tokens) if depth is None else depth,
        )
    except RecursionError:
        message = f"statement {number} is nested too deeply to analyse"
    except Exception as exc:
        message = f"statement {number} could not be analysed ({type(exc).__name__}); please report it"
    return StatementFindings(
        Statement(statement.index, "unanalysed", None, statement.line),
        errors=[AnalysisError(message, statement.line)],
    )


def _statement(
    statement: StatementTokens,
    sql: str,
    engine: Dialect,
    dialect: str,
    lookup: SchemaLookup,
    session: Session,
) -> StatementFindings:
    statement, sql = _respelled(statement, sql, engine)
    if len(statement.tokens) > MAX_TOKENS:
        detail = (
            f"statement {statement.index + 1} has {len(statement.tokens)} tokens, over the work budget of "
            f"{MAX_TOKENS}; split it into smaller statements"
        )
        return StatementFindings(
            Statement(statement.index, "unanalysed", None, statement.line),
            unresolved=[Unresolved(WORK_BUDGET, detail, statement.line)],
        )
    try:
        parsed = parse_statement(statement, sql, engine)
        admission = admit(parsed, dialect, statement.line)
        session_before = replace(session)
        session.follow(parsed, dialect)
        prepared = prepare(parsed)
    except ParseError as exc:
        return StatementFindings(
            Statement(statement.index, "unparseable", None, statement.line),
            errors=[
                AnalysisError(
                    f"statement {statement.index + 1} cannot be parsed as {dialect}: {exc}",
                    parse_error_line(exc, statement.line),
                )
            ],
        )
    target_table = _normalised_target(prepared, dialect)
    target = display_table(target_table, dialect) if target_table is not None else None
    findings = StatementFindings(Statement(statement.index, prepared.kind, target, statement.line))
    findings.settings.extend(sorted(assigned_settings(parsed)))
    if prepared.unsupported:
        findings.unresolved.append(Unresolved("unsupported_statement", prepared.unsupported, statement.line))
    if session_before.lexing is not None:
        findings.unresolved.append(
            Unresolved(
                "session_lexing",
                f"an earlier statement changed how this SQL is read: {session_before.lexing}",
                statement.line,
            )
        )
    # an unsupported statement already says its body (procedural code) is not analysed
    findings.unresolved.extend(
        u for u in admission.unresolved if not (prepared.unsupported and u.kind == PROCEDURAL)
    )
    if prepared.new_columns and target:
        lookup.add_columns(target, canonical_columns(prepared.new_columns, dialect))
    if admission.nodes > MAX_NODES:
        findings.unresolved.append(
            Unresolved(
                WORK_BUDGET,
                f"statement {statement.index + 1} has {admission.nodes} syntax nodes, over the work budget "
                f"of {MAX_NODES}; split it into smaller statements",
                statement.line,
            )
        )
        return findings
    context = _Context(
        statement, sql, engine, dialect, lookup, session_before, admission.alias_lists, admission.stars
    )
    _query_findings(context, prepared, None, findings, target_table)
    for number, side in enumerate(prepared.side):
        if side.unsupported:
            findings.unresolved.append(Unresolved("unsupported_statement", side.unsupported, statement.line))
        _query_findings(context, side, number, findings, None)
    findings.unresolved.extend(dict.fromkeys(context.problems))
    session.redefinitions.follow(parsed, dialect, lookup)  # later statements see renames and swaps
    return findings


def _respelled(statement: StatementTokens, sql: str, engine: Dialect) -> tuple[StatementTokens, str]:
    """Spellings sqlglot cannot read, rewritten in place to ones it can (same length, so every
    line and column stays where it was); the statement is then tokenised again.

    MySQL ``REPLACE INTO t …`` writes what ``INSERT INTO t …`` writes (the rows it replaces are
    deleted first) but sqlglot reads it as an opaque command. Teradata's ``expr (TITLE 'h')``
    only sets a report heading, and ``expr (NAMED n)`` names the column like ``expr AS n``.
    """
    edits = _replace_edits(statement, engine) + _teradata_edits(statement, engine)
    if not edits:
        return statement, sql
    text = sql
    for start, end, replacement in edits:
        text = text[:start] + replacement.ljust(end - start + 1) + text[end + 1 :]
    first, last = statement.tokens[0].start, statement.tokens[-1].end
    tokens = [t for t in tokenize(text, engine) if first <= t.start <= last]
    return StatementTokens(statement.index, statement.line, tokens), text


_Edit = tuple[int, int, str]  # first and last character replaced, and the replacement (no longer)


def _replace_edits(statement: StatementTokens, engine: Dialect) -> list[_Edit]:
    first = statement.tokens[0]
    if (
        built_on(engine, "mysql", "MySQL")
        and first.token_type == TokenType.REPLACE
        and first.text.upper() == "REPLACE"
    ):
        return [(first.start, first.end, "INSERT")]
    return []


def _teradata_edits(statement: StatementTokens, engine: Dialect) -> list[_Edit]:
    if not built_on(engine, "teradata", "Teradata"):
        return []
    tokens, edits = statement.tokens, []
    for i in range(len(tokens) - 3):
        opening, word, value, closing = tokens[i : i + 4]
        if opening.token_type != TokenType.L_PAREN or closing.token_type != TokenType.R_PAREN:
            continue
        phrase = word.text.upper()
        if phrase == "TITLE" and value.token_type == TokenType.STRING:
            edits.append((opening.start, closing.end, ""))
        elif phrase == "NAMED" and value.token_type in (TokenType.VAR, TokenType.IDENTIFIER):
            name = exp.to_identifier(value.text, quoted=value.token_type == TokenType.IDENTIFIER)
            edits.append((opening.start, closing.end, f"AS {name.sql(dialect='teradata')}"))
    return [edit for edit in edits if len(edit[2]) <= edit[1] - edit[0] + 1]


@dataclass(frozen=True)
class _Context:
    """One statement's text and what it is resolved against (re-read when qualifying retries)."""

    statement: StatementTokens
    sql: str
    engine: Dialect
    dialect: str
    lookup: SchemaLookup
    session: Session
    alias_lists: bool = False  # a table alias renames columns (``FROM t AS p(a, b)``)
    stars: bool = True  # the statement has a star (else the star budget is not estimated)
    problems: list[Unresolved] = field(default_factory=list)

    def reparse(self, side: int | None) -> Prepared:
        parsed = parse_statement(self.statement, self.sql, self.engine)
        rebalance_chains(parsed)
        rewrite_declared_names(parsed)
        prepared = prepare(parsed)
        return prepared if side is None else prepared.side[side]

    def ready(self, query: exp.Query) -> bool:
        """Unqualified tables get the schema an earlier USE / SET search_path chose; tables an
        earlier statement renamed or swapped, and alias column lists, become what they read.
        True when the query's tables changed (a census taken before is stale)."""
        qualify_defaults(query, self.session)
        if not (self.alias_lists or self.session.redefinitions.active):
            return False
        ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
        self.problems.extend(self.session.redefinitions.substitute(query, self.dialect, self.lookup, ctes))
        return True


def _query_findings(
    context: _Context,
    prepared: Prepared,
    side: int | None,
    findings: StatementFindings,
    target_table: exp.Table | None,
) -> None:
    """Facts of the statement's query, or of its ``side``-th side query (RETURNING, ON CONFLICT).

    ``target_table`` is the target as normalised before qualifying, if known: still right when
    the target is not part of the query (qualify and USE defaults only edit the query).
    """
    if prepared.query is None:
        return
    query = prepared.query
    line = context.statement.line
    if _positional(prepared.surveyed(), context.dialect):
        findings.unresolved.append(
            Unresolved(
                "positional_column",
                "a column named by its position (#n) cannot be resolved to a column name",
                line,
            )
        )
    if context.session.uncertain is not None:
        findings.unresolved.extend(
            Unresolved("unknown_table", f"{context.session.uncertain} (table {table.name})", line)
            for table in unqualified_tables(prepared.query)
        )
    too_wide = star_budget_problem(query, context.lookup) if context.stars else None
    if too_wide is not None:
        findings.unresolved.append(Unresolved(WORK_BUDGET, too_wide, line))
        return
    qualified = _qualified(context, prepared, side, findings)
    if qualified is not None:
        if target_table is None or _within(prepared.target, query):
            target_table = _normalised_target(prepared, context.dialect)
        _analyse_query(
            qualified, prepared, target_table, context.statement, context.dialect, context.lookup, findings
        )


def _within(node: exp.Expr | None, root: exp.Expr) -> bool:
    while node is not None:
        if node is root:
            return True
        node = node.parent
    return False


def _positional(census: Census, dialect: str) -> bool:
    """DuckDB ``#n``; Snowflake ``$n`` (a column by position, not a bind parameter there)."""
    return census.positional or (dialect == "snowflake" and census.numbered_parameters)


def _qualified(
    context: _Context, prepared: Prepared, side: int | None, findings: StatementFindings
) -> Qualified | None:
    """Qualify once; if sqlglot needs a schema it lacks, re-read the statement and apply kaitiaki's rules."""
    assert prepared.query is not None
    if context.ready(prepared.query):
        prepared.census = None
    stars = mark_query(prepared.surveyed().selects, context.dialect)
    try:
        qualified = qualify_query(prepared.query, context.dialect, context.lookup)
    except Unresolvable:
        return _with_kaitiaki_rules(context, prepared, side, findings)
    mark_star_outputs(stars)
    return qualified


def _with_kaitiaki_rules(
    context: _Context, prepared: Prepared, side: int | None, findings: StatementFindings
) -> Qualified | None:
    """The single-source rule; a name still unresolved is reported and left out, never guessed.

    The second attempt turns off sqlglot's alias expansion, so ``SELECT a AS b … WHERE b > 1``
    without a schema keeps every other fact while ``b`` is reported as ``ambiguous_column``.
    After that, each name qualify still cannot place is reported with the expression it sits in
    and replaced by NULL, so one column never costs the statement its other facts.
    """
    dialect, lookup = context.dialect, context.lookup
    problem: Unresolvable | None = None
    blanked: list[str] = []
    for attempt in range(_MAX_BLANKED + 2):
        retry = context.reparse(side)
        if retry.query is None:
            return None
        context.ready(retry.query)
        prepared.query, prepared.census = retry.query, retry.surveyed()
        stars = mark_query(prepared.census.selects, dialect)
        apply_single_source_rule(retry.query, dialect, lookup)
        line = context.statement.line
        reports = [
            _blanked(name, blank_columns(retry.query, name, dialect), line, dialect) for name in blanked
        ]
        try:
            qualified = qualify_query(retry.query, dialect, lookup, expand_alias_refs=attempt == 0)
        except Unresolvable as exc:
            if attempt > 0 and (exc.column is None or exc.column in blanked):
                break
            if attempt > 0 and exc.column is not None:
                blanked.append(exc.column)
            problem = problem or exc
            continue
        if problem is not None and problem.column not in blanked:
            findings.unresolved.append(_ambiguity(problem, retry.query))
        findings.unresolved.extend(reports)
        mark_star_outputs(stars)
        return qualified
    assert problem is not None and prepared.query is not None
    findings.unresolved.append(_ambiguity(problem, prepared.query))
    return None


_MAX_BLANKED = 32  # distinct unresolvable names left out of one query before it is given up


def _blanked(name: str, places: list[tuple[str, int | None]], line: int, dialect: str) -> Unresolved:
    """An unresolvable column, named with the expression it sits in and its line."""
    where = "; ".join(dict.fromkeys(place for place, _ in places[:3]))
    found = next((at for _, at in places if at is not None), None)
    return Unresolved(
        "ambiguous_column",
        f"column {display_identifier(name, dialect)} in {where or 'the query'} cannot be resolved "
        "without a schema (an output alias, an outer query or more than one table may have that name); "
        "its lineage is left out and every "
        "other column is still analysed",
        found if found is not None else line,
    )


def _ambiguity(problem: Unresolvable, query: exp.Expr) -> Unresolved:
    detail = (
        f"column {problem.column} cannot be resolved without a schema (an output alias or more than "
        "one table may have that name)"
        if problem.column
        else f"the query cannot be resolved: {problem}"
    )
    return Unresolved("ambiguous_column", detail, _line_of_name(query, problem.column))


def _line_of_name(query: exp.Expr, name: str | None) -> int | None:
    if name:
        for column in query.find_all(exp.Column):
            if column.name == name and column.this.meta:
                line = column.this.meta.get("line")
                if isinstance(line, int):
                    return line
    return None


def _analyse_query(
    qualified: Qualified,
    prepared: Prepared,
    target_table: exp.Table | None,
    statement: StatementTokens,
    dialect: str,
    lookup: SchemaLookup,
    findings: StatementFindings,
) -> None:
    flow = Flow(qualified, dialect, lookup, statement.line)
    target = display_table(target_table, dialect) if target_table is not None else None
    for scope in qualified.scopes:
        flow.settle(scope)
        findings.tables.extend(flow.base_tables(scope))
        findings.references.extend(scope_references(flow, scope))
        findings.joins.extend(scope_joins(flow, scope))
    for join in findings.joins:
        for side in (join.left, join.right):
            findings.references.append(Reference(side.table or "", side.column, JOIN, join.line, True))
    if prepared.outputs:
        outputs = flow.outputs(qualified.root)
        edges, writes = statement_lineage(
            flow, outputs, _target(prepared, target_table, dialect, lookup), statement.index, statement.line
        )
        findings.edges.extend(edges)
        findings.references.extend(writes)
        findings.aggregations.append(query_aggregation(flow, qualified.root))
        findings.paths.append(query_paths(flow, qualified.root))
        if target and prepared.by_name and outputs and all(o.name != STAR for o in outputs):
            lookup.add_columns(target, [o.name for o in outputs])
    findings.unresolved.extend(flow.unresolved.values())


def _normalised_target(prepared: Prepared, dialect: str) -> exp.Table | None:
    """The statement's target table with identifiers as the dialect resolves them."""
    if prepared.target is None:
        return None
    # only the name parts are read: copying the whole node (alias, joins after qualify) costs more
    parts = {key: prepared.target.args.get(key) for key in ("catalog", "db", "this")}
    bare = exp.Table(**{key: part.copy() for key, part in parts.items() if isinstance(part, exp.Expr)})
    table = normalize_identifiers(bare, dialect=dialect_of(dialect))
    return table if isinstance(table, exp.Table) else None


def _target(prepared: Prepared, table: exp.Table | None, dialect: str, lookup: SchemaLookup) -> Target:
    """Where outputs land: explicit column list, else the target's known columns (INSERT), else by name."""
    columns: list[str] | None = None
    if prepared.target_columns is not None:
        columns = canonical_columns(prepared.target_columns, dialect)
    elif prepared.kind == "insert" and not prepared.by_name and table is not None:
        known = lookup.table_columns(table)
        columns = list(known) if known is not None else None
    name = display_table(table, dialect) if table is not None else None
    known = lookup.table_columns(table) if table is not None and prepared.kind == "merge" else None
    return Target(
        table=name, columns=columns, writes=prepared.writes, known=list(known) if known is not None else None
    )
