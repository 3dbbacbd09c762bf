"""One walk over a statement's query before qualification, for the passes that need whole-tree lists.

Naming outputs (every SELECT), reading DML inside WITH (every CTE) and spotting columns named
by position used to walk the whole tree once each with ``find_all``, which costs as much as a
small query's own analysis; one plain walk collects all of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp


@dataclass
class Census:
    """The nodes of interest under a query, in breadth-first order (as ``find_all`` yields them)."""

    selects: list[exp.Select] = field(default_factory=list)
    ctes: list[exp.CTE] = field(default_factory=list)
    positional: bool = False  # DuckDB ``#n``
    numbered_parameters: bool = False  # ``$1``: a column by position in Snowflake


def survey(query: exp.Expr) -> Census:
    """Walk ``query`` once, breadth first."""
    census = Census()
    queue: list[exp.Expr] = [query]
    position = 0
    while position < len(queue):
        node = queue[position]
        position += 1
        if isinstance(node, exp.Select):
            census.selects.append(node)
        elif isinstance(node, exp.CTE):
            census.ctes.append(node)
        elif isinstance(node, exp.PositionalColumn):
            census.positional = True
        elif (
            isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal) and not node.this.is_string
        ):
            census.numbered_parameters = True
        for value in node.args.values():
            if type(value) is list:
                queue.extend(item for item in value if isinstance(item, exp.Expr))
            elif isinstance(value, exp.Expr):
                queue.append(value)
    return census
