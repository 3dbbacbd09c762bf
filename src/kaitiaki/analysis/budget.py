"""Work budgets: analysis time stays near-linear in the SQL's size, whatever its shape.

Two shapes make sqlglot's qualification blow up on small inputs:

- a long chain of one operator (``a + a + … + a``, ``x = 1 OR x = 2 OR …``) parses as a tree as
  deep as the chain is long, and qualifying it costs the square of its length. The chain is
  rebalanced into a tree of logarithmic depth: the same operator nodes over the same operands,
  so every column, use and transform is what it was.
- stars over CTEs that each cross-join the previous one double the column count per level. The
  width of every star is estimated before qualifying; past ``MAX_STAR_COLUMNS`` the statement is
  ``work_budget`` (SYS-01) instead of minutes of expansion.

Whatever the shape, a statement costs time in proportion to its size, so one statement is also
bounded (``MAX_TOKENS`` before parsing, ``MAX_NODES`` after): a file of many statements may be as
large as ``limits.max_sql_bytes``, a single statement of that size is ``work_budget``.
"""

from __future__ import annotations

from sqlglot import exp

from kaitiaki.analysis.schema import SchemaLookup

WORK_BUDGET = "work_budget"
CHAIN_MIN = 32  # operands in one chain before it is rebalanced
MAX_STAR_COLUMNS = 20_000  # columns all stars of one statement may expand to
MAX_TOKENS = 25_000  # tokens in one statement, checked before parsing (about 100-150 KB of SQL)
MAX_NODES = 100_000  # syntax nodes in one statement, counted by the allowlist walk
MAX_OPENINGS = 8  # nesting levels of MySQL /*! … */ comments opened one pass each

_CHAINS: tuple[type[exp.Expr], ...] = (
    exp.And,
    exp.Or,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.DPipe,
    exp.BitwiseAnd,
    exp.BitwiseOr,
    exp.BitwiseXor,
)


def rebalance_chains(root: exp.Expr) -> None:
    """Rebalance every left- or right-deep chain of one operator longer than ``CHAIN_MIN``."""
    stack = [root]
    while stack:
        node = stack.pop()
        if rebalance_at(node):
            continue
        for value in node.args.values():
            if type(value) is list:
                stack.extend(item for item in value if isinstance(item, exp.Expr))
            elif isinstance(value, exp.Expr):
                stack.append(value)


def rebalance_at(node: exp.Expr) -> bool:
    """Rebalance the chain ``node`` starts, if it is one and long enough; True when it was.

    The old chain nodes keep their arguments, so a walk already under way still reaches every
    operand through them.
    """
    kind = type(node)
    if kind not in _CHAIN_TYPES or type(node.parent) is kind:
        return False
    if type(node.this) is not kind and type(node.args.get("expression")) is not kind:
        return False
    operands = _operands(node)
    if len(operands) < CHAIN_MIN:
        return False
    node.replace(_balanced(kind, operands, node))
    return True


def _operands(node: exp.Expr) -> list[exp.Expr]:
    """The operands of a chain of ``type(node)``, left to right, without recursion."""
    kind = type(node)
    found: list[exp.Expr] = []
    pending: list[exp.Expr] = [node]
    while pending:
        current = pending.pop()
        if type(current) is kind:
            pending.append(current.expression)
            pending.append(current.this)
        else:
            found.append(current)
    return found


_CHAIN_TYPES = frozenset(_CHAINS)


def _balanced(kind: type[exp.Expr], operands: list[exp.Expr], template: exp.Expr) -> exp.Expr:
    """A tree of ``kind`` over ``operands`` of depth log2(n); extra args (``safe``) are kept."""
    extra = {key: value for key, value in template.args.items() if key not in ("this", "expression")}
    level = operands
    while len(level) > 1:
        paired: list[exp.Expr] = [
            kind(this=level[i], expression=level[i + 1], **extra) for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def star_budget_problem(query: exp.Expr, lookup: SchemaLookup) -> str | None:
    """Why expanding the stars of ``query`` would exceed the budget, or None.

    Widths are estimated without qualifying: a star reads every column of every source in its
    FROM and JOINs, a CTE or subquery has its own estimated width, a stored table its schema's.
    """
    widths: dict[str, int] = {}
    total = 0

    def width_of_query(node: exp.Expr) -> int:
        nonlocal total
        if isinstance(node, exp.Subquery):
            return width_of_query(node.this)
        if isinstance(node, exp.SetOperation):
            return width_of_query(node.this)
        if not isinstance(node, exp.Select):
            return 1
        with_ = node.args.get("with_")
        for cte in with_.expressions if isinstance(with_, exp.With) else []:
            widths[cte.alias_or_name.lower()] = width_of_query(cte.this)
        sources = _sources(node)
        width = 0
        for projection in node.expressions:
            if isinstance(projection, exp.Star):
                expanded = sum(width_of_source(s) for s in sources.values())
            elif isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
                source = sources.get(projection.table.lower())
                expanded = width_of_source(source) if source is not None else 1
            else:
                width += 1
                continue
            total += expanded
            width += expanded
        return width

    def width_of_source(source: exp.Expr) -> int:
        if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
            if not source.db and source.name.lower() in widths:
                return widths[source.name.lower()]
            known = lookup.table_columns(source)
            return len(known) if known else 1
        if isinstance(source, exp.Subquery):
            return width_of_query(source.this)
        return 1

    width_of_query(query)
    if total > MAX_STAR_COLUMNS:
        return (
            f"the stars in this statement would expand to about {total} columns, over the work budget of "
            f"{MAX_STAR_COLUMNS}; name the columns instead of SELECT *"
        )
    return None


def _sources(select: exp.Select) -> dict[str, exp.Expr]:
    found: dict[str, exp.Expr] = {}
    from_ = select.args.get("from_")
    relations = [from_.this] if isinstance(from_, exp.From) else []
    relations += [join.this for join in select.args.get("joins") or []]
    for relation in relations:
        found[relation.alias_or_name.lower()] = relation
    return found
